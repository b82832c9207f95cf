package dev.netrun.pool;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/** What the process tests need to watch operating-system processes: every wait is bounded. */
final class ChildProcesses {
    /** The bound on waiting for a process to end. */
    static final Duration PROCESS_WAIT = Duration.ofSeconds(15);

    private ChildProcesses() {
    }

    /** @return the pids of every live descendant of this JVM */
    static Set<Long> descendantPids() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).map(ProcessHandle::pid)
                .collect(Collectors.toSet());
    }

    /** @return whether a process with this pid is alive */
    static boolean isAlive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Waits (bounded) until this JVM has no live descendant that is not in {@code before}. */
    static void awaitNoDescendantsBeyond(Set<Long> before) {
        await("no child process left beyond " + before).pollInterval(Duration.ofMillis(20)).atMost(PROCESS_WAIT)
                .untilAsserted(() -> assertThat(descendantPids()).isSubsetOf(before));
    }

    /** Waits (bounded) until none of {@code pids} is alive. */
    static void awaitAllGone(Collection<Long> pids) {
        await("processes " + pids + " to end").pollInterval(Duration.ofMillis(20)).atMost(PROCESS_WAIT)
                .untilAsserted(() -> assertThat(pids).noneMatch(ChildProcesses::isAlive));
    }

    /** Kills whatever of {@code pids} is still alive: clean-up after a failed test. */
    static void killAll(Collection<Long> pids) {
        pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    /**
     * A separate JVM running {@link PoolHost}, with this JVM's {@code java} and class path; its standard output
     * and error are read line by line into a queue, so a test can wait for a line with a bound.
     */
    static final class HostJvm implements AutoCloseable {
        final Process process;
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> seen = new ArrayList<>();

        HostJvm(String... args) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), PoolHost.class.getName()));
            cmd.addAll(List.of(args));
            process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l = r.readLine(); l != null; l = r.readLine()) {
                        lines.add(l);
                    }
                } catch (IOException e) {
                    // the host is gone
                }
            }, "test-host-reader");
            reader.setDaemon(true);
            reader.start();
        }

        /** Waits (bounded) for the next line the host writes, failing with everything it wrote so far. */
        String nextLine() throws InterruptedException {
            String l = lines.poll(PROCESS_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (l == null) {
                fail("the host wrote no further line within " + PROCESS_WAIT + "; it wrote: " + seen);
            }
            seen.add(l);
            return l;
        }

        /** Reads lines (bounded) until one equals {@code last}; returns them all, {@code last} included. */
        List<String> linesUntil(String last) throws InterruptedException {
            List<String> out = new ArrayList<>();
            String l;
            do {
                l = nextLine();
                out.add(l);
            } while (!l.equals(last));
            return out;
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                assertThat(process.waitFor(PROCESS_WAIT.toMillis(), TimeUnit.MILLISECONDS)).as("the host ended").isTrue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
