package dev.netrun.rpc;

import java.util.Objects;

/**
 * Two connected channel ends, as returned by {@link Channels#pair()}: what one end sends, the other
 * receives.
 *
 * @param left  one end
 * @param right the other end
 */
public record ChannelPair(Channel left, Channel right) implements AutoCloseable {
    /** @throws NullPointerException if either end is {@code null} */
    public ChannelPair {
        Objects.requireNonNull(left, "left");
        Objects.requireNonNull(right, "right");
    }

    /** Closes both ends. Idempotent. */
    @Override
    public void close() {
        left.close();
        right.close();
    }
}
