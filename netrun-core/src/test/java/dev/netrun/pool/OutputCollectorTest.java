package dev.netrun.pool;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link OutputCollector} on streams the test controls (a stand-in {@link Process}), without child JVMs:
 * how it cuts lines, keeps stdout and stderr apart, and completes flushes.
 */
class OutputCollectorTest {
    private static final Duration WAIT = PoolContract.WAIT;

    /** A process that is nothing but the two streams it is given. */
    private static final class StreamsOnly extends Process {
        private final InputStream out;
        private final InputStream err;

        StreamsOnly(InputStream out, InputStream err) {
            this.out = out;
            this.err = err;
        }

        @Override
        public OutputStream getOutputStream() {
            return OutputStream.nullOutputStream();
        }

        @Override
        public InputStream getInputStream() {
            return out;
        }

        @Override
        public InputStream getErrorStream() {
            return err;
        }

        @Override
        public int waitFor() {
            return 0;
        }

        @Override
        public int exitValue() {
            return 0;
        }

        @Override
        public void destroy() {
        }
    }

    private static OutputCollector collect(InputStream out, InputStream err) {
        return new OutputCollector("test", 3, new StreamsOnly(out, err), true, true, true, StandardCharsets.UTF_8,
                OutputStream.nullOutputStream(), OutputStream.nullOutputStream());
    }

    private static InputStream bytes(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aFlushAsTheStreamsEndCompletesAtOnceInsteadOfWaitingForAMarkerThatCannotCome() throws Exception {
        // The streams end right away; the flush is registered while the readers are finishing. Many times, to
        // land in the moment after a reader completed the flushes it knew of but before its thread died.
        for (int i = 0; i < 500; i++) {
            OutputCollector c = collect(InputStream.nullInputStream(), InputStream.nullInputStream());

            CompletableFuture<Void> flushed = c.expectFlush("token-" + i);

            assertThat(flushed).as("flush %d", i).succeedsWithin(WAIT);
            assertThat(c.awaitEnd(WAIT.toMillis())).isTrue();
        }
    }

    @Test
    void eachLineBecomesAnEntryAndAnUnfinishedLastLineIsKeptAtTheEnd() throws Exception {
        String longLine = "ü€𝄞".repeat(5_000); // multi-byte characters across the reader's 8 KiB reads
        OutputCollector c = collect(bytes("one\ntwo\r\n\n" + longLine + "\nno end"), bytes("oops\n"));

        assertThat(c.awaitEnd(WAIT.toMillis())).isTrue();

        List<OutputEntry> kept = c.takeKept();
        assertThat(kept.stream().filter(OutputEntry::isStdout).map(OutputEntry::text))
                .containsExactly("one\n", "two\r\n", "\n", longLine + "\n", "no end");
        assertThat(kept.stream().filter(e -> !e.isStdout()).map(OutputEntry::text)).containsExactly("oops\n");
        assertThat(c.takeKept()).as("taken once").isEmpty();
        assertThat(c.takeUndelivered()).as("also kept for onOutput").hasSize(6);
        assertThat(c.processIdx()).isEqualTo(3);
    }

    @Test
    void aFlushCompletesWhenBothStreamsPassItsMarkerAndTheMarkerIsNotKept() throws Exception {
        PipedOutputStream out = new PipedOutputStream();
        PipedOutputStream err = new PipedOutputStream();
        OutputCollector c = collect(new PipedInputStream(out, 1 << 16), new PipedInputStream(err, 1 << 16));
        try {
            out.write("before\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            CompletableFuture<Void> flushed = c.expectFlush("tok");

            write(out, OutputCollector.MARKER + "tok\n");
            assertThat(flushed).as("only stdout passed the marker").isNotDone();
            write(err, OutputCollector.MARKER + "tok\n");

            assertThat(flushed).succeedsWithin(WAIT);
            assertThat(c.takeKept()).extracting(OutputEntry::text).containsExactly("before\n");
        } finally {
            out.close();
            err.close();
        }
        assertThat(c.awaitEnd(WAIT.toMillis())).isTrue();
    }

    private static void write(PipedOutputStream s, String text) throws IOException {
        s.write(text.getBytes(StandardCharsets.UTF_8));
        s.flush();
    }
}
