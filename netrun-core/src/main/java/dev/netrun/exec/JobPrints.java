package dev.netrun.exec;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The lines one job prints, cut at {@code '\n'} and stamped when each line ends. Written by the job's
 * thread, drained by the flusher thread and by the job's thread at the end: all methods synchronize on
 * this object.
 */
final class JobPrints {
    private static final Charset CHARSET = StandardCharsets.UTF_8;

    private byte[] line = new byte[128];
    private int length;
    private ArrayList<PrintEntry> pending = new ArrayList<>();
    /** The job thread's System.out while it runs; made on first print. Job thread only. */
    private PrintStream stream;

    /**
     * @return the stream the job's thread prints to: UTF-8, whatever the console's charset, so no character
     *         is lost on the way into the job's lines
     */
    PrintStream stream() {
        PrintStream s = stream;
        if (s == null) {
            s = new PrintStream(new OutputStream() {
                @Override
                public void write(int b) {
                    JobPrints.this.write(new byte[]{(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    JobPrints.this.write(b, off, len);
                }
            }, true, CHARSET);
            stream = s;
        }
        return s;
    }

    synchronized void write(byte[] b, int off, int len) {
        int end = off + len;
        int start = off;
        for (int i = off; i < end; i++) {
            if (b[i] == '\n') {
                append(b, start, i + 1 - start);
                pending.add(new PrintEntry(Instant.now(), new String(line, 0, length, CHARSET)));
                length = 0;
                start = i + 1;
            }
        }
        append(b, start, end - start);
    }

    private void append(byte[] b, int off, int len) {
        if (length + len > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, length + len));
        }
        System.arraycopy(b, off, line, length, len);
        length += len;
    }

    /** @return the complete lines not yet drained, oldest first; empty if none */
    synchronized List<PrintEntry> drain() {
        if (pending.isEmpty()) {
            return List.of();
        }
        List<PrintEntry> out = pending;
        pending = new ArrayList<>();
        return out;
    }

    /** @return what {@link #drain()} returns plus an unfinished last line, if any */
    synchronized List<PrintEntry> finish() {
        if (length > 0) {
            pending.add(new PrintEntry(Instant.now(), new String(line, 0, length, CHARSET)));
            length = 0;
        }
        return drain();
    }
}
