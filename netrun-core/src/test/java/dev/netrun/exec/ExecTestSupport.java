package dev.netrun.exec;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * What every exec test needs: managers and gates that are cleaned up after each test (gates opened first, so
 * that no job is left blocking a close), bounded waits on futures and latches, and {@link Rig}s of N workers
 * of any {@link PoolKind}. Every test method also has a generous {@link Timeout}, so that a blocking
 * {@code run()} whose job never completes fails the test instead of hanging the suite.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a backstop: blocking run() calls fail instead of hanging the suite
abstract class ExecTestSupport {
    static final Duration WAIT = Gate.WAIT;

    private final List<ExecutionManager> managers = new CopyOnWriteArrayList<>();
    private final List<Gate> gates = new CopyOnWriteArrayList<>();

    @AfterEach
    void openGatesAndCloseManagers() {
        gates.forEach(Gate::open);
        for (ExecutionManager m : managers) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), m::close, "close() of a test's manager hung");
        }
    }

    /** A gate opened at the latest when the test ends. */
    Gate gate(String name) {
        Gate g = new Gate(name);
        gates.add(g);
        return g;
    }

    /** A manager, not started, closed when the test ends. */
    ExecutionManager manager(Map<String, ? extends PoolConfig> pools) {
        ExecutionManager m = new ExecutionManager(pools);
        managers.add(m);
        return m;
    }

    /** A started manager, closed when the test ends. */
    ExecutionManager started(Map<String, ? extends PoolConfig> pools) {
        ExecutionManager m = manager(pools);
        m.start();
        return m;
    }

    ExecutionManager started(String poolId, PoolConfig config) {
        return started(Map.of(poolId, config));
    }

    /** A started manager with {@code workers} workers of this kind. */
    Rig rig(PoolKind kind, int workers) {
        return rig(kind, workers, UnaryOperator.identity());
    }

    /**
     * A started manager with {@code workers} workers of this kind: one pool {@code "p"} if the kind allows it,
     * else pools {@code "p0"}, {@code "p1"}, ... each as large as the kind allows.
     */
    Rig rig(PoolKind kind, int workers, UnaryOperator<PoolConfig> customize) {
        LinkedHashMap<String, PoolConfig> pools = new LinkedHashMap<>();
        List<WorkerRef> refs = new ArrayList<>();
        if (workers <= kind.maxWorkersPerPool()) {
            pools.put("p", customize.apply(kind.config(workers)));
            for (int i = 0; i < workers; i++) {
                refs.add(new WorkerRef("p", i));
            }
        } else {
            int left = workers;
            for (int p = 0; left > 0; p++) {
                int n = Math.min(left, kind.maxWorkersPerPool());
                pools.put("p" + p, customize.apply(kind.config(n)));
                for (int i = 0; i < n; i++) {
                    refs.add(new WorkerRef("p" + p, i));
                }
                left -= n;
            }
        }
        return new Rig(started(pools), List.copyOf(pools.keySet()), List.copyOf(refs));
    }

    /** Runs {@code task} on a new thread of its own (never a shared pool that a blocked task could starve). */
    static <T> CompletableFuture<T> onNewThread(String name, Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return result;
    }

    /** Waits (bounded) for a future that must succeed. */
    static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("expected success, the future failed with " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("future did not complete within " + WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Waits (bounded) for a future that must fail, and returns what it failed with, unwrapped. */
    static Throwable failureOf(CompletableFuture<?> future) {
        try {
            Object value = future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return fail("expected a failure, the future completed with " + value);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (CancellationException e) {
            return e;
        } catch (TimeoutException e) {
            return fail("future did not complete within " + WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Waits (bounded) until the latch reaches zero. */
    static void await(CountDownLatch latch) throws InterruptedException {
        assertThat(latch.await(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .as("latch reached zero within %s (count left: %d)", WAIT, latch.getCount()).isTrue();
    }

    /** Runs a call that must fail with a {@link JobFailedException}, and returns it. */
    static JobFailedException jobFailure(ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t).as("what the call threw").isInstanceOf(JobFailedException.class);
        return (JobFailedException) t;
    }

    /** One worker of a rig. */
    record WorkerRef(String poolId, int workerId) {
        static WorkerRef of(JobResult r) {
            return new WorkerRef(r.poolId(), r.workerId());
        }

        static WorkerRef of(SubmittedJobInfo i) {
            return new WorkerRef(i.poolId(), i.workerId());
        }
    }

    /** A started manager and an ordered list of its workers. */
    record Rig(ExecutionManager manager, List<String> poolIds, List<WorkerRef> workers) {
        /** Targets covering exactly the rig's workers, in order. */
        List<WorkerTarget> targets() {
            return poolIds.stream().map(WorkerTarget::pool).toList();
        }

        WorkerRef worker(int index) {
            return workers.get(index);
        }

        void sendToAll(String key, JobFunction function) {
            poolIds.forEach(p -> manager.sendFunctionToPool(p, key, function));
        }

        JobResult run(int index, Job job) {
            WorkerRef w = workers.get(index);
            return manager.run(w.poolId(), w.workerId(), job);
        }

        CompletableFuture<JobResult> runAsync(int index, Job job) {
            WorkerRef w = workers.get(index);
            return manager.runAsync(w.poolId(), w.workerId(), job);
        }

        List<SubmittedJobInfo> jobs(int index) {
            WorkerRef w = workers.get(index);
            return manager.getWorkerJobs(w.poolId(), w.workerId());
        }

        /** The index in {@link #workers()} of the worker that ran this job. */
        int indexOf(JobResult r) {
            int i = workers.indexOf(WorkerRef.of(r));
            assertThat(i).as("worker %s of result is one of the rig's", WorkerRef.of(r)).isNotNegative();
            return i;
        }
    }
}
