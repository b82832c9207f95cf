package dev.netrun.pool;

import dev.netrun.rpc.ChannelClosedException;
import dev.netrun.rpc.internal.LocalChannel;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Workers as threads of this JVM. Each worker gets a {@link LocalChannel} whose sends go straight to the
 * pool's {@link AbstractPool.Delivery}: no copy, no serialization, no extra queue.
 */
abstract class InJvmPool extends AbstractPool {
    /** The logger, looked up on first use: finding the logging backend costs a child JVM ~20 ms at start. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(InJvmPool.class.getName());
    }

    private final WorkerFunction fn;
    private final String threadPrefix;
    /** The workers of the current run; replaced at each start, read without lock by doSend. */
    private volatile Worker[] workers = new Worker[0];

    InJvmPool(WorkerFunction fn, int numWorkers, String description, String threadPrefix) {
        super(description, numWorkers);
        this.fn = Objects.requireNonNull(fn, "fn");
        this.threadPrefix = threadPrefix;
    }

    @Override
    protected final void doStart(Delivery delivery) {
        Worker[] ws = new Worker[numWorkers()];
        for (int i = 0; i < ws.length; i++) {
            ws[i] = new Worker(i, delivery);
        }
        workers = ws;
        for (Worker w : ws) {
            w.thread.start();
        }
    }

    @Override
    protected final void doSend(int workerId, String key, Object data) {
        Worker w = workers[workerId];
        if (!w.channel.deliver(key, data)) {
            throw new WorkerCrashedException(workerId, "worker " + workerId + " of " + description()
                    + " is not running (its function ended)");
        }
    }

    @Override
    protected final void doClose(Duration timeout) {
        Worker[] ws = workers;
        for (Worker w : ws) {
            w.stopping = true;
            w.channel.deliverClose();
        }
        long deadline = System.nanoTime() + Math.max(0, LocalChannel.saturatedNanos(timeout));
        boolean interrupted = false;
        for (Worker w : ws) {
            interrupted |= join(w.thread, deadline - System.nanoTime());
        }
        for (Worker w : ws) {
            if (w.thread.isAlive() && w.thread != Thread.currentThread()) { // a worker closing its own pool goes on
                Log.LOG.log(System.Logger.Level.WARNING, "{0} did not stop within {1} ms; interrupting it",
                        w.thread.getName(), timeout.toMillis());
                w.thread.interrupt();
                interrupted |= join(w.thread, TimeUnit.SECONDS.toNanos(1));
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Joins for at most {@code nanos}; returns whether the caller was interrupted meanwhile. */
    private static boolean join(Thread t, long nanos) {
        if (t == Thread.currentThread()) {
            return false; // a worker closing its own pool cannot wait for itself
        }
        try {
            if (nanos > 0) {
                TimeUnit.NANOSECONDS.timedJoin(t, nanos);
            }
            return false;
        } catch (InterruptedException e) {
            return true;
        }
    }

    private final class Worker implements LocalChannel.Sink, Runnable {
        final int id;
        final Delivery delivery;
        final LocalChannel channel;
        final Thread thread;
        volatile boolean stopping;

        Worker(int id, Delivery delivery) {
            this.id = id;
            this.delivery = delivery;
            this.channel = new LocalChannel("worker " + id + " of " + description(), this);
            this.thread = new Thread(this, threadPrefix + "-" + id);
            this.thread.setDaemon(true);
        }

        @Override
        public void message(String key, Object data) {
            delivery.message(id, key, data);
        }

        @Override
        public void closed() {
            // the worker closed its own end; its thread ending reports the crash, if any
        }

        @Override
        public void broken(Throwable cause) {
            // same as closed(): the thread's end is what the pool reports
        }

        @Override
        public void run() {
            try {
                fn.run(channel, id);
                // Close before reporting: once recv has handed out the failure, a send to this worker
                // must already throw WorkerCrashedException instead of vanishing into a dead inbox.
                channel.close();
                if (!stopping) {
                    delivery.failure(new WorkerCrashedException(id,
                            "worker function returned while " + description() + " was running"));
                }
            } catch (Throwable t) {
                channel.close(); // before reporting, as above
                if (!stopping) {
                    delivery.failure(t instanceof ChannelClosedException
                            ? new WorkerCrashedException(id, java.util.Map.of(WorkerCrashedException.REASON,
                                    "worker closed its channel while " + description() + " was running"), t)
                            : new WorkerException(id, t));
                } else if (!(t instanceof ChannelClosedException) && !(t instanceof InterruptedException)) {
                    Log.LOG.log(System.Logger.Level.DEBUG, "worker " + id + " threw while stopping", t);
                }
            } finally {
                channel.close();
            }
        }
    }
}
