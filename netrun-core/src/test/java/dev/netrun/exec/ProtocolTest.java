package dev.netrun.exec;

import dev.netrun.exec.Protocol.FunctionReply;
import dev.netrun.exec.Protocol.FunctionRequest;
import dev.netrun.exec.Protocol.Prints;
import dev.netrun.exec.Protocol.RunReply;
import dev.netrun.exec.Protocol.RunRequest;
import dev.netrun.exec.Protocol.Started;
import dev.netrun.rpc.Codec;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The exec protocol's messages as they cross processes: arrays of their components, through the codec. */
class ProtocolTest {

    private static final Codec CODEC = ExecutionManager.codec(ProtocolTest.class.getClassLoader());

    private static Object crossed(Protocol.Message m) {
        Object wire = Protocol.wire(m, true);
        assertThat(wire).isInstanceOf(Object[].class);
        return CODEC.decode(CODEC.encode(wire));
    }

    @Test
    void inJvmAMessageTravelsAsItself() {
        Started s = new Started(1, Instant.EPOCH);
        assertThat(Protocol.wire(s, false)).isSameAs(s);
        assertThat(Started.of(s)).isSameAs(s);
    }

    @Test
    void everyMessageSurvivesTheTripAsAnArray() {
        Instant t0 = Instant.parse("2026-12-03T10:15:30.123456789Z");
        Instant t1 = t0.plusMillis(5);
        byte[] bytes = {1, 2, 3};
        List<PrintEntry> prints = List.of(new PrintEntry(t0, "a\n"), new PrintEntry(t1, "b é\n"));

        RunRequest req = RunRequest.of(crossed(new RunRequest(7, "k", true, null, null, bytes, false)));
        assertThat(req.callId()).isEqualTo(7);
        assertThat(req.func()).isEqualTo("k");
        assertThat(req.sendChannel()).isTrue();
        assertThat(req.args()).isNull();
        assertThat(req.kwargs()).isNull();
        assertThat(req.encodedArgs()).containsExactly(bytes);
        assertThat(req.streamPrints()).isFalse();

        FunctionRequest f = FunctionRequest.of(crossed(new FunctionRequest(8, "key", null, bytes)));
        assertThat(f).extracting(FunctionRequest::callId, FunctionRequest::key, FunctionRequest::function)
                .containsExactly(8L, "key", null);
        assertThat(f.encodedFunction()).containsExactly(bytes);

        assertThat(FunctionReply.of(crossed(new FunctionReply(9, "boom")))).isEqualTo(new FunctionReply(9, "boom"));
        assertThat(FunctionReply.of(crossed(new FunctionReply(9, null)))).isEqualTo(new FunctionReply(9, null));
        assertThat(Started.of(crossed(new Started(10, t0)))).isEqualTo(new Started(10, t0));
        assertThat(Prints.of(crossed(new Prints(11, prints)))).isEqualTo(new Prints(11, prints));
        assertThat(Prints.of(crossed(new Prints(11, List.of())))).isEqualTo(new Prints(11, List.of()));

        RunReply ok = RunReply.of(crossed(new RunReply(12, t0, t1, true, null, bytes, prints, null, null, null, null)));
        assertThat(ok.callId()).isEqualTo(12);
        assertThat(ok.started()).isEqualTo(t0);
        assertThat(ok.completed()).isEqualTo(t1);
        assertThat(ok.convertedToStr()).isTrue();
        assertThat(ok.encodedResult()).containsExactly(bytes);
        assertThat(ok.prints()).isEqualTo(prints);
        assertThat(ok.failed()).isFalse();
        RunReply failed = RunReply.of(crossed(new RunReply(13, t0, t1, false, null, null, null,
                "java.lang.IllegalStateException", "no", "at x", null)));
        assertThat(failed.failed()).isTrue();
        assertThat(failed).extracting(RunReply::failureClass, RunReply::failureMessage, RunReply::failureStack,
                RunReply::prints).containsExactly("java.lang.IllegalStateException", "no", "at x", null);
    }

    @Test
    void aMalformedMessageIsRefusedSayingWhatWasWrong() {
        assertThatThrownBy(() -> RunReply.of(new Object[3]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Malformed run reply: expected 11 components, got 3 components");
        assertThatThrownBy(() -> Started.of("started"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Malformed start notice: expected 2 components, got java.lang.String");
        assertThatThrownBy(() -> FunctionReply.of(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Malformed function reply: expected 2 components, got null");
        assertThatThrownBy(() -> RunRequest.of(new Object[]{"not a long", "k", true, null, null, null, false}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("Malformed run request: ");
        assertThatThrownBy(() -> Started.of(new Object[]{null, Instant.EPOCH}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("Malformed start notice: ");
        assertThatThrownBy(() -> Prints.of(new Object[]{1L, new Object[]{Instant.EPOCH}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("an odd number of print components: 1");
        assertThatThrownBy(() -> Prints.of(new Object[]{1L, new Object[]{Instant.EPOCH, null}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("Malformed prints: ");
    }
}
