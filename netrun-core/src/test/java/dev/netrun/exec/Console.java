package dev.netrun.exec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Replaces {@code System.out} with a stream the test can read, and puts the previous one back on
 * {@link #close()}. Install it before starting managers, so that it is the "real console" their capture
 * passes through to and restores.
 */
final class Console implements AutoCloseable {
    private final PrintStream previous;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private Console() {
        previous = System.out;
        System.setOut(stream);
    }

    static Console install() {
        return new Console();
    }

    /** @return the stream installed as {@code System.out} */
    PrintStream stream() {
        return stream;
    }

    /** @return everything written to this console so far */
    String text() {
        stream.flush();
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        System.setOut(previous);
    }
}
