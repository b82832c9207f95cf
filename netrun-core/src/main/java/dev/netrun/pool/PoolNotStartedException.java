package dev.netrun.pool;

/** The pool is not running: it was never started, or it was closed (possibly while the caller waited). */
public class PoolNotStartedException extends PoolException {
    private static final long serialVersionUID = 1L;

    /** @param message what was attempted */
    public PoolNotStartedException(String message) {
        super(message);
    }
}
