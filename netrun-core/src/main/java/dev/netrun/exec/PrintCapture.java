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
 * writes to that thread's {@link JobPrints} while it runs a job ({@link #begin}/{@link #end}), and passes
 * everything else through to the stream that was there before. The replacement is reference-counted: when
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
    private static volatile Charset charset = Charset.defaultCharset();

    private PrintCapture() {
    }

    /** Installs the capturing {@code System.out} if this is the first holder. */
    static void acquire() {
        synchronized (LOCK) {
            if (refs++ == 0) {
                original = System.out;
                charset = stdoutCharset();
                installed = new PrintStream(new Router(original), true, charset);
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

    /** @return the charset {@code System.out} encodes with, used to decode captured lines */
    static Charset charset() {
        return charset;
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

    /** Sends each write to the current thread's job, or to the original stream. */
    private static final class Router extends OutputStream {
        private final PrintStream out;

        Router(PrintStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) {
            JobPrints p = CURRENT.get();
            if (p != null) {
                p.write(new byte[]{(byte) b}, 0, 1);
            } else {
                out.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            JobPrints p = CURRENT.get();
            if (p != null) {
                p.write(b, off, len);
            } else {
                out.write(b, off, len);
            }
        }

        @Override
        public void flush() throws IOException {
            if (CURRENT.get() == null) {
                out.flush();
            }
        }
    }
}
