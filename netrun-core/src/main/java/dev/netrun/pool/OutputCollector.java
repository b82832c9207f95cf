package dev.netrun.pool;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.Charset;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Reads one child process's standard output and error, cuts them into lines, and keeps them as
 * {@link OutputEntry}s: for {@code flushStdout} (when buffering) and for the {@code onOutput} callback
 * (drained at the flush interval by the pool). With {@code redirect == false} the lines go to this JVM's
 * console instead.
 *
 * <p>Flush markers: to flush, the child writes a line {@code MARKER + token} to each stream after flushing
 * its own buffers; the reader that sees it completes that stream's waiter instead of keeping the line, so
 * {@code flushStdout} returns exactly what the child wrote before the request.
 *
 * <p>Threads: two daemon readers, {@code netrun-output-<name>-out/-err}, that end at end of stream (the
 * process exited or closed the stream). Everything else is guarded by {@code this}.
 */
final class OutputCollector {
    /** Starts a flush marker line; a NUL never starts a line a program prints by accident. */
    static final String MARKER = "\u0000netrun:flush:";

    private final int processIdx;
    private final boolean redirect;
    private final boolean buffer;
    private final boolean deliver;
    private final Charset charset;
    private final OutputStream consoleOut;
    private final OutputStream consoleErr;
    private final Thread outReader;
    private final Thread errReader;

    private final List<OutputEntry> kept = new ArrayList<>();        // guarded by this
    private List<OutputEntry> undelivered = new ArrayList<>();       // guarded by this
    private final Map<String, CompletableFuture<Void>[]> flushes = new HashMap<>(); // guarded by this
    /** Whether standard output / error reached its end; guarded by this. */
    private boolean outEnded;
    private boolean errEnded;
    /** The last lines, for error messages when a child fails to start; guarded by this. */
    private final java.util.ArrayDeque<String> tail = new java.util.ArrayDeque<>();

    @SuppressWarnings("unchecked")
    OutputCollector(String name, int processIdx, Process process, boolean redirect, boolean buffer, boolean deliver,
                    Charset charset, OutputStream consoleOut, OutputStream consoleErr) {
        this.processIdx = processIdx;
        this.redirect = redirect;
        this.buffer = buffer;
        this.deliver = deliver;
        this.charset = charset;
        this.consoleOut = consoleOut;
        this.consoleErr = consoleErr;
        this.outReader = reader(name + "-out", process.getInputStream(), true);
        this.errReader = reader(name + "-err", process.getErrorStream(), false);
        outReader.start();
        errReader.start();
    }

    private Thread reader(String name, InputStream in, boolean isStdout) {
        Thread t = new Thread(() -> pump(in, isStdout), "netrun-output-" + name);
        t.setDaemon(true);
        return t;
    }

    private void pump(InputStream in, boolean isStdout) {
        byte[] buf = new byte[8192];
        byte[] line = new byte[256];
        int length = 0;
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (buf[i] == '\n') {
                        line = append(line, length, buf, start, i + 1 - start);
                        length += i + 1 - start;
                        line(new String(line, 0, length, charset), isStdout);
                        length = 0;
                        start = i + 1;
                    }
                }
                line = append(line, length, buf, start, n - start);
                length += n - start;
            }
        } catch (IOException e) {
            // the stream ended with the process
        }
        if (length > 0) {
            line(new String(line, 0, length, charset), isStdout);
        }
        synchronized (this) {
            // a flush waiting for this stream will never see its marker now, nor will a later one
            if (isStdout) {
                outEnded = true;
            } else {
                errEnded = true;
            }
            for (CompletableFuture<Void>[] f : flushes.values()) {
                f[isStdout ? 0 : 1].complete(null);
            }
        }
    }

    private static byte[] append(byte[] line, int length, byte[] b, int off, int n) {
        if (length + n > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, length + n));
        }
        System.arraycopy(b, off, line, length, n);
        return line;
    }

    private void line(String text, boolean isStdout) {
        if (text.startsWith(MARKER)) {
            String token = text.substring(MARKER.length()).strip();
            synchronized (this) {
                CompletableFuture<Void>[] f = flushes.get(token);
                if (f != null) {
                    f[isStdout ? 0 : 1].complete(null);
                }
            }
            return;
        }
        OutputEntry e = new OutputEntry(Instant.now(), isStdout, text);
        synchronized (this) {
            tail.addLast((isStdout ? "" : "[stderr] ") + text);
            if (tail.size() > 50) {
                tail.removeFirst();
            }
            if (!redirect) {
                try {
                    (isStdout ? consoleOut : consoleErr).write(text.getBytes(charset));
                    (isStdout ? consoleOut : consoleErr).flush();
                } catch (IOException ignored) {
                    // the console is gone; nothing else to do with the line
                }
                return;
            }
            if (buffer) {
                kept.add(e);
            }
            if (deliver) {
                undelivered.add(e);
            }
        }
    }

    /** Registers a flush; the future completes when both streams have passed the marker of {@code token}. */
    @SuppressWarnings("unchecked")
    synchronized CompletableFuture<Void> expectFlush(String token) {
        CompletableFuture<Void>[] f = new CompletableFuture[]{new CompletableFuture<>(), new CompletableFuture<>()};
        // Not the readers' isAlive(): a reader is still alive for a moment after it completed the flushes it
        // knew of, and a flush registered then would wait for a marker that can no longer come.
        if (outEnded) {
            f[0].complete(null);
        }
        if (errEnded) {
            f[1].complete(null);
        }
        flushes.put(token, f);
        return CompletableFuture.allOf(f).whenComplete((v, t) -> {
            synchronized (this) {
                flushes.remove(token);
            }
        });
    }

    /** @return and clear the lines kept for flushStdout */
    synchronized List<OutputEntry> takeKept() {
        List<OutputEntry> out = List.copyOf(kept);
        kept.clear();
        return out;
    }

    /** @return and clear the lines not yet handed to onOutput */
    synchronized List<OutputEntry> takeUndelivered() {
        if (undelivered.isEmpty()) {
            return List.of();
        }
        List<OutputEntry> out = undelivered;
        undelivered = new ArrayList<>();
        return out;
    }

    /** @return the last lines the process wrote, for error messages */
    synchronized String tail() {
        return String.join("", tail);
    }

    /** Waits at most {@code millis} for both readers to reach end of stream. */
    boolean awaitEnd(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        outReader.join(Math.max(1, millis));
        errReader.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
        return !outReader.isAlive() && !errReader.isAlive();
    }

    int processIdx() {
        return processIdx;
    }
}
