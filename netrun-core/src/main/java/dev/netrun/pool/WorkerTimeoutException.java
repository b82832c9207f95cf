package dev.netrun.pool;

/** A worker (or the process hosting it) did not answer a pool request in time. */
public class WorkerTimeoutException extends PoolException {
    private static final long serialVersionUID = 1L;

    /** @param message what timed out */
    public WorkerTimeoutException(String message) {
        super(message);
    }
}
