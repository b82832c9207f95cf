package dev.netrun.pool;

/**
 * A pool of exactly one worker (id 0) in this JVM: the "main" pool. Like a {@link ThreadPool} of one, its
 * results never leave the JVM and are never serialized. Its worker is a daemon thread named
 * {@code netrun-main-0}.
 *
 * <p>Thread-safe; see {@link Pool} for the lifecycle and failure contract.
 */
public final class SingleWorkerPool extends InJvmPool {
    /**
     * @param fn the function the worker runs
     * @throws NullPointerException if {@code fn} is {@code null}
     */
    public SingleWorkerPool(WorkerFunction fn) {
        super(fn, 1, "SingleWorkerPool", "netrun-main");
    }
}
