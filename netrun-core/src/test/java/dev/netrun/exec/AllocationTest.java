package dev.netrun.exec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SPEC 4, behaviour 8: ROUND_ROBIN spreads jobs evenly, also when submitted concurrently (the seed sent six
 * concurrent jobs on three workers all to worker 0); RANDOM is uniform; LEAST_BUSY counts jobs chosen but
 * not yet sent; and the targets can mix pools and single workers.
 */
class AllocationTest extends ExecTestSupport {

    /** How many jobs each rig worker got, by rig index. */
    private static Map<Integer, Long> perWorker(Rig rig, List<JobResult> results) {
        return results.stream().collect(Collectors.groupingBy(rig::indexOf, Collectors.counting()));
    }

    /**
     * Submits {@code n} jobs with runAllocateAsync from {@code n} threads released together, and returns their
     * futures once every call has returned.
     */
    private static List<CompletableFuture<JobResult>> submitConcurrently(Rig rig, RunAllocationMethod method, Job job,
                                                                         int n) throws Exception {
        ExecutorService submitters = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch ready = new CountDownLatch(n);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<CompletableFuture<JobResult>>> calls = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                calls.add(submitters.submit(() -> {
                    ready.countDown();
                    go.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                    return rig.manager().runAllocateAsync(rig.targets(), method, job);
                }));
            }
            await(ready);
            go.countDown();
            List<CompletableFuture<JobResult>> futures = new ArrayList<>();
            for (Future<CompletableFuture<JobResult>> c : calls) {
                futures.add(c.get(WAIT.toMillis(), TimeUnit.MILLISECONDS));
            }
            return futures;
        } finally {
            submitters.shutdownNow();
        }
    }

    @ForEachPoolKind
    void roundRobinSpreadsConcurrentlySubmittedJobsEvenly(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the jobs wait on a gate in this JVM");
        Rig rig = rig(kind, 3);
        Gate allSubmitted = gate("all submitted");
        rig.sendToAll("block", JobFunction.of(() -> {
            allSubmitted.awaitOpen();
            return null;
        }));

        List<CompletableFuture<JobResult>> futures =
                submitConcurrently(rig, RunAllocationMethod.ROUND_ROBIN, Job.of("block"), 6);
        allSubmitted.open();

        List<JobResult> results = futures.stream().map(ExecTestSupport::await).toList();
        assertThat(perWorker(rig, results)).isEqualTo(Map.of(0, 2L, 1, 2L, 2, 2L));
    }

    @ForEachPoolKind
    void sequentialRoundRobinCyclesThroughTheWorkersInOrder(PoolKind kind) {
        Rig rig = rig(kind, 3);
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));

        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            order.add(rig.indexOf(rig.manager().runAllocate(rig.targets(), RunAllocationMethod.ROUND_ROBIN,
                    Job.of("ok"))));
        }

        assertThat(order).containsExactly(0, 1, 2, 0, 1, 2, 0);
    }

    @ForEachPoolKind
    void roundRobinPicksTheLeastRecentlyUsedWorker(PoolKind kind) {
        Rig rig = rig(kind, 3);
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));
        rig.run(0, Job.of("ok"));
        rig.run(2, Job.of("ok"));

        JobResult r = rig.manager().runAllocate(rig.targets(), RunAllocationMethod.ROUND_ROBIN, Job.of("ok"));

        assertThat(rig.indexOf(r)).as("the worker never used").isEqualTo(1);
        assertThat(rig.indexOf(rig.manager().runAllocate(rig.targets(), RunAllocationMethod.ROUND_ROBIN,
                Job.of("ok")))).as("then the one used longest ago").isEqualTo(0);
    }

    @ForEachPoolKind
    void randomHitsEveryWorkerRoughlyUniformly(PoolKind kind) {
        Rig rig = rig(kind, 3);
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));

        List<CompletableFuture<JobResult>> futures = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            futures.add(rig.manager().runAllocateAsync(rig.targets(), RunAllocationMethod.RANDOM, Job.of("ok")));
        }
        Map<Integer, Long> counts = perWorker(rig, futures.stream().map(ExecTestSupport::await).toList());

        // Binomial(600, 1/3): mean 200, sd 11.5; 120..282 is about seven sd either way.
        assertThat(counts).containsOnlyKeys(0, 1, 2);
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(120L, 282L));
    }

    @ForEachPoolKind
    void leastBusyAvoidsAWorkerBlockedByALongJob(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the long job waits on a gate in this JVM");
        Rig rig = rig(kind, 3);
        Gate entered = gate("long job entered");
        Gate release = gate("release long job");
        rig.sendToAll("long", JobFunction.of(() -> {
            entered.open();
            release.awaitOpen();
            return "long";
        }));
        rig.sendToAll("quick", JobFunction.of(() -> "quick"));
        CompletableFuture<JobResult> longJob = rig.runAsync(0, Job.of("long"));
        entered.awaitOpen();

        for (int i = 0; i < 10; i++) {
            JobResult r = rig.manager().runAllocate(rig.targets(), RunAllocationMethod.LEAST_BUSY, Job.of("quick"));
            assertThat(rig.indexOf(r)).isNotEqualTo(0);
        }
        release.open();
        assertThat(await(longJob).result()).isEqualTo("long");
    }

    @ForEachPoolKind
    void leastBusyCountsJobsChosenButNotYetSent(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the jobs wait on a gate in this JVM");
        Rig rig = rig(kind, 3);
        Gate release = gate("release");
        rig.sendToAll("block", JobFunction.of(() -> {
            release.awaitOpen();
            return null;
        }));

        List<CompletableFuture<JobResult>> futures =
                submitConcurrently(rig, RunAllocationMethod.LEAST_BUSY, Job.of("block"), 9);
        release.open();

        List<JobResult> results = futures.stream().map(ExecTestSupport::await).toList();
        assertThat(perWorker(rig, results)).isEqualTo(Map.of(0, 3L, 1, 3L, 2, 3L));
    }

    @ForEachPoolKind
    void leastBusyForgetsJobsHoweverTheyEnded(PoolKind kind) {
        Rig rig = rig(kind, 2);
        rig.sendToAll("boom", JobFunction.of(() -> {
            throw new IllegalStateException("boom");
        }));
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));
        for (int i = 0; i < 5; i++) {
            rig.run(0, Job.of("ok"));
            assertThatThrownBy(() -> rig.run(0, Job.of("boom"))).isInstanceOf(JobFailedException.class);
            assertThatThrownBy(() -> rig.run(0, Job.of("no-such-function"))).isInstanceOf(JobFailedException.class);
        }
        rig.run(1, Job.of("ok"));

        // Both idle again: the tie goes to the least recently used, worker 0.
        JobResult r = rig.manager().runAllocate(rig.targets(), RunAllocationMethod.LEAST_BUSY, Job.of("ok"));

        assertThat(rig.indexOf(r)).isEqualTo(0);
    }

    @ForEachPoolKind
    void aSingleWorkerTargetAlwaysGetsTheJob(PoolKind kind) {
        Rig rig = rig(kind, 2);
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));
        WorkerRef second = rig.worker(1);
        List<WorkerTarget> targets = List.of(WorkerTarget.worker(second.poolId(), second.workerId()));

        for (RunAllocationMethod method : RunAllocationMethod.values()) {
            for (int i = 0; i < 5; i++) {
                assertThat(WorkerRef.of(rig.manager().runAllocate(targets, method, Job.of("ok")))).isEqualTo(second);
            }
        }
    }

    @Test
    void targetsMixWholePoolsAndSingleWorkersAcrossPools() {
        LinkedHashMap<String, PoolConfig> pools = new LinkedHashMap<>();
        pools.put("a", PoolConfig.thread(2));
        pools.put("b", PoolConfig.thread(3));
        pools.put("m", PoolConfig.main());
        ExecutionManager manager = started(pools);
        for (String p : pools.keySet()) {
            manager.sendFunctionToPool(p, "ok", JobFunction.of(() -> "ok"));
        }
        List<WorkerTarget> targets = List.of(WorkerTarget.pool("a"), WorkerTarget.worker("b", 2),
                WorkerTarget.pool("m"), WorkerTarget.worker("a", 1) /* already in pool a: counted once */);

        List<WorkerRef> order = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            order.add(WorkerRef.of(manager.runAllocate(targets, RunAllocationMethod.ROUND_ROBIN, Job.of("ok"))));
        }

        List<WorkerRef> cycle = List.of(new WorkerRef("a", 0), new WorkerRef("a", 1), new WorkerRef("b", 2),
                new WorkerRef("m", 0));
        assertThat(order.subList(0, 4)).containsExactlyElementsOf(cycle);
        assertThat(order.subList(4, 8)).containsExactlyElementsOf(cycle);
        Map<WorkerRef, Long> random = new LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            random.merge(WorkerRef.of(manager.runAllocate(targets, RunAllocationMethod.RANDOM, Job.of("ok"))), 1L,
                    Long::sum);
        }
        assertThat(random).containsOnlyKeys(cycle.toArray(WorkerRef[]::new));
    }

    @Test
    void roundRobinCountsJobsRunOnAWorkerDirectly() {
        ExecutionManager manager = started("p", PoolConfig.thread(3));
        manager.sendFunctionToPool("p", "ok", JobFunction.of(() -> "ok"));
        List<WorkerTarget> pool = List.of(WorkerTarget.pool("p"));
        manager.runAllocate(pool, RunAllocationMethod.ROUND_ROBIN, Job.of("ok"));
        manager.run("p", 1, Job.of("ok"));

        assertThat(manager.runAllocate(pool, RunAllocationMethod.ROUND_ROBIN, Job.of("ok")).workerId()).isEqualTo(2);
    }

    @ForEachPoolKind
    void anEmptyTargetListIsRejected(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));

        for (RunAllocationMethod method : RunAllocationMethod.values()) {
            assertThatThrownBy(() -> rig.manager().runAllocate(List.of(), method, Job.of("ok")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("No workers available for allocation.");
            assertThat(failureOf(rig.manager().runAllocateAsync(List.of(), method, Job.of("ok"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("No workers available for allocation.");
        }
    }

    @ForEachPoolKind
    void targetsNamingAnUnknownPoolOrWorkerAreRejectedNamingThem(PoolKind kind) {
        Rig rig = rig(kind, 1);
        String pool = rig.poolIds().get(0);
        Function<List<WorkerTarget>, Throwable> allocate = targets ->
                failureOf(rig.manager().runAllocateAsync(targets, RunAllocationMethod.ROUND_ROBIN, Job.of("ok")));

        assertThat(allocate.apply(List.of(WorkerTarget.pool("nowhere"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nowhere");
        assertThat(allocate.apply(List.of(WorkerTarget.pool(pool), WorkerTarget.worker(pool, 57))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("57");
        assertThatThrownBy(() -> rig.manager().runAllocate(List.of(WorkerTarget.worker(pool, 57)),
                RunAllocationMethod.LEAST_BUSY, Job.of("ok")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("57");
        assertThatThrownBy(() -> WorkerTarget.worker(pool, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void concurrentRoundRobinAllocationsFromManyThreadsStayBalanced() throws Exception {
        Rig rig = rig(PoolKind.THREAD, 4);
        Gate release = gate("release");
        rig.sendToAll("block", JobFunction.of(() -> {
            release.awaitOpen();
            return null;
        }));

        List<CompletableFuture<JobResult>> futures =
                submitConcurrently(rig, RunAllocationMethod.ROUND_ROBIN, Job.of("block"), 40);
        release.open();

        assertThat(perWorker(rig, futures.stream().map(ExecTestSupport::await).toList()))
                .isEqualTo(Map.of(0, 10L, 1, 10L, 2, 10L, 3, 10L));
    }
}
