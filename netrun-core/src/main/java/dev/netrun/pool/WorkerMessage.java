package dev.netrun.pool;

import java.util.Objects;

/**
 * A message a worker sent to its pool.
 *
 * @param workerId the id of the sending worker
 * @param key      the message key, never {@code null}
 * @param data     the payload, possibly {@code null}
 */
public record WorkerMessage(int workerId, String key, Object data) {
    /** @throws NullPointerException if {@code key} is {@code null} */
    public WorkerMessage {
        Objects.requireNonNull(key, "key");
    }
}
