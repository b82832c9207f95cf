package dev.netrun.pool;

import dev.netrun.rpc.BlockedCall;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.Handshake;
import dev.netrun.rpc.HandshakeException;
import dev.netrun.rpc.StreamChannel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.File;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.netrun.pool.ChildProcesses.awaitAllGone;
import static dev.netrun.pool.ChildProcesses.awaitNoDescendantsBeyond;
import static dev.netrun.pool.ChildProcesses.descendantPids;
import static dev.netrun.pool.ChildProcesses.isAlive;
import static dev.netrun.pool.ChildProcesses.killAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link MultiprocessPool} behaviours that end children or need options of their own, each on a small pool
 * of its own: children that cannot start, crashes, close, the parent's death, strangers on the socket, output
 * options, values the parent cannot decode. Every pool is closed by try-with-resources, and every test that
 * ends processes checks that none is left.
 */
@Tag("slow")
class MultiprocessPoolLifecycleTest {
    static final Duration WAIT = PoolContract.WAIT;

    private static MultiprocessPool.Builder probe() {
        return MultiprocessPool.builder(new ChildProbe());
    }

    // ================================================================ children that cannot start

    @Test
    void aBadJvmOptionMakesStartFailWithWhatTheChildPrintedAndLeavesNoProcess() {
        Set<Long> before = descendantPids();
        try (MultiprocessPool pool = probe().numProcesses(2).jvmOptions(List.of("-XX:+NoSuchOption")).build()) {
            // Several times: such a child dies within milliseconds, racing the pool as it hands over the secret.
            for (int attempt = 0; attempt < 10; attempt++) {
                PoolException e = catchThrowableOfType(PoolException.class, pool::start);

                assertThat(e).as("start %d with a bad JVM option", attempt).isNotNull();
                assertThat(e.getMessage()).as("start %d", attempt)
                        .contains("NoSuchOption"); // the JVM's own complaint, as the child printed it
                assertThat(pool.isRunning()).isFalse();
            }
            awaitNoDescendantsBeyond(before);
        }
    }

    @Test
    void aMissingClassPathMakesStartFailWithWhatTheChildPrintedAndLeavesNoProcess() {
        Set<Long> before = descendantPids();
        try (MultiprocessPool pool = probe().numProcesses(2).classPath("/nonexistent").build()) {
            PoolException e = catchThrowableOfType(PoolException.class, pool::start);

            assertThat(e).as("start with a missing class path").isNotNull();
            assertThat(e.getMessage()).contains(ChildMain.class.getName()); // "Could not find or load main class"
            assertThat(pool.isRunning()).isFalse();
            awaitNoDescendantsBeyond(before);
        }
    }

    @Test
    void aMissingJavaExecutableMakesStartFailWithAPoolException() {
        Set<Long> before = descendantPids();
        try (MultiprocessPool pool = probe().javaExecutable("/nonexistent/bin/java").build()) {
            assertThatThrownBy(pool::start).isInstanceOf(PoolException.class).hasMessageContaining("/nonexistent/bin/java");
            assertThat(pool.isRunning()).isFalse();
            awaitNoDescendantsBeyond(before);
        }
    }

    /** Throws from its constructor in a child JVM (where {@value #FAIL} is set), not in the test's JVM. */
    public static final class FailingConstructorWorker implements WorkerFunction {
        static final String FAIL = "netrun.test.failConstructor";

        public FailingConstructorWorker() {
            if (Boolean.getBoolean(FAIL)) {
                throw new IllegalStateException("this worker refuses to be built here");
            }
        }

        @Override
        public void run(dev.netrun.rpc.Channel channel, int workerId) {
        }
    }

    @Test
    void aWorkerThatCannotBeBuiltInTheChildMakesStartFailSayingWhyAndLeavesNoProcess() {
        Set<Long> before = descendantPids();
        try (MultiprocessPool pool = MultiprocessPool.builder(new FailingConstructorWorker()).numProcesses(2)
                .jvmOptions(List.of("-D" + FailingConstructorWorker.FAIL + "=true")).build()) {
            PoolException e = catchThrowableOfType(PoolException.class, pool::start);

            assertThat(e).as("start with a worker whose constructor throws").isNotNull();
            assertThat(e.getMessage()).contains("this worker refuses to be built here");
            assertThat(pool.isRunning()).isFalse();
            awaitNoDescendantsBeyond(before);
        }
    }

