package dev.netrun.pool;

/** {@link Pool#start()} was called on a pool that is already running. */
public class PoolAlreadyStartedException extends PoolException {
    private static final long serialVersionUID = 1L;

    /** @param message which pool */
    public PoolAlreadyStartedException(String message) {
        super(message);
    }
}
