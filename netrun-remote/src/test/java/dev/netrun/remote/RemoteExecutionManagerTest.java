package dev.netrun.remote;

import dev.netrun.exec.ExecutionManager;
import dev.netrun.exec.Job;
import dev.netrun.exec.JobFailedException;
import dev.netrun.exec.JobFunction;
import dev.netrun.exec.JobResult;
import dev.netrun.exec.PoolConfig;
import dev.netrun.exec.PoolInfo;
import dev.netrun.exec.PrintEntry;
import dev.netrun.exec.RunAllocationMethod;
import dev.netrun.exec.WorkerTarget;
import dev.netrun.pool.OutputEntry;
import dev.netrun.pool.ThreadPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * The ExecutionManager behaviours of SPEC 4 over a {@link RemotePoolConfig}: one shared server, one shared
 * manager with a local thread pool and a remote pool of one child JVM with two workers.
 */
@Tag("slow")
class RemoteExecutionManagerTest {
    static final Duration WAIT = Duration.ofSeconds(30);

    static RemotePoolServer server;
    static ExecutionManager manager;

    @BeforeAll
    static void start() {
        server = new RemotePoolServer("127.0.0.1", 0);
        server.start();
        Map<String, PoolConfig> pools = new LinkedHashMap<>();
        pools.put("local", PoolConfig.thread(2));
        pools.put("remote", RemotePoolConfig.of(server.address()).withProcesses(1, 2)
                .withPrintFlushInterval(Duration.ofMillis(20)));
        manager = new ExecutionManager(pools);
        manager.start();
    }

    @AfterAll
    static void close() {
        if (manager != null) {
            manager.close();
        }
        server.close();
    }

    @Test
    void theRemotePoolIsListedWithItsKindWorkersAndProcesses() {
        assertThat(manager.pools()).containsExactly(new PoolInfo("local", ThreadPool.class),
                new PoolInfo("remote", RemotePoolClient.class));
        assertThat(manager.getNumWorkers("remote")).isEqualTo(2);
        assertThat(manager.getWorkerIds("remote")).containsExactly("remote_0", "remote_1");
        assertThat(manager.getProcessIds("remote")).containsExactly(0);
        assertThat(server.livePools()).isEqualTo(1);
    }

    @Test
    void aSerializableLambdaSentByKeyRunsRemotely() {
        manager.sendFunctionToPool("remote", "add", JobFunction.of((Integer a, Integer b) -> a + b));
        JobResult r = manager.run("remote", 1, Job.of("add").args(3, 4));
        assertThat(r.result()).isEqualTo(7);
        assertThat(r.poolId()).isEqualTo("remote");
        assertThat(r.workerId()).isEqualTo(1);
        assertThat(r.convertedToStr()).isFalse();
        assertThat(r.funcImportPathOrKey()).isEqualTo("add");
        assertThat(r.timestampUtcSubmitted()).isBeforeOrEqualTo(r.timestampUtcStarted());
        assertThat(r.timestampUtcStarted()).isBeforeOrEqualTo(r.timestampUtcCompleted());
    }

    @Test
    void functionsAreFoundByImportPath() {
        assertThat(manager.run("remote", 0, Job.of("dev.netrun.remote.Tasks.add").args(1, 2)).result()).isEqualTo(3);
        assertThat(manager.run("remote", 0, Job.of("dev.netrun.remote.Tasks.add")
                .kwargs(Map.of("a", 5, "b", 6))).result()).isEqualTo(11);
        assertThat(manager.run("remote", 1, Job.of("dev.netrun.remote.AddJob").args(2, 2)).result()).isEqualTo(4);
    }

    @Test
    void printsAreCapturedPerJobAndStreamedToOnPrintWhileTheJobRuns() throws Exception {
        try (ServerSocket gate = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            List<String> streamed = new CopyOnWriteArrayList<>();
            CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return gate.accept();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            CompletableFuture<JobResult> f = manager.runAsync("remote", 0,
                    Job.of("dev.netrun.remote.Tasks.printWaitPrint").args(gate.getLocalPort())
                            .onPrint(lines -> lines.forEach(l -> streamed.add(l.text()))));
            // the job waits on the gate until its first line has reached onPrint: proof that it streamed while running
            await().atMost(WAIT).until(() -> streamed.contains("first\n"));
            assertThat(f).isNotDone();
            try (Socket s = accepted.get(WAIT.toMillis(), TimeUnit.MILLISECONDS); OutputStream out = s.getOutputStream()) {
                out.write(1);
                out.flush();
                JobResult r = f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                assertThat(r.result()).isEqualTo("done");
                assertThat(r.printBuffer()).extracting(PrintEntry::text).containsExactly("first\n", "second\n");
                assertThat(streamed).containsExactly("first\n", "second\n");
            }
        }
    }

