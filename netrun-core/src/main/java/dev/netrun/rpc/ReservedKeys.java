package dev.netrun.rpc;

/**
 * Message keys reserved for netrun's layers. They follow the pattern {@code __layer:name}, so a user key
 * (which should not begin with {@code "__"}) never collides with a protocol key.
 */
public final class ReservedKeys {
    /** The prefix shared by every reserved key. */
    public static final String PREFIX = "__";
    /** The shutdown signal a channel end sends when it is closed. */
    public static final String RPC_SHUTDOWN = "__rpc:shutdown";

    private ReservedKeys() {
    }

    /**
     * Returns whether {@code key} is reserved for netrun's own layers.
     *
     * @param key a message key
     * @return {@code true} if the key begins with {@link #PREFIX}
     */
    public static boolean isReserved(String key) {
        return key.startsWith(PREFIX);
    }
}
