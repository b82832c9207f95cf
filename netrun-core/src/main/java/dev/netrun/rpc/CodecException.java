package dev.netrun.rpc;

/**
 * A value could not be encoded (it is not serializable by the {@link Codec}), or bytes could not be decoded
 * (they are malformed, name a class that is not allowed or not found, or exceed a limit). Unchecked.
 *
 * <p>On a {@link StreamChannel} a {@code CodecException} concerns one message only: the sender gets it from
 * {@code send} and nothing is sent; the receiver gets it from {@code recv} in the place of the message whose
 * data could not be decoded. Either way the channel stays usable.
 */
public class CodecException extends RpcException {
    private static final long serialVersionUID = 1L;

    /** @param message what could not be encoded or decoded, and why */
    public CodecException(String message) {
        super(message);
    }

    /**
     * @param message what could not be encoded or decoded, and why
     * @param cause   the underlying failure, or {@code null}
     */
    public CodecException(String message, Throwable cause) {
        super(message, cause);
    }
}
