package dev.netrun.exec;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SPEC 4, behaviour 11 (first half): {@code close()} is idempotent, never hangs, and never leaves a caller
 * waiting; a closed manager can be started again.
 */
class CloseTest extends ExecTestSupport {

    @ForEachPoolKind
    void closeIsIdempotent(PoolKind kind) {
        ExecutionManager manager = manager(Map.of("p", kind.config(1)));

        manager.close();
        manager.start();
        manager.close();
        manager.close();

        assertThatThrownBy(() -> manager.run("p", 0, Job.of("x"))).isInstanceOf(IllegalStateException.class);
    }

    @ForEachPoolKind
    void aCallerWaitingOnABlockedJobIsReleasedWithCancellationWhenTheManagerCloses(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate in this JVM");
        Rig rig = rig(kind, 1);
        Gate entered = gate("entered");
        Gate release = gate("release");
        rig.sendToAll("block", JobFunction.of(() -> {
            entered.open();
            release.awaitOpen();
            return "too late";
        }));
        CompletableFuture<JobResult> blocked = rig.runAsync(0, Job.of("block"));
        CompletableFuture<JobResult> queued = rig.runAsync(0, Job.of("block"));
        CompletableFuture<Throwable> blockingRun = onNewThread("test-blocking-run", () -> {
            try {
                rig.run(0, Job.of("block"));
                return null;
            } catch (RuntimeException e) {
                return e;
            }
        });
        entered.awaitOpen();
        Awaitility.await("the blocking run() call is in flight").atMost(WAIT)
                .until(() -> rig.jobs(0).size() == 3);

        CompletableFuture<Void> closing = onNewThread("test-closer", () -> {
            rig.manager().close();
            return null;
        });

        assertThat(failureOf(blocked)).isInstanceOf(CancellationException.class);
        assertThat(failureOf(queued)).isInstanceOf(CancellationException.class);
        assertThat(await(blockingRun)).as("what run() threw").isInstanceOf(CancellationException.class);
        release.open();
        await(closing);
    }

    @Test
    @Tag("slow")
    void closeReturnsEvenIfAJobNeverLeavesItsFunction() {
        ExecutionManager manager = started("p", PoolConfig.thread(2));
        Gate release = gate("release");
        AtomicBoolean stop = new AtomicBoolean();
        Gate entered = gate("entered");
        // Ignores interrupts and the channel closing: only the test can end it, after close() returned.
        manager.sendFunctionToPool("p", "stubborn", JobFunction.of(() -> {
            entered.open();
            while (!stop.get()) {
                try {
                    release.awaitOpen();
                } catch (InterruptedException | TimeoutException e) {
                    // keep waiting
                }
            }
            return null;
        }));
        CompletableFuture<JobResult> job = manager.runAsync("p", 0, Job.of("stubborn"));
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(10), entered::awaitOpen);

            assertTimeoutPreemptively(Duration.ofSeconds(30), manager::close, "close() hung on a stubborn job");

            assertThat(failureOf(job)).isInstanceOf(CancellationException.class);
        } finally {
            stop.set(true);
            release.open();
        }
    }

    @ForEachPoolKind
    void aClosedManagerCanBeStartedAgain(PoolKind kind) {
        ExecutionManager manager = started("p", kind.config(1));
        manager.sendFunctionToPool("p", "add", JobFunction.of((Integer a, Integer b) -> a + b));
        assertThat(manager.run("p", 0, Job.of("add").args(1, 2)).result()).isEqualTo(3);
        manager.close();

        manager.start();

        assertThat(manager.run("p", 0, Job.of("dev.netrun.exec.fixtures.Tasks.add").args(2, 2)).result())
                .isEqualTo(4);
        assertThat(failureOf(manager.runAsync("p", 0, Job.of("add").args(1, 2))))
                .as("functions sent before are gone with the old workers")
                .isInstanceOf(JobFailedException.class);
        manager.sendFunctionToPool("p", "add", JobFunction.of((Integer a, Integer b) -> a + b));
        assertThat(manager.run("p", 0, Job.of("add").args(5, 5)).result()).isEqualTo(10);
    }

    @ForEachPoolKind
    void aJobThatClosesItsOwnManagerDoesNotHang(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "the job captures the manager, which lives in this JVM");
        ExecutionManager manager = started("p", kind.config(1));
        manager.sendFunctionToPool("p", "closeManager", JobFunction.of(() -> {
            manager.close();
            return "closed";
        }));

        CompletableFuture<JobResult> job = manager.runAsync("p", 0, Job.of("closeManager"));

        Throwable failure = failureOf(job);
        assertThat(failure).as("the job was still in flight when its manager closed")
                .isInstanceOf(CancellationException.class);
        assertTimeoutPreemptively(Duration.ofSeconds(20), manager::close);
    }

    @ForEachPoolKind
    void closingFromADependentActionOfAJobDoesNotHang(PoolKind kind) {
        ExecutionManager manager = started("p", kind.config(1));
        manager.sendFunctionToPool("p", "ok", JobFunction.of(() -> "ok"));

        // The dependent action may run on the worker thread that completes the future.
        CompletableFuture<Void> closedAfter = manager.runAsync("p", 0, Job.of("ok")).thenRun(manager::close);

        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> closedAfter.join());
        assertThatThrownBy(() -> manager.run("p", 0, Job.of("ok"))).isInstanceOf(IllegalStateException.class);
    }
}
