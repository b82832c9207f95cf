package dev.netrun.exec;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Per-thread capture of {@code System.out}, shared by every {@link ExecutionManager} (and worker runtime)
 * of this JVM.
 *
 * <p>{@link #acquire()} replaces {@code System.out}, on first use, with a stream that hands what a thread
 * prints to that thread's {@link JobPrints} while it runs a job ({@link #begin}/{@link #end}), and passes
 * every other call, unchanged, to the stream that was there before. The replacement is reference-counted: when
 * the last holder calls {@link #release()}, {@code System.out} becomes the original stream again (unless
 * someone else replaced it meanwhile, in which case it is left alone). {@code System.err} is never touched.
 *
 * <p>The same reference count owns one daemon thread, {@code netrun-print-flusher}, that streams the
 * captured lines of jobs with an {@code onPrint} callback at their flush interval.
 *
 * <p>Locking: {@code LOCK} guards the count and the installed streams; capture itself is lock-free
 * (a thread-local read per write).
 */
final class PrintCapture {
    private static final Object LOCK = new Object();
    private static final ThreadLocal<JobPrints> CURRENT = new ThreadLocal<>();

    private static int refs;              // guarded by LOCK
    private static PrintStream original;  // guarded by LOCK
    private static PrintStream installed; // guarded by LOCK
    private static volatile ScheduledThreadPoolExecutor flusher;

    private PrintCapture() {
    }

    /** Installs the capturing {@code System.out} if this is the first holder. */
    static void acquire() {
        synchronized (LOCK) {
            if (refs++ == 0) {
                original = System.out;
                installed = new Router(original, stdoutCharset());
                System.setOut(installed);
                ScheduledThreadPoolExecutor f = new ScheduledThreadPoolExecutor(1, r -> {
                    Thread t = new Thread(r, "netrun-print-flusher");
                    t.setDaemon(true);
                    return t;
                });
                f.setRemoveOnCancelPolicy(true);
                f.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
                flusher = f;
            }
        }
    }

    /** Restores {@code System.out} and stops the flusher thread if this was the last holder. */
    static void release() {
        ScheduledThreadPoolExecutor f = null;
        synchronized (LOCK) {
            if (refs == 0) {
                return;
            }
            if (--refs == 0) {
                if (System.out == installed) {
                    System.setOut(original);
                }
                installed = null;
                original = null;
                f = flusher;
                flusher = null;
            }
        }
        if (f != null) {
            f.shutdownNow();
            try {
                f.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Starts capturing what the current thread prints into {@code prints}. */
    static void begin(JobPrints prints) {
        CURRENT.set(prints);
    }

    /** Stops capturing on the current thread. */
    static void end() {
        CURRENT.remove();
    }

    /**
     * Runs {@code task} every {@code interval} on the flusher thread until the returned future is
     * cancelled, or returns {@code null} if no capture is installed.
     */
    static ScheduledFuture<?> every(Duration interval, Runnable task) {
        ScheduledThreadPoolExecutor f = flusher;
        if (f == null) {
            return null;
        }
        long nanos = Math.max(1, interval.toNanos());
        try {
            return f.scheduleAtFixedRate(task, nanos, nanos, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return null; // released concurrently: the job's lines all come with its result
        }
    }

    /**
     * Runs {@code task} once after {@code delay} on the flusher thread unless the returned future is
     * cancelled first; returns {@code null} (and never runs it) if no capture is installed.
     */
    static ScheduledFuture<?> after(Duration delay, Runnable task) {
        ScheduledThreadPoolExecutor f = flusher;
        if (f == null) {
            return null;
        }
        try {
            return f.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return null;
        }
    }

    private static Charset stdoutCharset() {
        for (String p : new String[]{"stdout.encoding", "sun.stdout.encoding"}) {
            String name = System.getProperty(p);
            if (name != null) {
                try {
                    return Charset.forName(name);
                } catch (RuntimeException e) {
                    // fall through to the default
                }
            }
        }
        return Charset.defaultCharset();
    }

    /**
     * The {@code System.out} installed while capture is on: every method goes to the current thread's job
     * stream (UTF-8, so captured text is never lost to the console's charset) when it runs a job, and to
     * the original stream, unchanged, otherwise. {@code close()} only flushes: closing {@code System.out}
     * from a job must not close the console.
     */
    private static final class Router extends PrintStream {
        private final PrintStream out;

        Router(PrintStream out, Charset charset) {
            super(OutputStream.nullOutputStream(), true, charset);
            this.out = out;
        }

        private PrintStream target() {
            JobPrints p = CURRENT.get();
            return p != null ? p.stream() : out;
        }

        @Override
        public void flush() {
            target().flush();
        }

        @Override
        public void close() {
            target().flush();
        }

        @Override
        public boolean checkError() {
            return target().checkError();
        }

        @Override
        public void write(int b) {
            target().write(b);
        }

        @Override
        public void write(byte[] buf, int off, int len) {
            target().write(buf, off, len);
        }

        @Override
        public void write(byte[] buf) throws IOException {
            target().write(buf);
        }

        @Override
        public void writeBytes(byte[] buf) {
            target().writeBytes(buf);
        }

        @Override
        public void print(boolean b) {
            target().print(b);
        }

        @Override
        public void print(char c) {
            target().print(c);
        }

        @Override
        public void print(int i) {
            target().print(i);
        }

        @Override
        public void print(long l) {
            target().print(l);
        }

        @Override
        public void print(float f) {
            target().print(f);
        }

        @Override
        public void print(double d) {
            target().print(d);
        }

        @Override
        public void print(char[] s) {
            target().print(s);
        }

        @Override
        public void print(String s) {
            target().print(s);
        }

        @Override
        public void print(Object obj) {
            target().print(obj);
        }

        @Override
        public void println() {
            target().println();
        }

        @Override
        public void println(boolean x) {
            target().println(x);
        }

        @Override
        public void println(char x) {
            target().println(x);
        }

        @Override
        public void println(int x) {
            target().println(x);
        }

        @Override
        public void println(long x) {
            target().println(x);
        }

        @Override
        public void println(float x) {
            target().println(x);
        }

        @Override
        public void println(double x) {
            target().println(x);
        }

        @Override
        public void println(char[] x) {
            target().println(x);
        }

        @Override
        public void println(String x) {
            target().println(x);
        }

        @Override
        public void println(Object x) {
            target().println(x);
        }

        @Override
        public PrintStream printf(String format, Object... args) {
            target().printf(format, args);
            return this;
        }

        @Override
        public PrintStream printf(java.util.Locale l, String format, Object... args) {
            target().printf(l, format, args);
            return this;
        }

        @Override
        public PrintStream format(String format, Object... args) {
            target().format(format, args);
            return this;
        }

        @Override
        public PrintStream format(java.util.Locale l, String format, Object... args) {
            target().format(l, format, args);
            return this;
        }

        @Override
        public PrintStream append(CharSequence csq) {
            target().append(csq);
            return this;
        }

        @Override
        public PrintStream append(CharSequence csq, int start, int end) {
            target().append(csq, start, end);
            return this;
        }

        @Override
        public PrintStream append(char c) {
            target().append(c);
            return this;
        }
    }
}
