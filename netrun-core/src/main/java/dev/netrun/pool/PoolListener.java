package dev.netrun.pool;

/**
 * Receives what a pool's workers send as it arrives, instead of through {@link Pool#recv()}: the push
 * alternative that the ExecutionManager uses to avoid a thread hop per message. Install it with
 * {@link AbstractPool#setListener} before {@link Pool#start()}.
 *
 * <p>Methods are called on the pool's threads (a worker thread, or the thread reading a child process's
 * socket), possibly from several threads at once; messages of one worker arrive in order. Implementations
 * must be thread-safe, quick, and must not throw.
 */
public interface PoolListener {
    /** A worker sent a message. */
    void onMessage(int workerId, String key, Object data);

    /** A worker failed: a {@link WorkerException} or a {@link WorkerCrashedException}. */
    void onFailure(PoolException failure);
}
