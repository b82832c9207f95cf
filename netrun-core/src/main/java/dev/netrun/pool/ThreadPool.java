package dev.netrun.pool;

/**
 * A pool whose workers are threads of this JVM. Messages pass by reference: nothing is copied or
 * serialized. Worker threads are daemon threads named {@code netrun-thread-<id>}; they end when the pool
 * closes.
 *
 * <p>Thread-safe; see {@link Pool} for the lifecycle and failure contract.
 */
public final class ThreadPool extends InJvmPool {
    /**
     * @param fn         the function each worker runs
     * @param numWorkers the number of worker threads, at least 1
     * @throws NullPointerException     if {@code fn} is {@code null}
     * @throws IllegalArgumentException if {@code numWorkers < 1}
     */
    public ThreadPool(WorkerFunction fn, int numWorkers) {
        super(fn, numWorkers, "ThreadPool(" + numWorkers + ")", "netrun-thread");
    }
}
