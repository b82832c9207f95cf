package dev.netrun.pool;

import dev.netrun.rpc.BlockedCall;
import dev.netrun.rpc.RecvTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Named.named;

/**
 * The pool contract (SPEC section 2), run over every pool kind: each kind has a subclass that says how to
 * build its pool ({@link #createPool}) and how many workers it has, and, through a few hooks, what differs
 * when the workers do not run in this JVM ({@link #workersRunInThisJvm}, {@link #startCloseCycles},
 * {@link #workerEndedProbe}).
 *
 * <p>Workers run {@link ScriptedWorker}, which does what the message key says. Everything synchronises on
 * events (a reply, a parked thread, a thread ending) and every wait is bounded by {@link #WAIT}, so a bug
 * fails a test instead of hanging the suite. No test sleeps.
 */
abstract class PoolContract {
    /** The bound on every wait: generous, so only a bug (a lost message, a hang) reaches it. */
    static final Duration WAIT = BlockedCall.BOUND;

    /** The function every pool under test runs; records what its workers threw and which threads ran them. */
    protected final ScriptedWorker worker = new ScriptedWorker();
    /** The pool under test, built stopped before each test and closed after it. */
    protected Pool pool;
    private int n;

    /**
     * Builds a stopped pool of this kind running {@code fn}.
     *
     * @param fn the worker function
     * @return a new, stopped pool
     */
    protected abstract Pool createPool(WorkerFunction fn);

    /** @return the number of workers {@link #createPool} gives its pools */
    protected abstract int expectedNumWorkers();

    /**
     * Whether this kind runs its workers in this JVM. Only then does a {@link WorkerException} carry the
     * very {@code Throwable} the worker threw as its cause, and only then does {@link #worker} see which
     * threads ran the workers and what they threw. Kinds whose workers run elsewhere (child JVMs, other
     * machines) override this with {@code false}: their failures carry the remote class name, message and
     * stack trace as text, and no cause.
     *
     * @return {@code true} for in-JVM kinds (the default)
     */
    protected boolean workersRunInThisJvm() {
        return true;
    }

    /**
     * How many start/close cycles the cycle tests run. Kinds whose start is expensive (a child JVM costs a
     * few hundred milliseconds) run fewer.
     *
     * @param usual the number the test runs on in-JVM kinds
     * @return the number of cycles to run; the default is {@code usual}
     */
    protected int startCloseCycles(int usual) {
        return usual;
    }

    /**
     * Called while the pool runs, gives a probe that tells whether worker {@code workerId} has ended for
     * good: by default, whether the thread that runs it has died; a process kind checks that the worker's
     * process is gone.
     *
     * @param workerId a worker that has answered at least one message
     * @return {@code true} from the probe once the worker has ended
     */
    protected BooleanSupplier workerEndedProbe(int workerId) {
        Thread t = worker.threads.get(workerId);
        assertThat(t).as("the thread of worker %d", workerId).isNotNull();
        return () -> !t.isAlive();
    }

    @BeforeEach
    void createPoolUnderTest() {
        pool = createPool(worker);
        n = pool.numWorkers();
    }

    @AfterEach
    void closePoolUnderTest() {
        pool.close(Duration.ofSeconds(2));
    }

    // ================================================================ lifecycle

    @Test
    void reportsItsSizeAndWhetherItIsRunning() {
        assertThat(pool.numWorkers()).isEqualTo(expectedNumWorkers());
        assertThat(pool.isRunning()).isFalse();

        pool.start();
        assertThat(pool.isRunning()).isTrue();

        pool.close();
        assertThat(pool.isRunning()).isFalse();
        assertThat(pool.numWorkers()).isEqualTo(expectedNumWorkers());
    }

    static Stream<Arguments> operations() {
        return Stream.of(
                Arguments.of(named("send", (Consumer<Pool>) p -> p.send(0, "echo", 1))),
                Arguments.of(named("recv()", (Consumer<Pool>) Pool::recv)),
                Arguments.of(named("recv(timeout)", (Consumer<Pool>) p -> p.recv(Duration.ofMillis(20)))),
                Arguments.of(named("tryRecv", (Consumer<Pool>) Pool::tryRecv)),
                Arguments.of(named("broadcast", (Consumer<Pool>) p -> p.broadcast("echo", 1))));
    }

