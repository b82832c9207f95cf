package dev.netrun.rpc;

/** Base class of every error raised by a {@link Channel}. Unchecked. */
public class RpcException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what went wrong */
    public RpcException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong
     * @param cause   the underlying failure, or {@code null}
     */
    public RpcException(String message, Throwable cause) {
        super(message, cause);
    }
}
