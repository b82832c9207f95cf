package dev.netrun.rpc;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sanity check of {@link StreamChannel}'s speed: it only <em>prints</em> figures (to the test's output,
 * {@code target/surefire-reports/dev.netrun.rpc.StreamChannelBenchmarkTest-output.txt}) and never asserts
 * timing. Each figure is measured for a fraction of a second after a short warm-up, so it is a rough order of
 * magnitude, not a benchmark; it compares transports (TCP, Unix), receive styles (inbox vs listener) and
 * sender counts. It takes about ten seconds, so it runs only when asked:
 * {@code mvn -pl netrun-core test -Dtest=StreamChannelBenchmarkTest -Dnetrun.bench=true}, or as a plain
 * program through {@link #main}.
 */
@Tag("benchmark")
@EnabledIfSystemProperty(named = "netrun.bench", matches = "true")
@Timeout(60)
class StreamChannelBenchmarkTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long WARMUP_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
    private static final long MEASURE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final JavaSerializationCodec CODEC =
            JavaSerializationCodec.trusted(StreamChannelBenchmarkTest.class.getClassLoader());

    /** Runs the measurements and prints them. */
    public static void main(String[] args) throws Exception {
        new StreamChannelBenchmarkTest().printFigures();
    }

    @Test
    void printFigures() throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add(codecFigures());
        for (Transport t : Transport.values()) {
            lines.add(pingPong(t, false));
            lines.add(pingPong(t, true));
            lines.add(oneWay(t, 1));
            lines.add(oneWay(t, 4));
            lines.add(bulk(t));
        }
        System.out.println("StreamChannel figures (" + Runtime.getRuntime().availableProcessors() + " cores, "
                + System.getProperty("java.version") + "):");
        lines.forEach(l -> System.out.println("  " + l));
    }

    private static String codecFigures() {
        Object value = List.of("job-42", 3.14, 7);
        int size = CODEC.encode(value).length;
        for (int i = 0; i < 30_000; i++) { // warm-up by count: serialization needs many calls to be compiled
            CODEC.decode(CODEC.encode(value));
        }
        long counted = 0;
        long start = System.nanoTime();
        long end = start + MEASURE_NANOS;
        while (System.nanoTime() < end) {
            assertThat(CODEC.decode(CODEC.encode(value))).isEqualTo(value);
            counted++;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return String.format(Locale.ROOT, "codec encode+decode of a %d-byte List.of(String, Double, Integer): %,.0f/s (%.1f µs each)",
                size, counted / seconds, seconds * 1e6 / Math.max(1, counted));
    }

    /**
     * Lets a measuring window pass while other threads work. Waiting for time is the point here: nothing is
     * synchronised on it, and the figures are only printed.
     */
    private static void window(long nanos) {
        long end = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = end - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    /** One message there and back at a time; the echo side receives with recv() or with a listener. */
    private static String pingPong(Transport t, boolean listener) throws Exception {
        SocketChannel[] s = t.pair();
        StreamChannel a = StreamChannel.builder(s[0], CODEC).name("bench-ping").open();
        StreamChannel[] b = new StreamChannel[1];
        StreamChannel.Builder bb = StreamChannel.builder(s[1], CODEC).name("bench-echo");
        Thread echo = null;
        if (listener) {
            bb.listener(new StreamChannel.Listener() {
                @Override
                public void onMessage(Message m) {
                    b[0].send("pong", m.data());
                }

                @Override
                public void onUndecodable(String key, CodecException failure) {
                }

                @Override
                public void onEnd(RpcException reason) {
                }
            });
            b[0] = bb.open();
        } else {
            b[0] = bb.open();
            echo = new Thread(() -> {
                try {
                    while (true) {
                        Message m = b[0].recv();
                        b[0].send("pong", m.data());
                    }
                } catch (ChannelClosedException e) {
                    // done
                }
            }, "bench-echo");
            echo.start();
        }
        try {
            long start = System.nanoTime();
            long measuredFrom = start + WARMUP_NANOS;
            long end = measuredFrom + MEASURE_NANOS;
            long counted = 0;
            int i = 0;
            while (true) {
                long now = System.nanoTime();
                if (now >= end) {
                    break;
                }
                a.send("ping", i);
                assertThat(a.recv(WAIT).data()).isEqualTo(i);
                i++;
                if (now >= measuredFrom) {
                    counted++;
                }
            }
            double seconds = MEASURE_NANOS / 1e9;
            return String.format(Locale.ROOT, "%-4s round trips, echo by %-8s: %,9.0f/s (%.1f µs each)",
                    t, listener ? "listener" : "recv()", counted / seconds, seconds * 1e6 / counted);
        } finally {
            a.close();
            b[0].close();
            if (echo != null) {
                echo.join(WAIT.toMillis());
            }
            a.awaitTermination(WAIT);
            b[0].awaitTermination(WAIT);
        }
    }

    /** Small messages one way from {@code senders} threads, as fast as they go. */
    private static String oneWay(Transport t, int senders) throws Exception {
        SocketChannel[] s = t.pair();
        AtomicLong received = new AtomicLong();
        CountDownLatch ended = new CountDownLatch(1);
        StreamChannel b = StreamChannel.builder(s[1], CODEC).name("bench-sink").listener(new StreamChannel.Listener() {
            @Override
            public void onMessage(Message m) {
                received.incrementAndGet();
            }

            @Override
            public void onUndecodable(String key, CodecException failure) {
            }

            @Override
            public void onEnd(RpcException reason) {
                ended.countDown();
            }
        }).open();
        StreamChannel a = StreamChannel.builder(s[0], CODEC).name("bench-source").open();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong sent = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < senders; i++) {
            Thread th = new Thread(() -> {
                int n = 0;
                while (!stop.get()) {
                    a.send("m", n++);
                    sent.incrementAndGet();
                }
            }, "bench-sender-" + i);
            threads.add(th);
            th.start();
        }
        window(WARMUP_NANOS);
        long r0 = received.get();
        long m0 = System.nanoTime();
        window(MEASURE_NANOS);
        long r1 = received.get();
        long m1 = System.nanoTime();
        stop.set(true);
        for (Thread th : threads) {
            th.join(WAIT.toMillis());
        }
        a.close();
        assertThat(ended.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(received.get()).isEqualTo(sent.get()); // nothing lost
        b.awaitTermination(WAIT);
        a.awaitTermination(WAIT);
        double seconds = (m1 - m0) / 1e9;
        return String.format(Locale.ROOT, "%-4s one way, %d sender%s, listener receiving: %,9.0f messages/s",
                t, senders, senders == 1 ? " " : "s", (r1 - r0) / seconds);
    }

    /** 256 KiB byte arrays one way. */
    private static String bulk(Transport t) throws Exception {
        SocketChannel[] s = t.pair();
        AtomicLong bytes = new AtomicLong();
        StreamChannel b = StreamChannel.builder(s[1], CODEC).name("bench-bulk-sink").listener(new StreamChannel.Listener() {
            @Override
            public void onMessage(Message m) {
                bytes.addAndGet(((byte[]) m.data()).length);
            }

            @Override
            public void onUndecodable(String key, CodecException failure) {
            }

            @Override
            public void onEnd(RpcException reason) {
            }
        }).open();
        StreamChannel a = StreamChannel.builder(s[0], CODEC).name("bench-bulk-source").open();
        byte[] chunk = new byte[256 << 10];
        AtomicBoolean stop = new AtomicBoolean();
        Thread sender = new Thread(() -> {
            while (!stop.get()) {
                a.send("bulk", chunk);
            }
        }, "bench-bulk-sender");
        sender.start();
        window(WARMUP_NANOS);
        long b0 = bytes.get();
        long m0 = System.nanoTime();
        window(MEASURE_NANOS);
        long b1 = bytes.get();
        long m1 = System.nanoTime();
        stop.set(true);
        sender.join(WAIT.toMillis());
        a.close();
        a.awaitTermination(WAIT);
        b.awaitTermination(WAIT);
        double seconds = (m1 - m0) / 1e9;
        return String.format(Locale.ROOT, "%-4s one way, 256 KiB byte[] messages: %,.0f MiB/s",
                t, (b1 - b0) / seconds / (1 << 20));
    }
}
