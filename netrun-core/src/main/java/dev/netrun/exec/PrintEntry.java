package dev.netrun.exec;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;

/**
 * One line a job printed to {@code System.out}, with the UTC instant it was printed.
 *
 * @param timestamp when the line was completed, never {@code null}
 * @param text      the line, ending in {@code "\n"} (the last line of a job may lack it if the job printed
 *                  no final newline)
 */
public record PrintEntry(Instant timestamp, String text) implements Serializable {
    /** @throws NullPointerException if an argument is {@code null} */
    public PrintEntry {
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(text, "text");
    }
}
