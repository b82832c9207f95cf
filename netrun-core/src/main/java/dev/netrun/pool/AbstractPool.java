package dev.netrun.pool;

import dev.netrun.rpc.RecvTimeoutException;
import dev.netrun.rpc.internal.LocalChannel;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The lifecycle, id checks and receive side shared by every pool kind. Subclasses start and stop their
 * workers and move messages; this class decides whether a call is allowed and where incoming traffic goes.
 *
 * <p><b>Generations.</b> Each {@link #start()} creates a fresh {@link Delivery}: the one target through
 * which the subclass hands over everything its workers send during that run. A delivery from a previous
 * run (a worker thread that outlived its {@code close}) is dropped, so a restarted pool never sees stale
 * messages.
 *
 * <p><b>Locking.</b> {@code start} and {@code close} hold {@code lifecycle}; the send and receive paths
 * take no lock: they read the volatile {@code current} generation once.
 */
public abstract class AbstractPool implements Pool {

    /** Where a subclass hands over what its workers send. Thread-safe; never blocks. */
    protected interface Delivery {
        /** A worker sent a message. */
        void message(int workerId, String key, Object data);

        /** A worker failed; reported once per worker. */
        void failure(PoolException failure);
    }

    /** How long {@link #close()} lets workers leave on their own before forcing them. */
    protected static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private static final Object CLOSED = new Object();

    private final String description;
    /** Fixed while the pool runs: changed only by {@link #setNumWorkers}, under {@code lifecycle}, while stopped. */
    private volatile int numWorkers;
    private final Object lifecycle = new Object();
    private volatile Generation current;
    private volatile PoolListener listener;

    /**
     * @param description names the pool in error messages, e.g. {@code "ThreadPool(4)"}
     * @param numWorkers  the number of workers, at least 1
     * @throws IllegalArgumentException if {@code numWorkers < 1}
     */
    protected AbstractPool(String description, int numWorkers) {
        if (numWorkers < 1) {
            throw new IllegalArgumentException("numWorkers must be >= 1, was " + numWorkers);
        }
        this.description = description;
        this.numWorkers = numWorkers;
    }

    /**
     * Starts the workers. Called under the lifecycle lock.
     *
     * @param delivery where this run's worker traffic goes
     * @throws PoolException on failure, after stopping whatever was started
     */
    protected abstract void doStart(Delivery delivery);

    /** Sends to one running worker; the id has been checked. */
    protected abstract void doSend(int workerId, String key, Object data);

    /** Stops the workers, waiting at most {@code timeout} before forcing them. Called under the lifecycle lock. */
    protected abstract void doClose(Duration timeout);

    /**
     * Frees what the pool holds outside a run (a remote pool's connection, opened before {@code start()}).
     * Called by every {@link #close(Duration)}, after {@link #doClose} if the pool was running, also when it was
     * not; must be idempotent. The default does nothing. Called under the lifecycle lock.
     */
    protected void doRelease() {
    }

    /**
     * Routes everything workers send to {@code listener} instead of the {@link #recv()} queue; {@code null}
     * restores the queue. Takes effect at the next {@link #start()}.
     *
     * @param listener the push target, or {@code null}
     * @throws IllegalStateException if the pool is running
     */
    public final void setListener(PoolListener listener) {
        synchronized (lifecycle) {
            if (current != null) {
                throw new IllegalStateException("Cannot change the listener of a running pool: " + description);
            }
            this.listener = listener;
        }
    }

    /**
     * Changes the number of workers, for pool kinds whose size is settled only just before they start (a
     * remote pool is sized by the request it sends its server). Only while the pool is stopped.
     *
     * @param numWorkers the number of workers of the next run, at least 1
     * @throws IllegalArgumentException if {@code numWorkers < 1}
     * @throws PoolAlreadyStartedException if the pool is running
     */
    protected final void setNumWorkers(int numWorkers) {
        if (numWorkers < 1) {
            throw new IllegalArgumentException("numWorkers must be >= 1, was " + numWorkers);
        }
        synchronized (lifecycle) {
            if (current != null) {
                throw new PoolAlreadyStartedException("Cannot resize " + description + " while it is running");
            }
            this.numWorkers = numWorkers;
        }
    }

    @Override
    public final int numWorkers() {
        return numWorkers;
    }

    @Override
    public final boolean isRunning() {
        return current != null;
    }

    @Override
    public final void start() {
        synchronized (lifecycle) {
            if (current != null) {
                throw new PoolAlreadyStartedException(description + " is already started");
            }
            Generation g = new Generation(listener);
            doStart(g);
            current = g;
        }
    }

    @Override
    public final void close() {
        close(DEFAULT_CLOSE_TIMEOUT);
    }

    @Override
    public final void close(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        synchronized (lifecycle) {
            Generation g = current;
            try {
                if (g != null) {
                    current = null;
                    g.end();
                    doClose(timeout);
                }
            } finally {
                doRelease();
            }
        }
    }

    @Override
    public final void send(int workerId, String key, Object data) {
        Objects.requireNonNull(key, "key");
        running("send to");
        checkWorkerId(workerId);
        doSend(workerId, key, data);
    }

    @Override
    public final void broadcast(String key, Object data) {
        Objects.requireNonNull(key, "key");
        running("broadcast to");
        WorkerCrashedException first = null;
        for (int i = 0; i < numWorkers; i++) {
            try {
                doSend(i, key, data);
            } catch (WorkerCrashedException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public final WorkerMessage recv() {
        Generation g = receiving();
        try {
            return g.unwrap(g.inbox.take());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PoolNotStartedException("Interrupted while receiving from " + description);
        }
    }

    @Override
    public final WorkerMessage recv(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        Generation g = receiving();
        Object o;
        try {
            o = g.inbox.poll(Math.max(0, LocalChannel.saturatedNanos(timeout)), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PoolNotStartedException("Interrupted while receiving from " + description);
        }
        if (o == null) {
            throw new RecvTimeoutException("No message from " + description + " within " + timeout.toMillis() + " ms");
        }
        return g.unwrap(o);
    }

    @Override
    public final Optional<WorkerMessage> tryRecv() {
        Generation g = receiving();
        Object o = g.inbox.poll();
        return o == null ? Optional.empty() : Optional.of(g.unwrap(o));
    }

    /**
     * @throws IllegalArgumentException naming the id and the valid range if it is out of range
     */
    protected final void checkWorkerId(int workerId) {
        if (workerId < 0 || workerId >= numWorkers) {
            throw new IllegalArgumentException("Worker id " + workerId + " is out of range for " + description
                    + ": valid ids are 0 to " + (numWorkers - 1));
        }
    }

    /** @return the pool's description, as used in error messages */
    protected final String description() {
        return description;
    }

    private Generation running(String action) {
        Generation g = current;
        if (g == null) {
            throw new PoolNotStartedException("Cannot " + action + " " + description + ": the pool is not started");
        }
        return g;
    }

    private Generation receiving() {
        Generation g = running("receive from");
        if (g.listener != null) {
            throw new IllegalStateException(description + " delivers to a listener; recv() is not available");
        }
        return g;
    }

    @Override
    public String toString() {
        return description + (isRunning() ? "[running]" : "[stopped]");
    }

    /** One run of the pool, from start to close. */
    private final class Generation implements Delivery {
        final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        final PoolListener listener;
        volatile boolean ended;

        Generation(PoolListener listener) {
            this.listener = listener;
        }

        @Override
        public void message(int workerId, String key, Object data) {
            if (ended) {
                return;
            }
            if (listener != null) {
                listener.onMessage(workerId, key, data);
            } else {
                inbox.offer(new WorkerMessage(workerId, key, data));
            }
        }

        @Override
        public void failure(PoolException failure) {
            if (ended) {
                return;
            }
            if (listener != null) {
                listener.onFailure(failure);
            } else {
                inbox.offer(failure);
            }
        }

        void end() {
            ended = true;
            inbox.offer(CLOSED);
        }

        WorkerMessage unwrap(Object o) {
            if (o instanceof WorkerMessage m) {
                return m;
            }
            if (o == CLOSED) {
                inbox.offer(CLOSED); // wake every other receiver
                throw new PoolNotStartedException(description + " was closed");
            }
            throw (PoolException) o;
        }
    }
}
