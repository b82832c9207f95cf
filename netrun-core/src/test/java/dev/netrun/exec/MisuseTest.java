package dev.netrun.exec;

import dev.netrun.pool.Pool;
import dev.netrun.pool.SingleWorkerPool;
import dev.netrun.pool.ThreadPool;

import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * SPEC 4, behaviour 10 and the contract's misuse rules: wrong ids and lifecycle misuse fail at once with
 * {@link IllegalArgumentException} / {@link IllegalStateException} naming what is wrong ({@code runAsync}
 * and {@code runAllocateAsync} return failed futures instead of throwing); {@code null}s are rejected; the
 * pool listing is in config order.
 */
class MisuseTest extends ExecTestSupport {
    private static final JobFunction OK = JobFunction.of(() -> "ok");

    private static void assertIllegalArgumentNaming(String what, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(what);
    }

    @ForEachPoolKind
    void startingTwiceIsIllegal(PoolKind kind) {
        ExecutionManager manager = started("p", kind.config(1));

        assertThatThrownBy(manager::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("started");
        manager.sendFunctionToPool("p", "ok", OK);
        assertThat(manager.run("p", 0, Job.of("ok")).result()).as("still running").isEqualTo("ok");
    }

    @ForEachPoolKind
    void anUnknownPoolIdIsRejectedNamingIt(PoolKind kind) {
        ExecutionManager manager = started("p", kind.config(1));

        assertIllegalArgumentNaming("nope", () -> manager.run("nope", 0, Job.of("ok")));
        assertThat(failureOf(manager.runAsync("nope", 0, Job.of("ok"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nope");
        assertIllegalArgumentNaming("nope", () -> manager.sendFunction("nope", 0, "ok", OK));
        assertIllegalArgumentNaming("nope", () -> manager.sendFunctionToPool("nope", "ok", OK));
        assertIllegalArgumentNaming("nope", () -> manager.getWorkerJobs("nope", 0));
        assertIllegalArgumentNaming("nope", () -> manager.getNumWorkers("nope"));
        assertIllegalArgumentNaming("nope", () -> manager.getWorkerIds("nope"));
        assertIllegalArgumentNaming("nope", () -> manager.getProcessIds("nope"));
    }

    @ForEachPoolKind
    void anOutOfRangeWorkerIdIsRejectedNamingIt(PoolKind kind) {
        ExecutionManager manager = started("p", kind.config(1));

        for (int bad : new int[]{-1, 1, 42}) {
            String id = String.valueOf(bad);
            assertIllegalArgumentNaming(id, () -> manager.run("p", bad, Job.of("ok")));
            assertThat(failureOf(manager.runAsync("p", bad, Job.of("ok"))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(id).hasMessageContaining("'p'");
            assertIllegalArgumentNaming(id, () -> manager.sendFunction("p", bad, "ok", OK));
            assertIllegalArgumentNaming(id, () -> manager.getWorkerJobs("p", bad));
        }
    }

    @ForEachPoolKind
    void processOperationsOnAPoolWithoutProcessesAreRejected(PoolKind kind) {
        ExecutionManager manager = started("p", kind.config(1));
        if (kind.poolType() == dev.netrun.pool.MultiprocessPool.class) {
            assertThat(manager.getProcessIds("p")).containsExactly(0);
            assertThat(manager.flushAllPoolStdout("p", java.time.Duration.ofSeconds(5))).containsOnlyKeys(0);
            assertIllegalArgumentNaming("7", () -> manager.flushPoolStdout("p", 7, java.time.Duration.ofSeconds(5)));
            return;
        }

        assertIllegalArgumentNaming("'p'", () -> manager.getProcessIds("p"));
        assertIllegalArgumentNaming("'p'", () -> manager.flushPoolStdout("p", 0, Duration.ofSeconds(1)));
        assertIllegalArgumentNaming("'p'", () -> manager.flushAllPoolStdout("p", Duration.ofSeconds(1)));
    }

    @ForEachPoolKind
    void runningBeforeStartOrAfterCloseIsIllegal(PoolKind kind) {
        ExecutionManager manager = manager(Map.of("p", kind.config(1)));

        assertThatThrownBy(() -> manager.run("p", 0, Job.of("ok")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not started");
        assertThat(failureOf(manager.runAsync("p", 0, Job.of("ok")))).isInstanceOf(IllegalStateException.class);
        assertThat(failureOf(manager.runAllocateAsync(List.of(WorkerTarget.pool("p")),
                RunAllocationMethod.ROUND_ROBIN, Job.of("ok")))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> manager.sendFunction("p", 0, "ok", OK)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> manager.sendFunctionToPool("p", "ok", OK)).isInstanceOf(IllegalStateException.class);

        manager.start();
        manager.close();

        assertThatThrownBy(() -> manager.run("p", 0, Job.of("ok")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThat(failureOf(manager.runAsync("p", 0, Job.of("ok")))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> manager.runAllocate(List.of(WorkerTarget.pool("p")), RunAllocationMethod.RANDOM,
                Job.of("ok"))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> manager.sendFunctionToPool("p", "ok", OK)).isInstanceOf(IllegalStateException.class);
    }

    @ForEachPoolKind
    void nullsAreRejected(PoolKind kind) {
        ExecutionManager manager = started("p", kind.config(1));

        assertThatThrownBy(() -> manager.run("p", 0, null)).isInstanceOf(NullPointerException.class);
        assertThat(failureOf(manager.runAsync("p", 0, null))).isInstanceOf(NullPointerException.class);
        assertThat(failureOf(manager.runAsync(null, 0, Job.of("ok")))).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> manager.sendFunction("p", 0, null, OK)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> manager.sendFunction("p", 0, "k", null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> manager.sendFunctionToPool("p", null, OK)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> manager.sendFunctionToPool("p", "k", null)).isInstanceOf(NullPointerException.class);
        assertThat(failureOf(manager.runAllocateAsync(null, RunAllocationMethod.RANDOM, Job.of("ok"))))
                .isInstanceOf(NullPointerException.class);
        assertThat(failureOf(manager.runAllocateAsync(List.of(WorkerTarget.pool("p")), null, Job.of("ok"))))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> manager.runAllocate(List.of(WorkerTarget.pool("p")), RunAllocationMethod.RANDOM,
                null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> Job.of(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new ExecutionManager(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void poolsListsIdsAndTypesInConfigOrderBeforeAndAfterStart() {
        LinkedHashMap<String, PoolConfig> configs = new LinkedHashMap<>();
        configs.put("zeta", PoolConfig.thread(2));
        configs.put("main", PoolConfig.main());
        configs.put("alpha", PoolConfig.thread(1));
        ExecutionManager manager = manager(configs);
        List<PoolInfo> expected = List.of(new PoolInfo("zeta", ThreadPool.class),
                new PoolInfo("main", SingleWorkerPool.class), new PoolInfo("alpha", ThreadPool.class));

        assertThat(manager.pools()).isEqualTo(expected);
        manager.start();
        assertThat(manager.pools()).isEqualTo(expected);
    }

    @ForEachPoolKind
    void poolsReportsTheKindsPoolType(PoolKind kind) {
        assertThat(manager(Map.of("p", kind.config(1))).pools()).containsExactly(new PoolInfo("p", kind.poolType()));
    }

    @Test
    void workerIdsAreNamedAfterTheirPool() {
        LinkedHashMap<String, PoolConfig> configs = new LinkedHashMap<>();
        configs.put("compute", PoolConfig.thread(3));
        configs.put("main", PoolConfig.main());
        ExecutionManager manager = manager(configs);

        assertThat(manager.getNumWorkers("compute")).isEqualTo(3);
        assertThat(manager.getWorkerIds("compute")).containsExactly("compute_0", "compute_1", "compute_2");
        assertThat(manager.getNumWorkers("main")).isEqualTo(1);
        assertThat(manager.getWorkerIds("main")).containsExactly("main_0");
    }

    /** A pool kind whose pool cannot be built: its pool disagrees with the config about its size. */
    private static final class MisbuiltConfig extends PoolConfig {
        MisbuiltConfig() {
            super(DEFAULT_PRINT_FLUSH_INTERVAL, true);
        }

        @Override
        public int numWorkers() {
            return 2;
        }

        @Override
        public Class<? extends Pool> poolType() {
            return ThreadPool.class;
        }

        @Override
        protected PoolConfig copy(Duration printFlushInterval, boolean capturePrints) {
            return this;
        }

        @Override
        protected Pool createPool(String poolId) {
            return new ThreadPool(workerFunction(), 3);
        }
    }

    @Test
    void aPoolThatCannotBeBuiltFailsStartAndLeavesNothingRunning() {
        PrintStream out = System.out;
        long before = netrunThreads();
        LinkedHashMap<String, PoolConfig> configs = new LinkedHashMap<>();
        configs.put("fine", PoolConfig.thread(2));
        configs.put("broken", new MisbuiltConfig());
        ExecutionManager manager = manager(configs);

        assertThatThrownBy(manager::start).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("broken");

        assertThat(System.out).as("capture released again").isSameAs(out);
        Awaitility.await("the pool started before is closed again").atMost(WAIT)
                .until(() -> netrunThreads() <= before);
        assertThatThrownBy(() -> manager.run("fine", 0, Job.of("x"))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(manager::start).as("still not startable").isInstanceOf(IllegalArgumentException.class);
    }

    private static long netrunThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("netrun-")).count();
    }

    @Test
    void invalidConfigsAreRejectedOnConstruction() {
        assertThatThrownBy(() -> PoolConfig.thread(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0");
        assertThatThrownBy(() -> PoolConfig.thread(2).withPrintFlushInterval(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ExecutionManager(Map.of(" ", PoolConfig.main())))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(PoolConfig.thread(2).withCapturePrints(false).capturePrints()).isFalse();
        assertThat(PoolConfig.thread(2).withPrintFlushInterval(Duration.ofMillis(5)).numWorkers()).isEqualTo(2);
    }
}
