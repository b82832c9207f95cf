package dev.netrun.remote;

import dev.netrun.pool.OutputEntry;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CodecException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The batch format of the {@code Pool} stream: round trips, in-place payloads, malformed input. */
class WireTest {
    final Codec control = Wire.envelope(1 << 20);

    @Test
    void dataAndControlFramesRoundTripInOrder() {
        byte[] payload = {1, 2, 3};
        List<Object[]> frames = List.of(
                Wire.frame(Wire.SEND, 3, "ключ", payload),
                Wire.frame(Wire.FLUSH, 7L, -1, 500L),
                Wire.frame(Wire.WORKER_CRASHED, 1, new LinkedHashMap<>(Map.of("reason", "gone", "exitCode", 3))),
                Wire.frame(Wire.MESSAGE, 0, "k", new byte[0]));
        byte[] batch = Wire.encodeBatch(frames, control);
        List<Object[]> back = Wire.decodeBatch(batch, control);
        assertThat(back).hasSize(4);
        assertThat(back.get(0)[0]).isEqualTo(Wire.SEND);
        assertThat(back.get(0)[1]).isEqualTo(3);
        assertThat(back.get(0)[2]).isEqualTo("ключ");
        Wire.Slice s = (Wire.Slice) back.get(0)[3];
        assertThat(Arrays.copyOfRange(s.bytes(), s.offset(), s.offset() + s.length())).containsExactly(1, 2, 3);
        assertThat(back.get(1)).containsExactly(Wire.FLUSH, 7L, -1, 500L);
        assertThat(back.get(2)[2]).isEqualTo(Map.of("reason", "gone", "exitCode", 3));
        assertThat(((Wire.Slice) back.get(3)[3]).length()).isZero();
    }

    @Test
    void outputEntriesTravelInControlFields() {
        Map<Integer, List<OutputEntry>> out = new LinkedHashMap<>();
        out.put(0, List.of(new OutputEntry(Instant.EPOCH, false, "err\n")));
        Object back = control.decode(control.encode(out));
        assertThat(back).isEqualTo(out);
    }

    @Test
    void malformedBatchesAreCodecExceptionsNeverSomethingWorse() {
        byte[] good = Wire.encodeBatch(List.<Object[]>of(Wire.frame(Wire.MESSAGE, 1, "key", new byte[]{9, 9})), control);
        for (int cut = 0; cut < good.length; cut++) {
            byte[] truncated = Arrays.copyOf(good, cut);
            assertThatThrownBy(() -> Wire.decodeBatch(truncated, control)).isInstanceOf(CodecException.class);
        }
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> Wire.decodeBatch(trailing, control)).isInstanceOf(CodecException.class)
                .hasMessageContaining("trailing");
        byte[] huge = {1, 11, 0, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07};
        assertThatThrownBy(() -> Wire.decodeBatch(huge, control)).isInstanceOf(CodecException.class);
    }

    @Test
    void controlFieldsRefuseClassesOutsideTheirAllowList() {
        byte[] batch = Wire.encodeBatch(List.<Object[]>of(Wire.frame(Wire.POOL_ERROR, new java.io.File("x"))),
                Wire.envelope(1 << 20));
        assertThatThrownBy(() -> Wire.decodeBatch(batch, control)).isInstanceOf(CodecException.class)
                .hasMessageContaining("java.io.File");
    }
}
