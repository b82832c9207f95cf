package dev.netrun.pool;

/** Base class of every error raised by a {@link Pool}. Unchecked. */
public class PoolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what went wrong */
    public PoolException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong
     * @param cause   the underlying failure, or {@code null}
     */
    public PoolException(String message, Throwable cause) {
        super(message, cause);
    }
}
