package dev.netrun.rpc;

import java.util.Objects;

/**
 * One message on a {@link Channel}: a routing {@code key} and an arbitrary {@code data} payload.
 *
 * <p>The key is never {@code null}; the data may be. Keys beginning with {@code "__"} are reserved for
 * netrun's own layers (see {@link ReservedKeys}).
 *
 * @param key  the message key, never {@code null}
 * @param data the payload, possibly {@code null}
 */
public record Message(String key, Object data) {
    /**
     * Creates a message.
     *
     * @throws NullPointerException if {@code key} is {@code null}
     */
    public Message {
        Objects.requireNonNull(key, "key");
    }
}
