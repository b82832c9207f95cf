package dev.netrun.rpc;

/**
 * A receive with a timeout saw no message in time. Nothing was consumed; the channel (or pool) stays usable.
 */
public class RecvTimeoutException extends RpcException {
    private static final long serialVersionUID = 1L;

    /** @param message what timed out */
    public RecvTimeoutException(String message) {
        super(message);
    }
}