    @Test
    void aChildThatIsNotReadyWithinTheStartTimeoutMakesStartFailAndIsKilled(@TempDir Path gate) {
        Set<Long> before = descendantPids();
        try (MultiprocessPool pool = MultiprocessPool.builder(new GatedWorker()) // the gate never opens
                .jvmOptions(List.of("-D" + GatedWorker.GATE + "=" + gate))
                .startTimeout(Duration.ofMillis(500)).build()) {
            assertThatThrownBy(pool::start).isInstanceOf(PoolException.class).hasMessageContaining("500 ms");
            assertThat(pool.isRunning()).isFalse();
            awaitNoDescendantsBeyond(before);
        }
    }

    @Test
    void aPoolWhoseStartFailedCanBeStartedAgainOnceTheCauseIsGone(@TempDir Path gate) throws IOException {
        Files.createFile(gate.resolve("refuse"));
        try (MultiprocessPool pool = MultiprocessPool.builder(new GatedWorker())
                .jvmOptions(List.of("-D" + GatedWorker.GATE + "=" + gate)).build()) {
            assertThatThrownBy(pool::start).isInstanceOf(PoolException.class)
                    .hasMessageContaining("the gate refuses this child");

            Files.delete(gate.resolve("refuse"));
            Files.createFile(gate.resolve("open"));
            pool.start();

            pool.send(0, "whoami", null);
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "id", 0));
        }
    }

    @Test
    void flushStdoutOfAChildThatDoesNotAnswerThrowsWorkerTimeoutAndThePoolGoesOn() throws Exception {
        try (MultiprocessPool pool = probe().numProcesses(2).build()) {
            pool.start();
            long pid = pool.pid(1);
            signal("STOP", pid); // frozen: alive, but answers nothing
            try {
                // kill(1) returns once the signal is sent; wait for the process to be stopped (state T in /proc)
                await("process " + pid + " to be stopped").pollInterval(Duration.ofMillis(5)).atMost(WAIT)
                        .untilAsserted(() -> assertThat(processState(pid)).isEqualTo('T'));
                assertThatThrownBy(() -> pool.flushStdout(1, Duration.ofMillis(200)))
                        .isInstanceOf(WorkerTimeoutException.class)
                        .isInstanceOf(PoolException.class)
                        .hasMessageContaining("200 ms");
                assertThatThrownBy(() -> pool.flushAllStdout(Duration.ofMillis(200)))
                        .isInstanceOf(WorkerTimeoutException.class);
                assertThat(pool.flushStdout(0, WAIT)).isEmpty();
            } finally {
                signal("CONT", pid);
            }
            String line = "thawed " + UUID.randomUUID();
            pool.send(1, "out", line);
            assertThat(pool.recv(WAIT).data()).isEqualTo(line);
            assertThat(pool.flushStdout(1, WAIT)).extracting(OutputEntry::text).containsExactly(line + "\n");
        }
    }

    /** The state letter of a process from {@code /proc/<pid>/stat} (R, S, T, Z...). */
    private static char processState(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2); // after "pid (comm) "
    }

    /** Sends a signal with the {@code kill} command (the JDK has no SIGSTOP). */
    private static void signal(String name, long pid) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)).isTrue();
        assertThat(kill.exitValue()).as("kill -%s %d", name, pid).isZero();
    }

    // ================================================================ crashes

    @Test
    void aChildThatExitsIsReportedForEachOfItsWorkersWithItsExitCodeAndTheOtherProcessGoesOn() {
        try (MultiprocessPool pool = probe().numProcesses(2).threadsPerProcess(2).build()) {
            pool.start();
            long pid = pool.pid(0);
            String lastWords = "about to exit " + UUID.randomUUID();
            pool.send(1, "out", lastWords);
            assertThat(pool.recv(WAIT).data()).isEqualTo(lastWords);

            pool.send(0, "exit", 7);

            Set<Integer> crashed = new HashSet<>();
            for (int k = 0; k < 2; k++) {
                WorkerCrashedException e = catchThrowableOfType(WorkerCrashedException.class, () -> pool.recv(WAIT));
                assertThat(e).as("crash report %d", k).isNotNull();
                assertThat(e.exitCode()).contains(7);
                assertThat(e.details()).containsEntry(WorkerCrashedException.EXIT_CODE, 7)
                        .containsKey(WorkerCrashedException.REASON);
                assertThat(e.getMessage()).contains("7");
                crashed.add(e.workerId());
            }
            assertThat(crashed).as("both workers of process 0").containsExactlyInAnyOrder(0, 1);
            assertThat(isAlive(pid)).isFalse();

            assertThatThrownBy(() -> pool.send(1, "echo", "anyone?")).isInstanceOf(WorkerCrashedException.class);
            for (int w = 2; w < 4; w++) {
                pool.send(w, "echo", w);
                assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(w, "echo", w));
            }
            assertThat(pool.tryRecv()).as("each crash reported once").isEmpty();
            assertThat(pool.flushStdout(0, WAIT)).as("what the dead child printed can still be flushed")
                    .extracting(OutputEntry::text).contains(lastWords + "\n");
        }
    }

    @Test
    void aChildKilledWithSigkillIsReportedAsCrashedAndLeaksNoThreadsOnceClosed() {
        long threadsBefore = PoolContract.liveNetrunThreads();
        Set<Long> before = descendantPids();
        MultiprocessPool pool = probe().numProcesses(2).build();
        try {
            pool.start();

            ProcessHandle.of(pool.pid(1)).orElseThrow().destroyForcibly();

            WorkerCrashedException e = catchThrowableOfType(WorkerCrashedException.class, () -> pool.recv(WAIT));
            assertThat(e).as("crash report").isNotNull();
            assertThat(e.workerId()).isEqualTo(1);
            assertThat(e.exitCode()).as("the exit status of a killed process").hasValueSatisfying(
                    code -> assertThat(code).isNotZero());
            pool.send(0, "echo", "alive");
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "alive"));

            long killed = pool.pid(1);
            pool.close();
            pool.start(); // a pool that lost a child starts again whole
            assertThat(pool.pid(1)).isNotEqualTo(killed);
            for (int w = 0; w < 2; w++) {
                pool.send(w, "echo", w);
                assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(w, "echo", w));
            }
        } finally {
            pool.close();
        }
        awaitNoDescendantsBeyond(before);
        await("netrun- threads back to their count before the test").pollInterval(Duration.ofMillis(20))
                .atMost(WAIT).until(() -> PoolContract.liveNetrunThreads() <= threadsBefore);
    }

    @Test
    void aWorkerWhoseAnswerIsOverTheFrameLimitFailsWithASizeErrorInsteadOfHanging() {
        try (MultiprocessPool pool = probe().threadsPerProcess(2).build()) {
            pool.start();

            pool.send(0, "bytes", StreamChannel.DEFAULT_MAX_FRAME_SIZE);

            WorkerException e = catchThrowableOfType(WorkerException.class, () -> pool.recv(WAIT));
            assertThat(e).as("the failure of the worker whose answer was too big").isNotNull();
            assertThat(e.workerId()).isZero();
            assertThat(e.remoteClassName()).isEqualTo(IllegalArgumentException.class.getName());
            assertThat(e.remoteMessage()).contains("exceeds the limit");
            pool.send(1, "bytes", 1 << 20);
            assertThat((byte[]) pool.recv(WAIT).data()).hasSize(1 << 20);
        }
    }

    // ================================================================ close

    @Test
    void closeEndsEveryChild() {
        Set<Long> before = descendantPids();
        List<Long> pids = new ArrayList<>();
        MultiprocessPool pool = probe().numProcesses(2).threadsPerProcess(2).build();
        try {
            pool.start();
            for (int p = 0; p < 2; p++) {
                pids.add(pool.pid(p));
            }
            assertThat(pids).allMatch(ChildProcesses::isAlive);

            assertTimeoutPreemptively(WAIT, () -> pool.close());

            assertThat(pids).as("children ended by the time close returned").noneMatch(ChildProcesses::isAlive);
            awaitNoDescendantsBeyond(before);
        } finally {
            pool.close();
            killAll(pids);
        }
    }

    @Test
    void closeWithATimeoutKillsAChildThatWillNotLeave() {
        Set<Long> before = descendantPids();
        List<Long> pids = new ArrayList<>();
        try (MultiprocessPool pool = probe().build()) {
            pool.start();
            pids.add(pool.pid(0));
            pool.send(0, "deaf", null);
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "deaf", 0));

            assertTimeoutPreemptively(WAIT, () -> pool.close(Duration.ofMillis(200)));

            assertThat(pool.isRunning()).isFalse();
            awaitAllGone(pids);
            awaitNoDescendantsBeyond(before);
        } finally {
            killAll(pids);
        }
    }

    @Test
    void aLinePrintedJustBeforeCloseReachesOnOutputByTheTimeCloseReturns() {
        List<OutputEntry> delivered = new CopyOnWriteArrayList<>();
        String line = "last words " + UUID.randomUUID();
        String partial = "no line end " + UUID.randomUUID();
        MultiprocessPool pool = probe()
                .outputFlushInterval(Duration.ofHours(1)) // only the final flush can deliver
                .onOutput((idx, entries) -> delivered.addAll(entries))
                .build();
        try (pool) {
            pool.start();
            pool.send(0, "out", line);
            assertThat(pool.recv(WAIT).data()).isEqualTo(line);
            pool.send(0, "outPartial", partial);
            assertThat(pool.recv(WAIT).data()).isEqualTo(partial);
            assertThat(delivered).isEmpty();
        }

        assertThat(delivered).extracting(OutputEntry::text).containsExactly(line + "\n", partial);
        assertThat(delivered).allMatch(OutputEntry::isStdout);
    }

    // ================================================================ output options

    @Test
    void withBufferOutputFalseFlushStdoutKeepsNothingButOnOutputStillGetsTheLines() {
        List<Map.Entry<Integer, OutputEntry>> delivered = new CopyOnWriteArrayList<>();
        String line = "unbuffered " + UUID.randomUUID();
        try (MultiprocessPool pool = probe()
                .bufferOutput(false)
                .outputFlushInterval(Duration.ofMillis(20))
                .onOutput((idx, entries) -> entries.forEach(e -> delivered.add(Map.entry(idx, e))))
                .build()) {
            pool.start();
            pool.send(0, "out", line);
            assertThat(pool.recv(WAIT).data()).isEqualTo(line);

            assertThat(pool.flushStdout(0, WAIT)).isEmpty();
            await("the line to reach onOutput").pollInterval(Duration.ofMillis(10)).atMost(WAIT)
                    .untilAsserted(() -> assertThat(delivered).extracting(d -> d.getValue().text()).contains(line + "\n"));
            assertThat(delivered).allMatch(d -> d.getKey() == 0);
            assertThat(pool.flushAllStdout(WAIT)).containsExactly(Map.entry(0, List.of()));
        }
    }

    @Test
    void withRedirectOutputFalseTheOutputGoesToTheParentsConsoleAndSilentOutputNowhere() throws Exception {
        // In a JVM of its own: this one's console is the test runner's.
        String token = UUID.randomUUID().toString();
        try (ChildProcesses.HostJvm host = new ChildProcesses.HostJvm("console", token)) {
            List<String> lines = host.linesUntil("done");

            assertThat(lines).contains(token + "-console");
            assertThat(lines.subList(lines.indexOf(token + "-console"), lines.size()))
                    .as("the console line came before flushStdout returned, and flushStdout kept nothing")
                    .contains("kept 0");
            assertThat(lines).as("bufferOutput(false) without onOutput: the line goes nowhere")
                    .doesNotContain(token + "-silent")
                    .containsSubsequence("kept 0", "kept 0", "done");
            assertThat(host.process.waitFor(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)).isTrue();
            assertThat(host.process.exitValue()).isZero();
        }
    }

    // ================================================================ the parent's death

    @Test
    void childrenEndByThemselvesWhenTheirParentJvmIsKilled() throws Exception {
        List<Long> children = new ArrayList<>();
        try (ChildProcesses.HostJvm host = new ChildProcesses.HostJvm("orphan")) {
            for (String l = host.nextLine(); !l.equals("ready"); l = host.nextLine()) {
                if (l.startsWith("child ")) {
                    children.add(Long.parseLong(l.substring("child ".length())));
                }
            }
            assertThat(children).hasSize(2).allMatch(ChildProcesses::isAlive);

            host.process.destroyForcibly(); // kill -9: the host's pool gets no chance to close anything
            await("the host to die").atMost(WAIT).until(() -> !host.process.isAlive());

            awaitAllGone(children);
        } finally {
            killAll(children);
        }
    }

    // ================================================================ strangers and undecodable values

    @Test
    void aStrangerOnTheSocketIsRefusedAndThePoolStartsAndWorks(@TempDir Path gate) throws Exception {
        try (MultiprocessPool pool = MultiprocessPool.builder(new GatedWorker()).threadsPerProcess(2)
                .jvmOptions(List.of("-D" + GatedWorker.GATE + "=" + gate)).build()) {
            BlockedCall<Void> starting = BlockedCall.start("pool-start", () -> {
                pool.start();
                return null;
            });
            Path socketFile = gate.resolve("socket");
            await("the child to reach the gate").pollInterval(Duration.ofMillis(10)).atMost(WAIT)
                    .until(() -> Files.exists(socketFile));
            UnixDomainSocketAddress socket = UnixDomainSocketAddress.of(Files.readString(socketFile));

            // a silent stranger, holding its connection open while the child connects its workers
            try (SocketChannel silent = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                silent.connect(socket);
                // a stranger with a secret of its own
                try (SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    s.connect(socket);
                    assertThatThrownBy(() -> Handshake.connect(s, Handshake.newSecret(), WAIT))
                            .isInstanceOf(HandshakeException.class).hasMessageContaining("refused");
                }
                // a stranger speaking another protocol
                try (SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    s.connect(socket);
                    s.write(ByteBuffer.wrap("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                    assertThat(BlockedCall.start("stranger-read", () -> readUntilClosed(s)).get())
                            .as("the pool closes the stranger's connection").isTrue();
                }

                Files.createFile(gate.resolve("open"));
                starting.get();
            } finally {
                if (!Files.exists(gate.resolve("open"))) {
                    Files.createFile(gate.resolve("open")); // let start() end, so close() does not wait for it
                }
            }

            assertThat(pool.isRunning()).isTrue();
            assertThat(Files.exists(socket.getPath()))
                    .as("the socket is removed once every child is connected").isFalse();
            for (int w = 0; w < pool.numWorkers(); w++) {
                pool.send(w, "whoami", null);
                assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(w, "id", w));
            }
            assertThat(pool.tryRecv()).isEmpty();
        }
    }

    /** Reads until the peer closes the connection (an end of stream or a reset); returns {@code true} then. */
    private static boolean readUntilClosed(SocketChannel s) {
        ByteBuffer b = ByteBuffer.allocate(64);
        try {
            while (s.read(b) >= 0) {
                b.clear();
            }
        } catch (IOException e) {
            // reset: the peer closed with our bytes unread
        }
        return true;
    }

    @Test
    void aValueTheParentCannotDecodeArrivesAsACodecExceptionNamingItsClassAndThePoolGoesOn(@TempDir Path dir)
            throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assumeTrue(javac != null, "needs a JDK's compiler to make a class that only the child can load");
        String name = "dev.netrun.pool.childonly.ChildOnlyValue";
        Path source = dir.resolve("src/dev/netrun/pool/childonly/ChildOnlyValue.java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, "package dev.netrun.pool.childonly;\n"
                + "public class ChildOnlyValue implements java.io.Serializable {\n"
                + "    private static final long serialVersionUID = 1L;\n"
                + "}\n");
        Path classes = dir.resolve("classes");
        assertThat(javac.run(null, null, null, "-proc:none", "-d", classes.toString(), source.toString())).isZero();
        assertThatThrownBy(() -> Class.forName(name)).isInstanceOf(ClassNotFoundException.class);

        try (MultiprocessPool pool = probe().threadsPerProcess(2)
                .classPath(System.getProperty("java.class.path") + File.pathSeparator + classes).build()) {
            pool.start();

            pool.send(0, "new", name);

            WorkerMessage m = pool.recv(WAIT);
            assertThat(m.workerId()).isZero();
            assertThat(m.key()).isEqualTo("new");
            assertThat(m.data()).isInstanceOfSatisfying(CodecException.class,
                    e -> assertThat(e).hasMessageContaining(name));
            for (int w = 0; w < 2; w++) {
                pool.send(w, "echo", "after");
                assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(w, "echo", "after"));
            }
        }
    }

    // ================================================================ serializable functions

    /** A serializable worker function with state: sent to the child as it is, not rebuilt from its class. */
    record Greeter(String greeting) implements WorkerFunction, java.io.Serializable {
        @Override
        public void run(dev.netrun.rpc.Channel channel, int workerId) {
            while (true) {
                channel.send("greeting", greeting + " " + channel.recv().data());
            }
        }
    }

    @Test
    void aSerializableFunctionRunsInTheChildWithItsState() {
        String greeting = "hello from " + UUID.randomUUID();
        try (MultiprocessPool pool = MultiprocessPool.builder(new Greeter(greeting)).numProcesses(2).build()) {
            pool.start();
            for (int w = 0; w < 2; w++) {
                pool.send(w, "greet", "worker " + w);
                assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(w, "greeting", greeting + " worker " + w));
            }
        }
    }
}
