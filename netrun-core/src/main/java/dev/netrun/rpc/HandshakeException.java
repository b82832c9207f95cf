package dev.netrun.rpc;

/**
 * A connection was refused during the {@link Handshake}: the peer sent a wrong secret, bytes that are not a
 * handshake, or nothing in time, or refused our secret. The socket has been closed. Unchecked.
 */
public class HandshakeException extends RpcException {
    private static final long serialVersionUID = 1L;

    /** @param message why the connection was refused */
    public HandshakeException(String message) {
        super(message);
    }

    /**
     * @param message why the connection was refused
     * @param cause   the underlying failure, or {@code null}
     */
    public HandshakeException(String message, Throwable cause) {
        super(message, cause);
    }
}
