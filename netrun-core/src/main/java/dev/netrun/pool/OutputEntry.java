package dev.netrun.pool;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;

/**
 * A piece of output a child process wrote to its standard output or error stream.
 *
 * @param timestamp when it was read, UTC
 * @param isStdout  {@code true} for standard output, {@code false} for standard error
 * @param text      what was written (usually one line, ending in {@code "\n"})
 */
public record OutputEntry(Instant timestamp, boolean isStdout, String text) implements Serializable {
    /** @throws NullPointerException if {@code timestamp} or {@code text} is {@code null} */
    public OutputEntry {
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(text, "text");
    }
}
