package dev.netrun.exec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * SPEC 4, behaviour 12: every public method is safe from any thread; thousands of concurrent {@code runAsync}
 * calls are normal use; and {@code close()} racing with submissions never leaves a future incomplete.
 */
class ConcurrencyTest extends ExecTestSupport {
    private static final int SUBMITTERS = 4;

    @ForEachPoolKind
    void thousandsOfConcurrentRunAsyncCallsAllCompleteWithTheirOwnResults(PoolKind kind) throws Exception {
        Rig rig = rig(kind, 3);
        rig.sendToAll("add", JobFunction.of((Integer a, Integer b) -> a + b));
        int perSubmitter = 1250;
        ExecutorService submitters = Executors.newFixedThreadPool(SUBMITTERS);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<CompletableFuture<JobResult>>>> batches = new ArrayList<>();
            for (int s = 0; s < SUBMITTERS; s++) {
                int submitter = s;
                batches.add(submitters.submit(() -> {
                    go.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                    List<CompletableFuture<JobResult>> mine = new ArrayList<>(perSubmitter);
                    for (int i = 0; i < perSubmitter; i++) {
                        Job job = Job.of("add").args(submitter * 100_000, i);
                        mine.add(i % 2 == 0 ? rig.runAsync(i % 3, job)
                                : rig.manager().runAllocateAsync(rig.targets(), RunAllocationMethod.values()[i % 3], job));
                    }
                    return mine;
                }));
            }
            go.countDown();

            int total = 0;
            for (int s = 0; s < SUBMITTERS; s++) {
                List<CompletableFuture<JobResult>> mine = batches.get(s).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                CompletableFuture.allOf(mine.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
                for (int i = 0; i < mine.size(); i++) {
                    assertThat(mine.get(i).join().result()).isEqualTo(s * 100_000 + i);
                    total++;
                }
            }
            assertThat(total).isEqualTo(SUBMITTERS * perSubmitter);
            for (int w = 0; w < 3; w++) {
                assertThat(rig.jobs(w)).isEmpty();
            }
        } finally {
            submitters.shutdownNow();
        }
    }

    @Test
    void closeRacingWithSubmissionsNeverLeavesAFutureIncomplete() throws Exception {
        LinkedHashMap<String, PoolConfig> pools = new LinkedHashMap<>();
        pools.put("t", PoolConfig.thread(2));
        pools.put("m", PoolConfig.main());
        ExecutorService submitters = Executors.newFixedThreadPool(SUBMITTERS);
        try {
            for (int round = 0; round < 25; round++) {
                ExecutionManager manager = started(pools);
                manager.sendFunctionToPool("t", "id", JobFunction.of((Integer i) -> i));
                manager.sendFunctionToPool("m", "id", JobFunction.of((Integer i) -> i));
                CountDownLatch someSubmitted = new CountDownLatch(SUBMITTERS * 20);
                List<Future<List<CompletableFuture<JobResult>>>> batches = new ArrayList<>();
                for (int s = 0; s < SUBMITTERS; s++) {
                    batches.add(submitters.submit(() -> {
                        List<CompletableFuture<JobResult>> mine = new ArrayList<>();
                        for (int i = 0; i < 300; i++) {
                            Job job = Job.of("id").args(i);
                            mine.add(switch (i % 3) {
                                case 0 -> manager.runAsync("t", i % 2, job);
                                case 1 -> manager.runAsync("m", 0, job);
                                default -> manager.runAllocateAsync(List.of(WorkerTarget.pool("t"),
                                        WorkerTarget.pool("m")), RunAllocationMethod.LEAST_BUSY, job);
                            });
                            someSubmitted.countDown();
                        }
                        return mine;
                    }));
                }
                await(someSubmitted);
                manager.close();

                for (Future<List<CompletableFuture<JobResult>>> batch : batches) {
                    List<CompletableFuture<JobResult>> mine = batch.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                    for (int i = 0; i < mine.size(); i++) {
                        assertCompletedProperly(mine.get(i), i);
                    }
                }
            }
        } finally {
            submitters.shutdownNow();
        }
    }

    /** The future completes, within the bound, with its own value or with a close-related failure. */
    private static void assertCompletedProperly(CompletableFuture<JobResult> future, int expected) throws Exception {
        try {
            assertThat(future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).result()).isEqualTo(expected);
        } catch (CancellationException e) {
            // closed while in flight
        } catch (java.util.concurrent.ExecutionException e) {
            assertThat(e.getCause()).as("how a job submitted around close() failed")
                    .isInstanceOfAny(CancellationException.class, IllegalStateException.class);
        } catch (TimeoutException e) {
            fail("a future was left incomplete after close()");
        }
    }
}