    @Test
    void aThrowingJobFailsWithJobFailedExceptionAndTheWorkerGoesOn() {
        manager.sendFunctionToPool("remote", "fail", JobFunction.of((String why) -> {
            System.out.println("about to fail");
            throw new IllegalArgumentException(why);
        }));
        JobFailedException e = catchThrowableOfType(JobFailedException.class,
                () -> manager.run("remote", 0, Job.of("fail").args("on purpose")));
        assertThat(e.remoteClassName()).isEqualTo(IllegalArgumentException.class.getName());
        assertThat(e.remoteMessage()).isEqualTo("on purpose");
        assertThat(e.remoteStackTrace()).contains("IllegalArgumentException");
        assertThat(e.printBuffer()).extracting(PrintEntry::text).containsExactly("about to fail\n");
        assertThat(e.poolId()).isEqualTo("remote");
        assertThat(manager.run("remote", 0, Job.of("dev.netrun.remote.Tasks.hello").args("again")).result())
                .isEqualTo("hello again");
    }

    @Test
    void anUnknownFunctionIsAJobFailureNamingIt() {
        assertThatThrownBy(() -> manager.run("remote", 0, Job.of("no.such.Function")))
                .isInstanceOf(JobFailedException.class).hasMessageContaining("no.such.Function");
    }

    @Test
    void aResultThatCannotBeSerializedComesBackAsItsString() {
        manager.sendFunctionToPool("remote", "thread", JobFunction.of(() -> new NotSerializable("x")));
        JobResult r = manager.run("remote", 1, Job.of("thread"));
        assertThat(r.convertedToStr()).isTrue();
        assertThat(r.result()).isEqualTo("NotSerializable(x)");
    }

    /** A result that cannot travel. */
    static final class NotSerializable {
        final String name;

        NotSerializable(String name) {
            this.name = name;
        }

        @Override
        public String toString() {
            return "NotSerializable(" + name + ")";
        }
    }

    @Test
    void aFunctionThatCannotBeSerializedIsRefusedNamingKeyAndPool() {
        NotSerializable captured = new NotSerializable("captured");
        JobFunction fn = args -> captured.name;
        assertThatThrownBy(() -> manager.sendFunctionToPool("remote", "bad", fn))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad").hasMessageContaining("remote");
    }

    @Test
    void oneRunAllocateSpreadsJobsOverTheLocalAndTheRemotePool() {
        manager.sendFunctionToPool("local", "where", JobFunction.of(() -> ProcessHandle.current().pid()));
        manager.sendFunctionToPool("remote", "where", JobFunction.of(() -> ProcessHandle.current().pid()));
        List<WorkerTarget> targets = List.of(WorkerTarget.pool("local"), WorkerTarget.pool("remote"));
        List<CompletableFuture<JobResult>> futures = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            futures.add(manager.runAllocateAsync(targets, RunAllocationMethod.ROUND_ROBIN, Job.of("where")));
        }
        List<JobResult> results = futures.stream().map(f -> f.orTimeout(30, TimeUnit.SECONDS).join()).toList();
        assertThat(results).extracting(JobResult::poolId).containsOnly("local", "remote")
                .filteredOn("remote"::equals).hasSize(4);
        long here = ProcessHandle.current().pid();
        assertThat(results).filteredOn(r -> r.poolId().equals("local")).extracting(JobResult::result).containsOnly(here);
        assertThat(results).filteredOn(r -> r.poolId().equals("remote")).extracting(JobResult::result)
                .doesNotContain(here);
        JobResult one = manager.runAllocate(targets, RunAllocationMethod.LEAST_BUSY, Job.of("where"));
        assertThat(one.poolId()).isIn("local", "remote");
    }

    @Test
    void theProcessOutputOfTheRemotePoolCanBeFlushedByIndex() {
        manager.run("remote", 0, Job.of("dev.netrun.remote.Tasks.toStderr").args("seen by flushPoolStdout"));
        List<OutputEntry> out = manager.flushPoolStdout("remote", 0, WAIT);
        assertThat(out).filteredOn(e -> e.text().equals("seen by flushPoolStdout\n")).singleElement()
                .satisfies(e -> assertThat(e.isStdout()).isFalse());
        assertThat(manager.flushAllPoolStdout("remote", WAIT)).containsOnlyKeys(0);
        assertThatThrownBy(() -> manager.flushPoolStdout("remote", 1, WAIT)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void manyConcurrentJobsAllComeBack() {
        List<CompletableFuture<JobResult>> futures = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            futures.add(manager.runAsync("remote", i % 2, Job.of("dev.netrun.remote.Tasks.add").args(i, 1)));
        }
        for (int i = 0; i < 500; i++) {
            assertThat(futures.get(i).orTimeout(30, TimeUnit.SECONDS).join().result()).isEqualTo(i + 1);
        }
    }
}
