package dev.netrun.remote;

import dev.netrun.pool.OutputEntry;
import dev.netrun.pool.PoolAlreadyStartedException;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.PoolNotStartedException;
import dev.netrun.pool.WorkerCrashedException;
import dev.netrun.pool.WorkerException;
import dev.netrun.pool.WorkerMessage;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.RecvTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.Serializable;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The pool behaviours of SPEC 2 and 3 through a {@link RemotePoolClient}, against one shared in-JVM server whose
 * pools are child JVMs running {@link ScriptedWorker}. Every wait is bounded by {@link #WAIT}.
 */
@Tag("slow")
class RemotePoolClientTest {
    static final Duration WAIT = Duration.ofSeconds(30);

    static RemotePoolServer server;
    final List<RemotePoolClient> clients = new ArrayList<>();

    @BeforeAll
    static void startServer() {
        server = new RemotePoolServer("127.0.0.1", 0);
        server.registerWorker("scripted", ScriptedWorker.class);
        server.start();
    }

    @AfterAll
    static void closeServer() {
        server.close();
    }

    @AfterEach
    void closeClients() {
        clients.forEach(RemotePoolClient::close);
    }

    RemotePoolClient client() {
        RemotePoolClient c = new RemotePoolClient(server.address());
        clients.add(c);
        return c;
    }

    RemotePoolClient pool(int numProcesses, int threadsPerProcess) {
        RemotePoolClient c = client();
        c.createPool("scripted", numProcesses, threadsPerProcess);
        return c;
    }

    // ================================================================ creation and registration

    @Test
    void aServerOnPortZeroListensOnARealPortOfLoopback() {
        assertThat(server.port()).isPositive();
        assertThat(server.host()).isEqualTo("127.0.0.1");
        assertThat(server.address()).isEqualTo("127.0.0.1:" + server.port());
        assertThat(server.isRunning()).isTrue();
    }

    @Test
    void aClientIsCreatedStoppedAndConnectsWithoutCreatingAPool() {
        RemotePoolClient c = client();
        assertThat(c.isRunning()).isFalse();
        assertThat(c.isConnected()).isFalse();
        c.connect();
        assertThat(c.isConnected()).isTrue();
        assertThat(c.isRunning()).isFalse();
        assertThat(c.serverWorkers()).contains("scripted", RemotePoolServer.EXEC_WORKER);
        c.connect(); // harmless again
    }

    @Test
    void createPoolStartsTheWorkersWithTheRequestedShape() {
        RemotePoolClient c = pool(2, 2);
        assertThat(c.isRunning()).isTrue();
        assertThat(c.numWorkers()).isEqualTo(4);
        assertThat(c.numProcesses()).isEqualTo(2);
        assertThat(c.threadsPerProcess()).isEqualTo(2);
        assertThat(c.workerName()).isEqualTo("scripted");
        Set<Object> ids = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            c.send(i, "whoami", null);
        }
        for (int i = 0; i < 4; i++) {
            WorkerMessage m = c.recv(WAIT);
            assertThat(m.key()).isEqualTo("id");
            assertThat(m.data()).isEqualTo(m.workerId());
            ids.add(m.data());
        }
        assertThat(ids).containsExactlyInAnyOrder(0, 1, 2, 3);
    }

    @Test
    void anUnknownWorkerNameIsAPoolExceptionNamingIt() {
        RemotePoolClient c = client();
        assertThatThrownBy(() -> c.createPool("no-such-worker", 1, 1))
                .isInstanceOf(PoolException.class)
                .hasMessageContaining("no-such-worker")
                .hasMessageContaining("scripted");
        assertThat(c.isRunning()).isFalse();
    }

    @Test
    void invalidSizesAndNamesAreRefusedBeforeAnythingIsSent() {
        RemotePoolClient c = client();
        assertThatThrownBy(() -> c.createPool("scripted", 0, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("numProcesses");
        assertThatThrownBy(() -> c.createPool("scripted", 1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("threadsPerProcess");
        assertThatThrownBy(() -> c.createPool(" ", 1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RemotePoolClient("no-port")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no-port");
        assertThatThrownBy(() -> new RemotePoolClient("host:99999")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void createPoolTwiceThrowsPoolAlreadyStarted() {
        RemotePoolClient c = pool(1, 1);
        assertThatThrownBy(() -> c.createPool("scripted", 1, 1)).isInstanceOf(PoolAlreadyStartedException.class);
        assertThatThrownBy(c::start).isInstanceOf(PoolAlreadyStartedException.class);
    }

    @Test
    void noServerAtTheAddressIsAClearConnectionErrorWithinSeconds() throws Exception {
        int freePort;
        try (ServerSocket s = new ServerSocket(0)) {
            freePort = s.getLocalPort();
        }
        RemotePoolClient c = new RemotePoolClient("127.0.0.1:" + freePort);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertThatThrownBy(c::connect).isInstanceOf(PoolException.class)
                    .hasMessageContaining("127.0.0.1:" + freePort)
                    .hasMessageContaining("Cannot connect");
            assertThatThrownBy(() -> c.createPool("scripted", 1, 1)).isInstanceOf(PoolException.class)
                    .hasMessageContaining("127.0.0.1:" + freePort);
        });
        assertThat(c.isConnected()).isFalse();
        assertThat(c.isRunning()).isFalse();
    }

    // ================================================================ messages

    @Test
    void sendThenRecvRoundTripsThroughTheServer() {
        RemotePoolClient c = pool(1, 1);
        c.send(0, "echo", Map.of("a", List.of(1, 2L, "three")));
        WorkerMessage m = c.recv(WAIT);
        assertThat(m).isEqualTo(new WorkerMessage(0, "echo", Map.of("a", List.of(1, 2L, "three"))));
    }

    @Test
    void messagesOfOneWorkerArriveInOrder() {
        RemotePoolClient c = pool(1, 1);
        for (int i = 0; i < 500; i++) {
            c.send(0, "echo", i);
        }
        for (int i = 0; i < 500; i++) {
            assertThat(c.recv(WAIT).data()).isEqualTo(i);
        }
    }

    @Test
    void tryRecvIsEmptyWhenNothingWaitsAndReturnsWhatArrived() {
        RemotePoolClient c = pool(1, 1);
        assertThat(c.tryRecv()).isEmpty();
        c.send(0, "echo", "x");
        WorkerMessage m = c.recv(WAIT); // what tryRecv would see once it arrived
        assertThat(m.data()).isEqualTo("x");
        c.send(0, "echo", "y");
        c.send(0, "whoami", null);
        assertThat(c.recv(WAIT).key()).isEqualTo("echo");
        // the second reply was sent after the first: once it is here, tryRecv returns it without waiting
        WorkerMessage second = org.awaitility.Awaitility.await().atMost(WAIT)
                .until(() -> c.tryRecv().orElse(null), java.util.Objects::nonNull);
        assertThat(second.key()).isEqualTo("id");
        assertThat(c.tryRecv()).isEmpty();
    }

    @Test
    void broadcastReachesEveryWorker() {
        RemotePoolClient c = pool(2, 2);
        c.broadcast("whoami", null);
        Set<Integer> ids = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            ids.add(c.recv(WAIT).workerId());
        }
        assertThat(ids).containsExactlyInAnyOrder(0, 1, 2, 3);
    }

    @Test
    void recvWithATimeoutThrowsRecvTimeoutAndThePoolStaysUsable() {
        RemotePoolClient c = pool(1, 1);
        assertThatThrownBy(() -> c.recv(Duration.ofMillis(50))).isInstanceOf(RecvTimeoutException.class);
        c.send(0, "echo", "still here");
        assertThat(c.recv(WAIT).data()).isEqualTo("still here");
    }

    @Test
    void useBeforeCreatePoolThrowsPoolNotStarted() {
        RemotePoolClient c = client();
        c.connect();
        assertThatThrownBy(() -> c.send(0, "echo", 1)).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(c::recv).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(() -> c.recv(Duration.ofMillis(10))).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(c::tryRecv).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(() -> c.broadcast("echo", 1)).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(() -> c.flushStdout(0, WAIT)).isInstanceOf(PoolNotStartedException.class);
        assertThatThrownBy(() -> c.flushAllStdout(WAIT)).isInstanceOf(PoolNotStartedException.class);
    }

    @Test
    void invalidWorkerIdsThrowIllegalArgument() {
        RemotePoolClient c = pool(1, 2);
        assertThatThrownBy(() -> c.send(2, "echo", 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2");
        assertThatThrownBy(() -> c.send(-1, "echo", 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void dataThatCannotBeSerializedIsRefusedBySendAndNothingIsSent() {
        RemotePoolClient c = pool(1, 1);
        assertThatThrownBy(() -> c.send(0, "echo", new Object())).isInstanceOf(CodecException.class)
                .hasMessageContaining("java.lang.Object");
        c.send(0, "echo", "after");
        assertThat(c.recv(WAIT).data()).isEqualTo("after");
        assertThat(c.tryRecv()).isEmpty();
    }

    /** A serializable class that the server's allow-list does not admit. */
    record Smuggled(String payload) implements Serializable {
    }

    @Test
    void theServerRefusesClassesOutsideItsAllowListAndTheWorkerNeverSeesThem() {
        RemotePoolClient c = pool(1, 1);
        c.send(0, "echo", new Smuggled("x"));
        WorkerMessage refused = c.recv(WAIT);
        assertThat(refused.workerId()).isZero();
        assertThat(refused.key()).isEqualTo("echo");
        assertThat(refused.data()).isInstanceOf(CodecException.class);
        assertThat(((CodecException) refused.data()).getMessage()).contains("refused").contains(Smuggled.class.getName());
        c.send(0, "echo", "next");
        assertThat(c.recv(WAIT).data()).isEqualTo("next"); // the worker carried on, and never answered the first
    }

    // ================================================================ failures

    @Test
    void aWorkerThatThrowsIsReportedAsWorkerExceptionWithTheRemoteStory() {
        RemotePoolClient c = pool(1, 2);
        c.send(1, "throw", null);
        WorkerException e = catchThrowableOfType(WorkerException.class, () -> c.recv(WAIT));
        assertThat(e.workerId()).isEqualTo(1);
        assertThat(e.remoteClassName()).isEqualTo(IllegalStateException.class.getName());
        assertThat(e.remoteMessage()).isEqualTo("boom from worker 1");
        assertThat(e.remoteStackTrace()).contains("ScriptedWorker.run");
        assertThatThrownBy(() -> c.send(1, "echo", 1)).isInstanceOf(WorkerCrashedException.class);
        c.send(0, "echo", "other worker");
        assertThat(c.recv(WAIT).data()).isEqualTo("other worker");
    }

    @Test
    void aWorkerProcessThatExitsIsReportedAsWorkerCrashedWithItsExitCode() {
        RemotePoolClient c = pool(1, 2);
        c.send(0, "exit", 3);
        Set<Integer> crashed = new HashSet<>();
        for (int i = 0; i < 2; i++) {
            WorkerCrashedException e = catchThrowableOfType(WorkerCrashedException.class, () -> c.recv(WAIT));
            assertThat(e.exitCode()).contains(3);
            assertThat(e.reason()).contains("exited");
            crashed.add(e.workerId());
        }
        assertThat(crashed).containsExactlyInAnyOrder(0, 1);
        assertThatThrownBy(() -> c.send(0, "echo", 1)).isInstanceOf(WorkerCrashedException.class);
    }

    // ================================================================ output

    @Test
    void stdoutIsCapturedAndKeptByDefault() {
        RemotePoolClient c = pool(1, 1);
        c.send(0, "out", "hello from the child");
        c.recv(WAIT);
        List<OutputEntry> out = c.flushStdout(0, WAIT);
        assertThat(out).extracting(OutputEntry::text).contains("hello from the child\n");
        assertThat(out).filteredOn(e -> e.text().equals("hello from the child\n"))
                .allSatisfy(e -> assertThat(e.isStdout()).isTrue());
    }

    @Test
    void flushReturnsTheOutputOnceAndClearsIt() {
        RemotePoolClient c = pool(1, 1);
        c.send(0, "out", "once");
        c.recv(WAIT);
        assertThat(c.flushStdout(0, WAIT)).extracting(OutputEntry::text).contains("once\n");
        assertThat(c.flushStdout(0, WAIT)).extracting(OutputEntry::text).doesNotContain("once\n");
    }

    @Test
    void stdoutAndStderrAreKeptApart() {
        RemotePoolClient c = pool(1, 1);
        c.send(0, "out", "to out");
        c.send(0, "err", "to err");
        c.recv(WAIT);
        c.recv(WAIT);
        List<OutputEntry> out = c.flushStdout(0, WAIT);
        assertThat(out).filteredOn(e -> e.text().equals("to out\n")).singleElement()
                .satisfies(e -> assertThat(e.isStdout()).isTrue());
        assertThat(out).filteredOn(e -> e.text().equals("to err\n")).singleElement()
                .satisfies(e -> assertThat(e.isStdout()).isFalse());
    }

    @Test
    void flushAllStdoutAnswersForEveryProcessByIndex() {
        RemotePoolClient c = pool(2, 1);
        c.send(0, "out", "from zero");
        c.send(1, "out", "from one");
        c.recv(WAIT);
        c.recv(WAIT);
        Map<Integer, List<OutputEntry>> all = c.flushAllStdout(WAIT);
        assertThat(all).containsOnlyKeys(0, 1);
        assertThat(all.get(0)).extracting(OutputEntry::text).contains("from zero\n").doesNotContain("from one\n");
        assertThat(all.get(1)).extracting(OutputEntry::text).contains("from one\n").doesNotContain("from zero\n");
    }

    @Test
    void anInvalidProcessIndexThrowsIllegalArgument() {
        RemotePoolClient c = pool(1, 2);
        assertThatThrownBy(() -> c.flushStdout(1, WAIT)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1");
        assertThatThrownBy(() -> c.flushStdout(-1, WAIT)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void withoutBufferingNothingIsKept() {
        RemotePoolClient c = client();
        c.createPool("scripted", 1, 1, true, false);
        c.send(0, "out", "dropped");
        c.recv(WAIT);
        assertThat(c.flushStdout(0, WAIT)).isEmpty();
    }

    // ================================================================ lifecycle

    @Test
    void closeIsIdempotentAndAClosedClientCanCreateAPoolAgain() {
        RemotePoolClient c = pool(1, 1);
        c.close();
        c.close();
        assertThat(c.isRunning()).isFalse();
        assertThat(c.isConnected()).isFalse();
        assertThatThrownBy(() -> c.send(0, "echo", 1)).isInstanceOf(PoolNotStartedException.class);
        c.createPool("scripted", 1, 2);
        assertThat(c.numWorkers()).isEqualTo(2);
        c.send(1, "echo", "again");
        assertThat(c.recv(WAIT)).isEqualTo(new WorkerMessage(1, "echo", "again"));
    }

    @Test
    void aReceiverBlockedWhenThePoolClosesWakesWithPoolNotStarted() throws Exception {
        RemotePoolClient c = pool(1, 1);
        java.util.concurrent.CompletableFuture<Throwable> woke = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> catchThrowableOfType(PoolNotStartedException.class, c::recv));
        c.close();
        assertThat(woke.get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                .isInstanceOf(PoolNotStartedException.class);
    }

    @Test
    void theServerClosesTheChildrenOfAClosedPool() {
        RemotePoolClient c = pool(2, 1);
        List<Long> pids = server.childPids();
        assertThat(pids).hasSizeGreaterThanOrEqualTo(2);
        c.close();
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> server.livePools() == 0);
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> pids.stream()
                .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
    }
}