    @ParameterizedTest(name = "{0} before start throws PoolNotStartedException")
    @MethodSource("operations")
    void operationsBeforeStartThrowPoolNotStarted(Consumer<Pool> operation) {
        assertThat(BlockedCall.thrownBy("op", () -> run(operation)))
                .isInstanceOf(PoolNotStartedException.class)
                .isInstanceOf(PoolException.class);
    }

    @ParameterizedTest(name = "{0} after close throws PoolNotStartedException")
    @MethodSource("operations")
    void operationsAfterCloseThrowPoolNotStarted(Consumer<Pool> operation) {
        pool.start();
        pool.send(0, "echo", "unread"); // an unread reply must not be handed out after close
        pool.close();
        assertThat(BlockedCall.thrownBy("op", () -> run(operation))).isInstanceOf(PoolNotStartedException.class);
    }

    @Test
    void startingARunningPoolThrowsPoolAlreadyStartedAndLeavesItRunning() {
        pool.start();

        assertThatThrownBy(pool::start).isInstanceOf(PoolAlreadyStartedException.class);

        assertThat(pool.isRunning()).isTrue();
        assertEveryWorkerAnswers();
    }

    @Test
    void aClosedPoolCanBeStartedAgainWithoutStaleMessages() {
        pool.start();
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 10; k++) {
                pool.send(i, "echo", "old-" + k);
            }
        }
        assertThat(pool.recv(WAIT).data()).asString().startsWith("old-"); // old replies are flowing
        pool.close();

        pool.start();

        assertThat(pool.isRunning()).isTrue();
        assertThat(pool.tryRecv()).as("nothing left over from the previous run").isEmpty();
        for (int i = 0; i < n; i++) {
            pool.send(i, "echo", "new-" + i);
            WorkerMessage m = pool.recv(WAIT);
            assertThat(m).isEqualTo(new WorkerMessage(i, "echo", "new-" + i));
        }
        assertThat(pool.tryRecv()).isEmpty();
    }

    @Test
    void closeIsIdempotent() {
        assertThatCode(pool::close).as("close before start").doesNotThrowAnyException();
        pool.start();
        pool.close();
        assertThatCode(pool::close).doesNotThrowAnyException();
        assertThatCode(() -> pool.close(Duration.ZERO)).doesNotThrowAnyException();
        assertThat(pool.isRunning()).isFalse();
        // and the repeated closes did not break the next run
        pool.start();
        assertEveryWorkerAnswers();
    }

    @Test
    void aReceiverBlockedInRecvWakesWithPoolNotStartedWhenThePoolCloses() {
        pool.start();
        BlockedCall<WorkerMessage> receiver = BlockedCall.start("pool-recv", pool::recv).awaitBlocked();

        pool.close();

        assertThat(receiver.failure()).isInstanceOf(PoolNotStartedException.class);
    }

    @Test
    void everyBlockedReceiverWakesWhenThePoolCloses() {
        pool.start();
        List<BlockedCall<WorkerMessage>> receivers = List.of(
                BlockedCall.start("pool-recv-1", pool::recv),
                BlockedCall.start("pool-recv-2", pool::recv),
                BlockedCall.start("pool-recv-timeout", () -> pool.recv(WAIT)));
        receivers.forEach(BlockedCall::awaitBlocked);

        pool.close();

        for (BlockedCall<WorkerMessage> r : receivers) {
            assertThat(r.failure()).isInstanceOf(PoolNotStartedException.class);
        }
    }

    @Test
    void recvBlocksUntilAWorkerAnswers() {
        pool.start();
        BlockedCall<WorkerMessage> receiver = BlockedCall.start("pool-recv", pool::recv).awaitBlocked();

        pool.send(n - 1, "echo", "hello");

        assertThat(receiver.get()).isEqualTo(new WorkerMessage(n - 1, "echo", "hello"));
    }

    // ================================================================ argument checks

    @Test
    void outOfRangeWorkerIdsAreRejectedNamingTheId() {
        pool.start();
        for (int id : new int[] {-1, n, n + 7, Integer.MIN_VALUE}) {
            assertThatThrownBy(() -> pool.send(id, "echo", 1))
                    .as("worker id %d", id)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageMatching("(?s).*\\bid\\W{0,3}" + Pattern.quote(String.valueOf(id))
                            + "(?!\\d).*");
        }
        assertEveryWorkerAnswers();
    }

    @Test
    void aNullKeyIsRejected() {
        pool.start();
        assertThatThrownBy(() -> pool.send(0, null, 1)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> pool.broadcast(null, 1)).isInstanceOf(NullPointerException.class);
        assertThat(pool.tryRecv()).isEmpty();
        assertEveryWorkerAnswers();
    }

    @Test
    void dataMayBeNull() {
        pool.start();
        pool.send(0, "echo", null);
        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", null));
    }

    // ================================================================ receiving

    @Test
    void recvWithTimeoutThrowsRecvTimeoutAndThePoolStaysUsable() {
        pool.start();

        assertThatThrownBy(() -> pool.recv(Duration.ofMillis(30))).isInstanceOf(RecvTimeoutException.class);

        assertThat(pool.isRunning()).isTrue();
        pool.send(0, "echo", "still here");
        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "still here"));
    }

    @Test
    void tryRecvReturnsEmptyWhenNothingWaitsAndNeverTimesOut() {
        pool.start();
        for (int i = 0; i < 3; i++) {
            assertThat(pool.tryRecv()).isEmpty();
        }
        pool.send(0, "echo", "x");
        WorkerMessage m = await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2)).atMost(WAIT)
                .until(() -> pool.tryRecv().orElse(null), Objects::nonNull);
        assertThat(m).isEqualTo(new WorkerMessage(0, "echo", "x"));
        assertThat(pool.tryRecv()).isEmpty();
    }

    // ================================================================ routing

    @Test
    void eachWorkerAnswersWhatIsSentToIt() {
        pool.start();
        for (int i = 0; i < n; i++) {
            pool.send(i, "whoami", null);
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(i, "id", i));
        }
    }

    @Test
    void aWorkerAnswersInTheOrderItWasSent() {
        pool.start();
        for (int k = 0; k < 200; k++) {
            pool.send(n - 1, "echo", k);
        }
        for (int k = 0; k < 200; k++) {
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(n - 1, "echo", k));
        }
    }

    @Test
    void broadcastReachesEveryWorkerExactlyOnce() {
        pool.start();

        pool.broadcast("whoami", null);

        Set<Integer> answered = new HashSet<>();
        for (int k = 0; k < n; k++) {
            WorkerMessage m = pool.recv(WAIT);
            assertThat(m.key()).isEqualTo("id");
            assertThat(m.data()).isEqualTo(m.workerId());
            assertThat(answered.add(m.workerId())).as("worker %d answered twice", m.workerId()).isTrue();
        }
        assertThat(answered).hasSize(n);
        // A fence per worker: a duplicate broadcast would have been answered before it (per-worker order).
        for (int i = 0; i < n; i++) {
            pool.send(i, "echo", "fence");
        }
        for (int k = 0; k < n; k++) {
            assertThat(pool.recv(WAIT)).extracting(WorkerMessage::key, WorkerMessage::data)
                    .containsExactly("echo", "fence");
        }
        assertThat(pool.tryRecv()).isEmpty();
    }

    // ================================================================ failures

    @Test
    void aWorkerThatThrowsIsReportedAsWorkerExceptionCarryingItsStory() {
        pool.start();

        pool.send(n - 1, "throw", List.of());

        WorkerException e = catchThrowableOfType(WorkerException.class, () -> pool.recv(WAIT));
        assertThat(e).isNotNull().isInstanceOf(PoolException.class);
        assertThat(e.workerId()).isEqualTo(n - 1);
        assertThat(e.remoteClassName()).isEqualTo(ScriptedWorker.Boom.class.getName());
        assertThat(e.remoteMessage()).isEqualTo("boom from worker " + (n - 1));
        assertThat(e.remoteStackTrace()).isNotBlank().contains(ScriptedWorker.class.getName());
        if (workersRunInThisJvm()) {
            assertThat(e.getCause()).as("the original throwable").isSameAs(worker.thrown.get(n - 1));
        } else {
            assertThat(e.getCause()).as("no cause: the throwable stayed in the worker's JVM").isNull();
        }
        assertThat(e).hasMessageContaining(String.valueOf(n - 1)).hasMessageContaining("boom from worker");
    }

    @Test
    void messagesSentBeforeAThrowArriveBeforeTheWorkerException() {
        pool.start();

        pool.send(0, "throw", List.of("a", "b", "c"));

        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "a"));
        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "b"));
        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "c"));
        assertThatThrownBy(() -> pool.recv(WAIT)).isInstanceOf(WorkerException.class);
    }

    @Test
    void aWorkerFailureIsReportedOnce() {
        pool.start();
        pool.send(0, "throw", List.of());
        assertThatThrownBy(() -> pool.recv(WAIT)).isInstanceOf(WorkerException.class);

        assertThatThrownBy(() -> pool.recv(Duration.ofMillis(30))).isInstanceOf(RecvTimeoutException.class);
        assertThat(pool.tryRecv()).isEmpty();
    }

    @Test
    void theOtherWorkersKeepServingAfterOneFails() {
        assumeTrue(n > 1, "needs more than one worker");
        pool.start();
        pool.send(0, "throw", List.of());
        assertThatThrownBy(() -> pool.recv(WAIT)).isInstanceOf(WorkerException.class);

        for (int i = 1; i < n; i++) {
            pool.send(i, "whoami", null);
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(i, "id", i));
        }
    }

    @Test
    void aWorkerWhoseFunctionReturnsIsReportedAsCrashedInsteadOfHanging() {
        pool.start();

        pool.send(n - 1, "return", null);

        WorkerCrashedException e = catchThrowableOfType(WorkerCrashedException.class, () -> pool.recv(WAIT));
        assertThat(e).isNotNull().isInstanceOf(PoolException.class);
        assertThat(e.workerId()).isEqualTo(n - 1);
        assertThat(e.details()).containsKey(WorkerCrashedException.REASON).containsKey("reason");
        assertThat(String.valueOf(e.details().get("reason"))).isNotBlank();
        assertThat(e.reason()).isEqualTo(e.details().get("reason"));
    }

    @ParameterizedTest(name = "after its function did {0}")
    @ValueSource(strings = {"return", "throw"})
    void sendingToADeadWorkerThrowsWorkerCrashed(String howItDied) {
        pool.start();
        pool.send(0, howItDied, List.of());
        assertThatThrownBy(() -> pool.recv(WAIT)).isInstanceOf(PoolException.class); // its death is reported

        WorkerCrashedException e = catchThrowableOfType(WorkerCrashedException.class,
                () -> pool.send(0, "echo", "anyone?"));

        assertThat(e).as("send to dead worker 0").isNotNull();
        assertThat(e.workerId()).isZero();
        assertThat(e.details()).containsKey(WorkerCrashedException.REASON);
    }

    @Test
    void broadcastWithADeadWorkerThrowsWorkerCrashedButReachesTheLiveOnes() {
        assumeTrue(n > 1, "needs more than one worker");
        pool.start();
        pool.send(0, "return", null);
        assertThatThrownBy(() -> pool.recv(WAIT)).isInstanceOf(WorkerCrashedException.class);

        assertThatThrownBy(() -> pool.broadcast("whoami", null))
                .isInstanceOfSatisfying(WorkerCrashedException.class, e -> assertThat(e.workerId()).isZero());

        Set<Integer> answered = new HashSet<>();
        for (int k = 1; k < n; k++) {
            answered.add(pool.recv(WAIT).workerId());
        }
        assertThat(answered).containsExactlyInAnyOrderElementsOf(
                IntStream.range(1, n).boxed().toList());
    }

    // ================================================================ volume and concurrency

    @Test
    void manyMessagesAcrossRapidStartCloseCyclesAreNeitherLostNorDuplicated() {
        int cycles = startCloseCycles(30);
        int perCycle = Math.max(67, 2_010 / cycles); // about 2,000 in all
        List<String> sent = new ArrayList<>();
        List<String> received = new ArrayList<>();
        for (int c = 0; c < cycles; c++) {
            pool.start();
            for (int k = 0; k < perCycle; k++) {
                String payload = "c" + c + "-" + k;
                pool.send(k % n, "echo", payload);
                sent.add(payload);
            }
            for (int k = 0; k < perCycle; k++) {
                WorkerMessage m = pool.recv(WAIT);
                assertThat(m.key()).isEqualTo("echo");
                String payload = (String) m.data();
                int k2 = Integer.parseInt(payload.substring(payload.indexOf('-') + 1));
                assertThat(m.workerId()).as("worker that answered %s", payload).isEqualTo(k2 % n);
                received.add(payload);
            }
            assertThat(pool.tryRecv()).as("cycle %d: nothing extra", c).isEmpty();
            pool.close();
        }
        assertThat(received).hasSize(cycles * perCycle).containsExactlyInAnyOrderElementsOf(sent);
    }

    /**
     * One message of a concurrent sender: who sent it and its rank among that sender's messages. Serializable,
     * like any data sent to a worker in another process.
     */
    record Tag(int sender, int seq) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void concurrentSendersLoseNothingAndEachSenderKeepsItsOrderPerWorker() {
        pool.start();
        int senders = 4;
        int perSender = 250;
        CountDownLatch go = new CountDownLatch(1);
        List<BlockedCall<Void>> threads = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            int sender = s;
            threads.add(BlockedCall.start("pool-sender-" + s, () -> {
                go.await();
                for (int k = 0; k < perSender; k++) {
                    pool.send((sender + k) % n, "echo", new Tag(sender, k));
                }
                return null;
            }));
        }
        go.countDown();

        List<Tag> received = new ArrayList<>();
        Map<List<Integer>, Integer> lastSeqBySenderAndWorker = new HashMap<>();
        for (int k = 0; k < senders * perSender; k++) {
            WorkerMessage m = pool.recv(WAIT);
            Tag t = (Tag) m.data();
            assertThat(m.workerId()).isEqualTo((t.sender() + t.seq()) % n);
            Integer last = lastSeqBySenderAndWorker.put(List.of(t.sender(), m.workerId()), t.seq());
            if (last != null) {
                assertThat(t.seq()).as("order of sender %d at worker %d", t.sender(), m.workerId())
                        .isGreaterThan(last);
            }
            received.add(t);
        }
        threads.forEach(BlockedCall::get);

        List<Tag> expected = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            for (int k = 0; k < perSender; k++) {
                expected.add(new Tag(s, k));
            }
        }
        assertThat(received).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(pool.tryRecv()).isEmpty();
    }

    // ================================================================ push mode

    /** Records what a pool pushes to it. */
    static final class RecordingListener implements PoolListener {
        final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();

        @Override
        public void onMessage(int workerId, String key, Object data) {
            events.add(new WorkerMessage(workerId, key, data));
        }

        @Override
        public void onFailure(PoolException failure) {
            events.add(failure);
        }

        Object next() throws InterruptedException {
            Object e = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(e).as("an event within %s", WAIT).isNotNull();
            return e;
        }
    }

    private AbstractPool pushCapable() {
        assumeTrue(pool instanceof AbstractPool, "push mode is an AbstractPool feature");
        return (AbstractPool) pool;
    }

    @Test
    void aListenerGetsMessagesAndFailuresInsteadOfRecv() throws InterruptedException {
        AbstractPool p = pushCapable();
        RecordingListener listener = new RecordingListener();
        p.setListener(listener);
        p.start();

        for (int i = 0; i < n; i++) {
            p.send(i, "whoami", null);
            assertThat(listener.next()).isEqualTo(new WorkerMessage(i, "id", i));
        }
        p.send(0, "throw", List.of("last"));
        assertThat(listener.next()).isEqualTo(new WorkerMessage(0, "echo", "last"));
        assertThat(listener.next()).isInstanceOfSatisfying(WorkerException.class, e -> {
            assertThat(e.workerId()).isZero();
            assertThat(e.remoteClassName()).isEqualTo(ScriptedWorker.Boom.class.getName());
            if (workersRunInThisJvm()) {
                assertThat(e.getCause()).isSameAs(worker.thrown.get(0));
            }
        });
        if (n > 1) {
            p.send(1, "return", null);
            assertThat(listener.next()).isInstanceOfSatisfying(WorkerCrashedException.class,
                    e -> assertThat(e.workerId()).isEqualTo(1));
        }

        assertThat(BlockedCall.thrownBy("recv", p::recv)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> p.recv(Duration.ofMillis(20))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(p::tryRecv).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theListenerCannotBeChangedWhileThePoolRuns() throws InterruptedException {
        AbstractPool p = pushCapable();
        RecordingListener listener = new RecordingListener();
        p.setListener(listener);
        p.start();

        assertThatThrownBy(() -> p.setListener(new RecordingListener())).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> p.setListener(null)).isInstanceOf(IllegalStateException.class);

        p.send(0, "echo", "still to the first listener");
        assertThat(listener.next()).isEqualTo(new WorkerMessage(0, "echo", "still to the first listener"));
    }

    @Test
    void clearingTheListenerAfterCloseRestoresRecv() {
        AbstractPool p = pushCapable();
        RecordingListener listener = new RecordingListener();
        p.setListener(listener);
        p.start();
        p.close();

        p.setListener(null);
        p.start();

        p.send(0, "echo", "pulled");
        assertThat(p.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "pulled"));
        assertThat(listener.events).isEmpty();
    }

    // ================================================================ threads

    @Test
    void startCloseCyclesLeakNoThreads() {
        long before = liveNetrunThreads();
        int cycles = startCloseCycles(50);
        List<Thread> started = new ArrayList<>();
        for (int c = 0; c < cycles; c++) {
            pool.start();
            assertEveryWorkerAnswers(); // the workers really ran
            started.addAll(worker.threads.values());
            pool.close();
        }

        if (workersRunInThisJvm()) {
            assertThat(started).hasSize(cycles * n)
                    .allSatisfy(t -> assertThat(t.getName()).startsWith("netrun-"));
        }
        await("every worker thread to end").pollInterval(Duration.ofMillis(10)).atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(started).noneMatch(Thread::isAlive));
        await("netrun- threads back to their count before the test")
                .pollInterval(Duration.ofMillis(10)).atMost(Duration.ofSeconds(5))
                .until(() -> liveNetrunThreads() <= before);
    }

    @ParameterizedTest(name = "a worker that does {0}")
    @ValueSource(strings = {"spin", "park"})
    void closeWithATimeoutReturnsAndEndsAWorkerThatIgnoresTheChannelClosing(String how) {
        pool.start();
        pool.send(n - 1, how, null);
        assertThat(pool.recv(WAIT).key()).isIn("spinning", "parked");
        BooleanSupplier deafWorkerEnded = workerEndedProbe(n - 1);

        boolean callerInterrupted = assertTimeoutPreemptively(Duration.ofSeconds(8), () -> {
            pool.close(Duration.ofMillis(100));
            return Thread.currentThread().isInterrupted();
        });

        assertThat(callerInterrupted).as("close leaves the caller's interrupt status alone").isFalse();
        assertThat(pool.isRunning()).isFalse();
        await("the deaf worker to end").pollInterval(Duration.ofMillis(10)).atMost(WAIT)
                .until(deafWorkerEnded::getAsBoolean);
    }

    // ================================================================ helpers

    /** Asserts that every worker answers a {@code whoami}, one at a time. */
    protected final void assertEveryWorkerAnswers() {
        for (int i = 0; i < n; i++) {
            pool.send(i, "whoami", null);
            assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(i, "id", i));
        }
    }

    private Void run(Consumer<Pool> operation) {
        operation.accept(pool);
        return null;
    }

    /** @return the number of live threads named like the pools' threads */
    static long liveNetrunThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("netrun-"))
                .count();
    }
}
