package dev.netrun.rpc;

/**
 * The channel was closed in an orderly way: by this end ({@link Channel#close()}), or by the peer, whose
 * shutdown signal arrived after every message it had sent before closing.
 */
public class ChannelClosedException extends RpcException {
    private static final long serialVersionUID = 1L;

    /** @param message what was closed */
    public ChannelClosedException(String message) {
        super(message);
    }
}
