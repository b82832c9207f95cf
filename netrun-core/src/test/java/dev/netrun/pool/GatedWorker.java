package dev.netrun.pool;

import dev.netrun.rpc.Channel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.concurrent.TimeUnit;
import java.util.List;

/**
 * A {@link ScriptedWorker} whose construction in a child JVM waits at a gate, so a test can act while the
 * pool is starting: while the child builds its worker, the pool's socket is still there and the pool's
 * {@code start()} has not returned.
 *
 * <p>With the system property {@value #GATE} set to a directory (pass it with {@code jvmOptions}), the
 * constructor writes the pool's socket path (the child's first program argument) to {@code <dir>/socket},
 * throws if {@code <dir>/refuse} exists (the child cannot start), else waits until {@code <dir>/open} exists
 * (at most {@value #MAX_WAIT_MILLIS} ms, watching the directory: this runs in the child, not in the test). Without the
 * property (in the test's own JVM) it does nothing.
 */
public final class GatedWorker implements WorkerFunction {
    /** The system property naming the gate directory. */
    public static final String GATE = "netrun.test.gate";
    static final long MAX_WAIT_MILLIS = 30_000;

    private final ScriptedWorker delegate = new ScriptedWorker();

    /** Waits at the gate when {@value #GATE} is set. */
    public GatedWorker() {
        String gate = System.getProperty(GATE);
        if (gate == null) {
            return;
        }
        Path dir = Path.of(gate);
        try {
            Path tmp = Files.writeString(dir.resolve("socket.tmp"), socketPath());
            Files.move(tmp, dir.resolve("socket"), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (Files.exists(dir.resolve("refuse"))) {
            throw new IllegalStateException("the gate refuses this child");
        }
        // Wait for the gate file on a WatchService (an event, not a poll), at most MAX_WAIT_MILLIS.
        long deadline = System.nanoTime() + MAX_WAIT_MILLIS * 1_000_000L;
        try (WatchService watch = dir.getFileSystem().newWatchService()) {
            dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
            while (!Files.exists(dir.resolve("open"))) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                WatchKey key = watch.poll(left, TimeUnit.NANOSECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The argument after the main class on this JVM's command line: the pool's socket. */
    private static String socketPath() {
        List<String> args = List.of(ProcessHandle.current().info().arguments().orElseThrow());
        return args.get(args.indexOf(ChildMain.class.getName()) + 1);
    }

    @Override
    public void run(Channel channel, int workerId) throws Exception {
        delegate.run(channel, workerId);
    }
}
