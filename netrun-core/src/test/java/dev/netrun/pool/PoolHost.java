package dev.netrun.pool;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * A JVM of its own that hosts a {@link MultiprocessPool}, for tests that need to watch a pool from outside
 * its parent JVM. Started by the tests with this JVM's {@code java} and class path; writes what the test
 * reads, one fact a line, on standard output.
 *
 * <ul>
 *   <li>{@code orphan}: starts a pool of two children, prints {@code child <pid>} for each, then
 *       {@code ready}, then blocks until its standard input ends (the test kills it first, with
 *       {@code kill -9}, to orphan the children).</li>
 *   <li>{@code console <token>}: runs a pool with {@code redirectOutput(false)} whose worker prints
 *       {@code <token>-console}, prints {@code kept <n>} with the number of entries {@code flushStdout} then
 *       gave; then a pool with {@code bufferOutput(false)} and no {@code onOutput} whose worker prints
 *       {@code <token>-silent}, and prints {@code kept <n>} again; then {@code done}.</li>
 * </ul>
 */
public final class PoolHost {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private PoolHost() {
    }

    /** @param args the mode and its arguments, as above */
    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "orphan" -> orphan();
            case "console" -> console(args[1]);
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void orphan() throws IOException {
        try (MultiprocessPool pool = MultiprocessPool.builder(new ChildProbe()).numProcesses(2).build()) {
            pool.start();
            for (int p = 0; p < pool.numProcesses(); p++) {
                System.out.println("child " + pool.pid(p));
            }
            System.out.println("ready");
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the end of standard input, or for kill -9
            }
        }
    }

    private static void console(String token) {
        printAndCount(MultiprocessPool.builder(new ChildProbe()).redirectOutput(false), token + "-console");
        printAndCount(MultiprocessPool.builder(new ChildProbe()).bufferOutput(false), token + "-silent");
        System.out.println("done");
    }

    private static void printAndCount(MultiprocessPool.Builder builder, String line) {
        try (MultiprocessPool pool = builder.build()) {
            pool.start();
            pool.send(0, "out", line);
            WorkerMessage m = pool.recv(WAIT);
            if (!m.equals(new WorkerMessage(0, "printed", line))) {
                throw new IllegalStateException("unexpected answer " + m);
            }
            List<OutputEntry> kept = pool.flushStdout(0, WAIT);
            System.out.println("kept " + kept.size());
        }
    }
}
