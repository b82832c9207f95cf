package dev.netrun.rpc;

/**
 * The peer vanished without closing: its process died, its socket was cut, or it sent bytes that are not a
 * valid frame. Distinct from {@link ChannelClosedException}, which is an orderly shutdown.
 */
public class ChannelBrokenException extends RpcException {
    private static final long serialVersionUID = 1L;

    /** @param message what broke */
    public ChannelBrokenException(String message) {
        super(message);
    }

    /**
     * @param message what broke
     * @param cause   the underlying failure, or {@code null}
     */
    public ChannelBrokenException(String message, Throwable cause) {
        super(message, cause);
    }
}
