package dev.netrun.bench;

import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CompactCodec;
import dev.netrun.rpc.JavaSerializationCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.Serializable;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Encode and decode of a message shaped like the exec protocol's job reply (a record of ids, instants, a
 * flag, an encoded result and a list of printed lines), with {@link CompactCodec} against
 * {@link JavaSerializationCodec} — why child JVMs and remote pools use the former.
 *
 * <p>Run: {@code mvn -B -q package -DskipTests -pl netrun-bench -am && java -jar netrun-bench/target/benchmarks.jar Codec}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CodecBenchmark {
    /** A reply-like record. */
    public record Reply(long callId, Instant started, Instant completed, boolean converted, byte[] result,
                        List<Line> prints, Map<String, Object> extra) implements Serializable {
    }

    /** A printed line. */
    public record Line(Instant timestamp, String text) implements Serializable {
    }

    /** Which codec. */
    @Param({"compact", "jdk"})
    public String codecName;

    private Codec codec;
    private Reply reply;
    private byte[] encoded;

    /** Builds the codec and the message. */
    @Setup
    public void setUp() {
        JavaSerializationCodec jdk = JavaSerializationCodec.trusted(CodecBenchmark.class.getClassLoader());
        codec = codecName.equals("compact") ? new CompactCodec(jdk) : jdk;
        Instant now = Instant.now();
        reply = new Reply(42, now, now.plusNanos(1500), false, new byte[]{3, 1, 4, 1, 5},
                List.of(new Line(now, "Adding 3 + 4\n")), Map.of());
        encoded = codec.encode(reply);
    }

    /** @return the encoded message */
    @Benchmark
    public byte[] encode() {
        return codec.encode(reply);
    }

    /** @return the decoded message */
    @Benchmark
    public Object decode() {
        return codec.decode(encoded);
    }
}
