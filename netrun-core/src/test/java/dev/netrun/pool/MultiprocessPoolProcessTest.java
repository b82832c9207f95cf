package dev.netrun.pool;

import dev.netrun.rpc.Channel;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.RecvTimeoutException;
import dev.netrun.rpc.StreamChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Named.named;

/**
 * What is particular to {@link MultiprocessPool}, on one pool of two child JVMs with two worker threads each,
 * started once for the whole class: creation and defaults, the flat worker id mapping, values crossing the
 * process boundary, and the children's output. Every test leaves the shared pool as it found it (running,
 * its output flushed); the behaviours that end children or need other options are in
 * {@link MultiprocessPoolLifecycleTest}.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultiprocessPoolProcessTest {
    static final Duration WAIT = PoolContract.WAIT;
    static final int PROCESSES = 2;
    static final int THREADS = 2;

    /** What the shared pool handed to {@code onOutput}, in order. */
    record Delivered(int processIdx, List<OutputEntry> entries, Thread thread) {
    }

    private final LinkedBlockingQueue<Delivered> delivered = new LinkedBlockingQueue<>();
    private MultiprocessPool pool;

    @BeforeAll
    void startTheSharedPool() {
        pool = MultiprocessPool.builder(new ChildProbe())
                .numProcesses(PROCESSES)
                .threadsPerProcess(THREADS)
                .outputFlushInterval(Duration.ofMillis(20))
                .onOutput((idx, entries) -> delivered.add(new Delivered(idx, entries, Thread.currentThread())))
                .build();
        pool.start();
    }

    @AfterAll
    void closeTheSharedPool() {
        if (pool != null) {
            pool.close();
        }
    }

    /** Each test starts from a quiet pool: nothing to receive, no output kept or waiting to be delivered. */
    @BeforeEach
    void quietThePool() {
        assertThat(pool.isRunning()).as("the shared pool is running").isTrue();
        assertThat(pool.tryRecv()).as("nothing left to receive by an earlier test").isEmpty();
        pool.flushAllStdout(WAIT);
        delivered.clear();
    }

    // ================================================================ creation and defaults

    @Test
    void theConstructorSetsProcessesAndThreadsAndNumWorkersIsTheirProduct() {
        MultiprocessPool p = new MultiprocessPool(new ChildProbe(), 3, 2);
        assertThat(p.numProcesses()).isEqualTo(3);
        assertThat(p.threadsPerProcess()).isEqualTo(2);
        assertThat(p.numWorkers()).isEqualTo(6);
        assertThat(p.isRunning()).isFalse();
    }

    @Test
    void theBuilderDefaultsToOneProcessOfOneThread() {
        MultiprocessPool p = MultiprocessPool.builder(new ChildProbe()).build();
        assertThat(p.numProcesses()).isEqualTo(1);
        assertThat(p.threadsPerProcess()).isEqualTo(1);
        assertThat(p.numWorkers()).isEqualTo(1);
    }

    static Stream<Arguments> invalidSizes() {
        return Stream.of(
                Arguments.of(0, 1, "0"),
                Arguments.of(-1, 1, "-1"),
                Arguments.of(1, 0, "0"),
                Arguments.of(2, -3, "-3"),
                Arguments.of(Integer.MIN_VALUE, 1, String.valueOf(Integer.MIN_VALUE)),
                Arguments.of(1 << 16, 1 << 16, "65536"));
    }

    @ParameterizedTest(name = "{0} processes x {1} threads")
    @MethodSource("invalidSizes")
    void invalidSizesAreRejectedWithIllegalArgumentNamingTheValue(int processes, int threads, String named) {
        assertThatThrownBy(() -> new MultiprocessPool(new ChildProbe(), processes, threads))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(named);
        assertThatThrownBy(() -> MultiprocessPool.builder(new ChildProbe())
                .numProcesses(processes).threadsPerProcess(threads).build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aNullFunctionIsRejected() {
        assertThatThrownBy(() -> MultiprocessPool.builder(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new MultiprocessPool(null, 1, 1)).isInstanceOf(NullPointerException.class);
    }

    /** Not public: a child cannot build it by its constructor, and it is not serializable. */
    static final class HiddenWorker implements WorkerFunction {
        @Override
        public void run(Channel channel, int workerId) {
        }
    }

    /** Public, but without a no-arg constructor, and not serializable. */
    public static final class WorkerWithArguments implements WorkerFunction {
        public WorkerWithArguments(String ignored) {
        }

        @Override
        public void run(Channel channel, int workerId) {
        }
    }

    static Stream<Arguments> functionsAChildCannotBuild() {
        WorkerFunction lambda = (channel, workerId) -> channel.recv();
        WorkerFunction anonymous = new WorkerFunction() {
            @Override
            public void run(Channel channel, int workerId) {
            }
        };
        return Stream.of(
                Arguments.of(named("a lambda", lambda)),
                Arguments.of(named("an anonymous class", anonymous)),
                Arguments.of(named("a class that is not public", new HiddenWorker())),
                Arguments.of(named("a public class without a no-arg constructor", new WorkerWithArguments("x"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("functionsAChildCannotBuild")
    void aFunctionThatAChildCannotBuildIsRejectedAtConstruction(WorkerFunction fn) {
        assertThatThrownBy(() -> MultiprocessPool.builder(fn).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(fn.getClass().getName());
        assertThatThrownBy(() -> new MultiprocessPool(fn, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSerializableFunctionThatCarriesANonSerializableValueIsRejectedAtConstruction() {
        Object notSerializable = new Object();
        WorkerFunction fn = (WorkerFunction & Serializable) (channel, workerId) -> channel.send("x", notSerializable);
        assertThatThrownBy(() -> MultiprocessPool.builder(fn).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("java.lang.Object");
    }

    @Test
    void builderOptionsAreCheckedWhenSet() {
        MultiprocessPool.Builder b = MultiprocessPool.builder(new ChildProbe());
        assertThatThrownBy(() -> b.outputFlushInterval(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.outputFlushInterval(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.startTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.jvmOptions(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> b.jvmOptions(java.util.Arrays.asList("-Xmx64m", null)))
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    void pidAndFlushNeedARunningPool() {
        MultiprocessPool stopped = MultiprocessPool.builder(new ChildProbe()).build();
        assertThatThrownBy(() -> stopped.pid(0)).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(() -> stopped.flushStdout(0, WAIT)).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(() -> stopped.flushAllStdout(WAIT)).isInstanceOf(PoolNotStartedException.class);
    }

    // ================================================================ worker ids and processes

    @Test
    void workerIdsAreFlatWorkerWRunsInProcessWDividedByThreadsPerProcess() {
        assertThat(pool.numWorkers()).isEqualTo(PROCESSES * THREADS);
        for (int w = 0; w < pool.numWorkers(); w++) {
            pool.send(w, "pid", null);
            WorkerMessage m = pool.recv(WAIT);
            assertThat(m.workerId()).isEqualTo(w);
            assertThat(m.data()).as("pid of the process running worker %d", w).isEqualTo(pool.pid(w / THREADS));
        }
    }

    @Test
    void eachProcessIsADistinctLiveChildOfThisJvm() {
        Set<Long> pids = new HashSet<>();
        for (int p = 0; p < PROCESSES; p++) {
            long pid = pool.pid(p);
            assertThat(pids.add(pid)).as("pid of process %d is distinct", p).isTrue();
            ProcessHandle h = ProcessHandle.of(pid).orElseThrow();
            assertThat(h.isAlive()).isTrue();
            assertThat(h.parent().map(ProcessHandle::pid)).contains(ProcessHandle.current().pid());
        }
    }

    @Test
    void childrenRunThisJvmsJavaAndClassPathAndSkipTheSearchForASelectorProvider() {
        List<String> args = List.of(ProcessHandle.of(pool.pid(0)).orElseThrow().info().arguments().orElseThrow());
        assertThat(ProcessHandle.of(pool.pid(0)).orElseThrow().info().command())
                .contains(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        assertThat(args).containsSequence("-cp", System.getProperty("java.class.path"));
        // this JVM's provider is the JDK's own, so the children are told its name instead of searching for one
        assertThat(args).contains("-Djava.nio.channels.spi.SelectorProvider="
                + java.nio.channels.spi.SelectorProvider.provider().getClass().getName());
    }

    @Test
    void theUsersOwnSelectorProviderOptionComesAfterOursAndWins() {
        String ours = "-Djava.nio.channels.spi.SelectorProvider=" + java.nio.channels.spi.SelectorProvider.provider()
                .getClass().getName();
        String own = "-Djava.nio.channels.spi.SelectorProvider=sun.nio.ch.PollSelectorProvider"; // also in java.base
        assumeThat(ours).as("this JVM's provider is not the poll one").isNotEqualTo(own);
        try (MultiprocessPool p = MultiprocessPool.builder(new ChildProbe()).jvmOptions(List.of(own)).build()) {
            p.start(); // the child runs on the user's provider
            List<String> args = List.of(ProcessHandle.of(p.pid(0)).orElseThrow().info().arguments().orElseThrow());
            assertThat(args.indexOf(own)).isGreaterThan(args.indexOf(ours)).isPositive(); // the later -D wins
            p.send(0, "echo", "on poll");
            assertThat(p.recv(WAIT).data()).isEqualTo("on poll");
        }
    }

    @ParameterizedTest(name = "process index {0}")
    @ValueSource(ints = {-1, PROCESSES, PROCESSES + 5, Integer.MIN_VALUE})
    void anInvalidProcessIndexIsRejectedNamingIt(int processIdx) {
        assertThatThrownBy(() -> pool.pid(processIdx))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(String.valueOf(processIdx));
        assertThatThrownBy(() -> pool.flushStdout(processIdx, WAIT))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(String.valueOf(processIdx));
    }

    // ================================================================ values across the process boundary

    /** A record of the kind the tests send: compact form, with nested values. */
    record Sample(int id, String label, List<Integer> numbers, Map<String, Object> extra, Sample next)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** A plain serializable class: goes through JDK serialization. */
    static final class Plain implements Serializable {
        private static final long serialVersionUID = 1L;
        final TreeMap<String, Integer> counts = new TreeMap<>(Map.of("a", 1, "b", 2));

        @Override
        public boolean equals(Object o) {
            return o instanceof Plain p && p.counts.equals(counts);
        }

        @Override
        public int hashCode() {
            return counts.hashCode();
        }
    }

    static Stream<Arguments> serializableValues() {
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("when", Instant.parse("2024-01-02T03:04:05.123456789Z"));
        extra.put("bytes", List.of((byte) 1, (byte) -1));
        extra.put("nothing", null);
        return Stream.of(
                Arguments.of(named("a record with nested records, lists and maps",
                        new Sample(1, "één", List.of(1, 2, 3), extra, new Sample(2, "", List.of(), Map.of(), null)))),
                Arguments.of(named("a plain Serializable class", new Plain())),
                Arguments.of(named("a HashMap", new HashMap<>(Map.of(1, "x", 2L, 'c')))),
                Arguments.of(named("a long string", "x".repeat(200_000))),
                Arguments.of(named("an empty list", new ArrayList<>())),
                Arguments.of(named("boxed primitives and an Instant",
                        List.of((short) -3, (byte) 7, 'ß', 1.25f, Long.MIN_VALUE, Integer.MAX_VALUE, true, Double.NaN,
                                Instant.ofEpochSecond(-1, 999_999_999)))),
                Arguments.of(named("a double", 1.5e300)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serializableValues")
    void serializableValuesRoundTripThroughAChild(Object value) {
        for (int w : new int[] {0, pool.numWorkers() - 1}) {
            pool.send(w, "echo", value);
            WorkerMessage m = pool.recv(WAIT);
            assertThat(m.workerId()).isEqualTo(w);
            assertThat(m.key()).isEqualTo("echo");
            assertThat(m.data()).isEqualTo(value).isNotSameAs(value);
        }
    }

    @Test
    void byteArraysAndSerializableLambdasRoundTripThroughAChild() {
        byte[] bytes = {0, 1, -1, 127, -128};
        pool.send(1, "echo", bytes);
        assertThat(pool.recv(WAIT).data()).isEqualTo(bytes);

        String captured = "captured-" + UUID.randomUUID();
        Supplier<String> lambda = (Supplier<String> & Serializable) () -> captured;
        pool.send(2, "echo", lambda);
        @SuppressWarnings("unchecked")
        Supplier<String> back = (Supplier<String>) pool.recv(WAIT).data();
        assertThat(back.get()).isEqualTo(captured);
    }

    static Stream<Arguments> notSerializable() {
        return Stream.of(
                Arguments.of(named("an Object", new Object())),
                Arguments.of(named("an Object in a list", new ArrayList<>(List.of("ok", new Object())))),
                Arguments.of(named("an Object in a record", new Sample(1, "x", List.of(), Map.of("bad", new Object()),
                        null))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("notSerializable")
    void sendingAValueThatCannotBeSerializedThrowsCodecExceptionNamingItsClassAndSendsNothing(Object value) {
        CodecException e = catchThrowableOfType(CodecException.class, () -> pool.send(0, "echo", value));

        assertThat(e).as("send of a non-serializable value").isNotNull();
        assertThat(e).hasMessageContaining("java.lang.Object");
        // nothing was sent, and the worker and the pool go on
        pool.send(0, "echo", "after");
        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "after"));
        assertThat(pool.tryRecv()).isEmpty();
    }

    @Test
    void aMessageOverTheFrameLimitIsRefusedWithASizeErrorAndThePoolGoesOn() {
        byte[] tooBig = new byte[StreamChannel.DEFAULT_MAX_FRAME_SIZE];

        assertThatThrownBy(() -> pool.send(0, "echo", tooBig))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("exceeds the limit");

        byte[] big = new byte[8 << 20]; // large, but within the limit
        big[big.length - 1] = 42;
        pool.send(0, "echo", big);
        assertThat((byte[]) pool.recv(WAIT).data()).isEqualTo(big);
        assertThat(pool.tryRecv()).isEmpty();
    }

    // ================================================================ messaging

    @Test
    void broadcastReachesEveryWorkerInEveryProcess() {
        pool.broadcast("pid", null);

        Map<Integer, Object> pidByWorker = new HashMap<>();
        for (int k = 0; k < pool.numWorkers(); k++) {
            WorkerMessage m = pool.recv(WAIT);
            assertThat(pidByWorker.put(m.workerId(), m.data())).as("worker %d answered once", m.workerId()).isNull();
        }
        for (int w = 0; w < pool.numWorkers(); w++) {
            assertThat(pidByWorker.get(w)).isEqualTo(pool.pid(w / THREADS));
        }
        assertThat(pool.tryRecv()).isEmpty();
    }

    @Test
    void recvWithATimeoutThrowsRecvTimeoutAndThePoolStaysUsable() {
        assertThatThrownBy(() -> pool.recv(Duration.ofMillis(50))).isInstanceOf(RecvTimeoutException.class);
        assertThatThrownBy(() -> pool.recv(Duration.ZERO)).isInstanceOf(RecvTimeoutException.class);

        for (int w = 0; w < pool.numWorkers(); w++) {
            pool.send(w, "echo", w);
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(w, "echo", w));
        }
    }

    @Test
    void fiveThousandRoundTripsAcrossProcessesLoseNothingDuplicateNothingAndKeepEachWorkersOrder() {
        int n = pool.numWorkers();
        int total = 5_000;
        // a few sequential round trips, then the rest pipelined (sent before any is received)
        for (int k = 0; k < 100; k++) {
            pool.send(k % n, "echo", k);
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(k % n, "echo", k));
        }
        for (int k = 100; k < total; k++) {
            pool.send(k % n, "echo", k);
        }
        int[] lastByWorker = new int[n];
        java.util.Arrays.fill(lastByWorker, 99);
        Set<Integer> received = new HashSet<>();
        for (int k = 100; k < total; k++) {
            WorkerMessage m = pool.recv(WAIT);
            int v = (Integer) m.data();
            assertThat(m.workerId()).isEqualTo(v % n);
            assertThat(v).as("order at worker %d", m.workerId()).isGreaterThan(lastByWorker[m.workerId()]);
            lastByWorker[m.workerId()] = v;
            assertThat(received.add(v)).as("%d received once", v).isTrue();
        }
        assertThat(received).hasSize(total - 100);
        assertThat(pool.tryRecv()).isEmpty();
    }

    // ================================================================ output

    /** Makes worker {@code workerId} print {@code text} with {@code key} and waits until it has. */
    private void print(int workerId, String key, String text) {
        pool.send(workerId, key, text);
        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(workerId, "printed", text));
    }

    private static String token(String what) {
        return what + "-" + UUID.randomUUID();
    }

    @Test
    void whatAWorkerPrintsToSystemOutIsKeptAsStdoutEntriesUntilFlushed() {
        String line = token("out");
        Instant before = Instant.now();
        print(1, "out", line);

        List<OutputEntry> entries = pool.flushStdout(0, WAIT);

        assertThat(entries).hasSize(1);
        OutputEntry e = entries.get(0);
        assertThat(e.isStdout()).isTrue();
        assertThat(e.text()).isEqualTo(line + "\n");
        assertThat(e.timestamp()).isBetween(before, Instant.now());
        assertThat(pool.flushStdout(1, WAIT)).as("process 1 printed nothing").isEmpty();
    }

    @Test
    void whatAWorkerPrintsToSystemErrIsKeptAsStderrEntries() {
        String line = token("err");
        print(2, "err", line);

        List<OutputEntry> entries = pool.flushStdout(1, WAIT);

        assertThat(entries).singleElement().satisfies(e -> {
            assertThat(e.isStdout()).isFalse();
            assertThat(e.text()).isEqualTo(line + "\n");
        });
    }

    @Test
    void stdoutAndStderrAreKeptApartAndEachInOrder() {
        List<String> out = new ArrayList<>();
        List<String> err = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String o = token("out" + i);
            String e = token("err" + i);
            print(0, "out", o);
            print(1, "err", e);
            out.add(o + "\n");
            err.add(e + "\n");
        }

        List<OutputEntry> entries = pool.flushStdout(0, WAIT);

        assertThat(entries.stream().filter(OutputEntry::isStdout).map(OutputEntry::text)).containsExactlyElementsOf(out);
        assertThat(entries.stream().filter(e -> !e.isStdout()).map(OutputEntry::text)).containsExactlyElementsOf(err);
    }

    @Test
    void flushingReturnsTheOutputOnceASecondFlushIsEmpty() {
        String line = token("once");
        print(0, "out", line);

        assertThat(pool.flushStdout(0, WAIT)).extracting(OutputEntry::text).containsExactly(line + "\n");
        assertThat(pool.flushStdout(0, WAIT)).isEmpty();
        assertThat(pool.flushAllStdout(WAIT)).containsOnlyKeys(0, 1).allSatisfy((idx, l) -> assertThat(l).isEmpty());
    }

    @Test
    void flushAllStdoutGivesEachProcessItsOwnOutput() {
        String zero = token("p0");
        String one = token("p1");
        print(0, "out", zero);
        print(3, "out", one);

        Map<Integer, List<OutputEntry>> all = pool.flushAllStdout(WAIT);

        assertThat(all).containsOnlyKeys(0, 1);
        assertThat(all.get(0)).extracting(OutputEntry::text).containsExactly(zero + "\n");
        assertThat(all.get(1)).extracting(OutputEntry::text).containsExactly(one + "\n");
    }

    @Test
    void onOutputIsCalledWhileThePoolRunsWithoutAnyFlushAndTagsEntriesWithTheirProcess() {
        String zero = token("auto0");
        String one = token("auto1");
        print(1, "out", zero);
        print(2, "err", one);

        // no flush call: the pool's own timer hands the lines over
        Map<Integer, List<String>> byProcess = new HashMap<>();
        await("both lines to reach onOutput").pollInterval(Duration.ofMillis(10)).atMost(WAIT).untilAsserted(() -> {
            for (Delivered d = delivered.poll(); d != null; d = delivered.poll()) {
                assertThat(d.thread().getName()).startsWith("netrun-");
                List<String> texts = byProcess.computeIfAbsent(d.processIdx(), k -> new ArrayList<>());
                d.entries().forEach(e -> texts.add(e.text()));
            }
            assertThat(byProcess.getOrDefault(0, List.of())).contains(zero + "\n");
            assertThat(byProcess.getOrDefault(1, List.of())).contains(one + "\n");
        });
        assertThat(byProcess.get(0)).doesNotContain(one + "\n");
        assertThat(byProcess.get(1)).doesNotContain(zero + "\n");
        // what was delivered is still kept for flushStdout (bufferOutput defaults to true)
        assertThat(pool.flushStdout(0, WAIT)).extracting(OutputEntry::text).containsExactly(zero + "\n");
    }

    @Test
    void outputOfManyLinesFromBothProcessesArrivesCompleteAndInOrder() {
        List<List<String>> printed = List.of(new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < 200; i++) {
            int w = i % pool.numWorkers();
            String line = "line-" + i + "-" + "y".repeat(i * 7);
            pool.send(w, "out", line);
            printed.get(w / THREADS).add(line + "\n");
        }
        for (int i = 0; i < 200; i++) {
            assertThat(pool.recv(WAIT).key()).isEqualTo("printed");
        }

        Map<Integer, List<OutputEntry>> all = pool.flushAllStdout(WAIT);

        for (int p = 0; p < PROCESSES; p++) {
            // two threads of one process print concurrently: each line whole, all of them, in any interleaving
            assertThat(all.get(p)).extracting(OutputEntry::text).containsExactlyInAnyOrderElementsOf(printed.get(p));
        }
    }
}
