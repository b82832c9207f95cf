package dev.netrun.remote;

import dev.netrun.exec.ExecutionManager;
import dev.netrun.exec.Job;
import dev.netrun.exec.JobResult;
import dev.netrun.exec.SubmittedJobInfo;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.WorkerCrashedException;
import dev.netrun.pool.WorkerMessage;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * What happens when a side goes away: the server killed mid-job (a server JVM of its own, started from the test
 * class path), a client that vanishes (a client JVM of its own, killed), and many clients at once.
 */
@Tag("slow")
class RemoteFailureTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    /** How soon pending work must fail once the server is gone: "within seconds". */
    static final Duration SOON = Duration.ofSeconds(10);

    @Test
    void killingTheServerMidJobFailsEveryPendingJobAndReceiveWithWorkerCrashed() throws Exception {
        try (Jvm serverJvm = Jvm.start(RemoteServerMain.class)) {
            String line = serverJvm.readLine(WAIT);
            assertThat(line).startsWith("listening on 127.0.0.1:");
            String address = line.substring("listening on ".length());

            RemotePoolClient raw = new RemotePoolClient(address);
            ExecutionManager manager = new ExecutionManager(Map.of("remote",
                    RemotePoolConfig.of(address).withProcesses(1, 2)));
            try {
                raw.createPool("scripted", 1, 1);
                CompletableFuture<WorkerMessage> pendingRecv = CompletableFuture.supplyAsync(raw::recv);
                manager.start();
                CompletableFuture<JobResult> job0 = manager.runAsync("remote", 0, Job.of("dev.netrun.remote.Tasks.block"));
                CompletableFuture<JobResult> job1 = manager.runAsync("remote", 1, Job.of("dev.netrun.remote.Tasks.block"));
                await().atMost(WAIT).until(() -> started(manager, 0) && started(manager, 1));
                List<ProcessHandle> children = serverJvm.process.descendants().toList();
                assertThat(children).hasSizeGreaterThanOrEqualTo(2);

                serverJvm.process.destroyForcibly();

                for (CompletableFuture<JobResult> job : List.of(job0, job1)) {
                    assertThatThrownBy(() -> job.get(SOON.toMillis(), TimeUnit.MILLISECONDS))
                            .isInstanceOf(ExecutionException.class)
                            .cause().isInstanceOf(WorkerCrashedException.class).hasMessageContaining(address);
                }
                assertThatThrownBy(() -> pendingRecv.get(SOON.toMillis(), TimeUnit.MILLISECONDS))
                        .cause().isInstanceOf(WorkerCrashedException.class)
                        .hasMessageContaining("lost the connection to netrun server " + address);
                assertThatThrownBy(() -> raw.send(0, "echo", 1)).isInstanceOf(WorkerCrashedException.class);
                assertThatThrownBy(() -> manager.run("remote", 0, Job.of("dev.netrun.remote.Tasks.add").args(1, 2)))
                        .isInstanceOf(WorkerCrashedException.class);
                // the orphaned children of the killed server leave by themselves
                await().atMost(WAIT).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
            } finally {
                manager.close();
                raw.close();
            }
        }
    }

    private static boolean started(ExecutionManager manager, int workerId) {
        List<SubmittedJobInfo> jobs = manager.getWorkerJobs("remote", workerId);
        return !jobs.isEmpty() && jobs.get(0).timestampUtcStarted() != null;
    }

    @Test
    void aClientThatVanishesHasItsPoolAndChildJvmsClosedByTheServer() throws Exception {
        try (RemotePoolServer server = new RemotePoolServer("127.0.0.1", 0)) {
            server.registerWorker("scripted", ScriptedWorker.class);
            server.start();
            List<Long> pids;
            try (Jvm clientJvm = Jvm.start(RemoteClientMain.class, server.address(), "2")) {
                assertThat(clientJvm.readLine(Duration.ofSeconds(60))).isEqualTo("ready");
                assertThat(server.livePools()).isEqualTo(1);
                pids = server.childPids();
                assertThat(pids).hasSize(2).allSatisfy(pid -> assertThat(ProcessHandle.of(pid)).isPresent());
                clientJvm.process.destroyForcibly(); // no goodbye: the connection just drops
            }
            await().atMost(WAIT).until(() -> server.livePools() == 0);
            await().atMost(WAIT).until(() -> pids.stream()
                    .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
            assertThat(ProcessHandle.current().descendants().filter(p -> pids.contains(p.pid()))).isEmpty();
        }
    }

    @Test
    void manyClientsAtOnceEachGetTheirOwnPool() throws Exception {
        try (RemotePoolServer server = new RemotePoolServer("127.0.0.1", 0)) {
            server.registerWorker("scripted", ScriptedWorker.class);
            server.start();
            int n = 3;
            List<RemotePoolClient> clients = new ArrayList<>();
            try {
                List<CompletableFuture<RemotePoolClient>> creating = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    creating.add(CompletableFuture.supplyAsync(() -> {
                        RemotePoolClient c = new RemotePoolClient(server.address());
                        c.createPool("scripted", 1, 1);
                        return c;
                    }));
                }
                for (CompletableFuture<RemotePoolClient> f : creating) {
                    clients.add(f.get(60, TimeUnit.SECONDS));
                }
                assertThat(server.livePools()).isEqualTo(n);
                assertThat(server.childPids()).hasSize(n).doesNotHaveDuplicates();
                for (int round = 0; round < 20; round++) {
                    for (int i = 0; i < n; i++) {
                        clients.get(i).send(0, "echo", "client " + i + " round " + round);
                    }
                }
                for (int round = 0; round < 20; round++) {
                    for (int i = 0; i < n; i++) {
                        assertThat(clients.get(i).recv(WAIT).data()).isEqualTo("client " + i + " round " + round);
                    }
                }
                for (RemotePoolClient c : clients) {
                    assertThat(c.tryRecv()).isEmpty();
                }
                clients.get(0).close();
                await().atMost(WAIT).until(() -> server.livePools() == n - 1);
                clients.get(1).send(0, "echo", "still served");
                assertThat(clients.get(1).recv(WAIT).data()).isEqualTo("still served");
            } finally {
                clients.forEach(RemotePoolClient::close);
            }
        }
    }

    @Test
    void closingTheServerFailsItsClientsPendingWorkAndEndsTheirChildren() throws Exception {
        RemotePoolServer server = new RemotePoolServer("127.0.0.1", 0);
        server.registerWorker("scripted", ScriptedWorker.class);
        server.start();
        try (RemotePoolClient c = new RemotePoolClient(server.address())) {
            c.createPool("scripted", 1, 1);
            List<Long> pids = server.childPids();
            CompletableFuture<WorkerMessage> pending = CompletableFuture.supplyAsync(c::recv);
            server.close();
            server.close(); // idempotent
            assertThatThrownBy(() -> pending.get(SOON.toMillis(), TimeUnit.MILLISECONDS))
                    .cause().isInstanceOf(WorkerCrashedException.class).hasMessageContaining("shutting down");
            await().atMost(WAIT).until(() -> pids.stream()
                    .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
            assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class);
        } finally {
            server.close();
        }
        RemotePoolClient late = new RemotePoolClient(server.address());
        assertThatThrownBy(late::connect).isInstanceOf(PoolException.class);
    }
}
