package dev.netrun.exec;

import dev.netrun.exec.fixtures.Tasks;
import dev.netrun.pool.WorkerCrashedException;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SPEC 4, behaviour 7: a function that throws fails its own job only, with the whole story (class, message,
 * stack, prints, cause); the worker goes on serving. A worker that dies fails the jobs on it with
 * {@link WorkerCrashedException} and is avoided by allocation.
 */
class FailureIsolationTest extends ExecTestSupport {

    @ForEachPoolKind
    void aThrowingFunctionFailsOnlyItsJobAndTheWorkerRunsTheNextJob(PoolKind kind) {
        Rig rig = rig(kind, 1);
        IllegalStateException boom = new IllegalStateException("boom");
        rig.sendToAll("boom", JobFunction.of(() -> {
            throw boom;
        }));
        rig.sendToAll("ok", JobFunction.of(() -> "still serving"));

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("boom")));

        assertThat(e.remoteClassName()).isEqualTo(IllegalStateException.class.getName());
        assertThat(e.remoteMessage()).isEqualTo("boom");
        assertThat(e.remoteStackTrace()).contains("IllegalStateException", "boom");
        assertThat(e.funcImportPathOrKey()).isEqualTo("boom");
        assertThat(new WorkerRef(e.poolId(), e.workerId())).isEqualTo(rig.worker(0));
        assertThat(e.getMessage()).contains("'boom'", "IllegalStateException");
        if (kind.sharesHeap()) {
            assertThat(e.getCause()).isSameAs(boom);
        }
        for (int i = 0; i < 3; i++) {
            assertThat(rig.run(0, Job.of("ok")).result()).isEqualTo("still serving");
            assertThat(catchThrowable(() -> rig.run(0, Job.of("boom")))).isInstanceOf(JobFailedException.class);
        }
    }

    @ForEachPoolKind
    void runAsyncCompletesWithTheSameJobFailedException(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("boom", JobFunction.of(() -> {
            throw new ArithmeticException("divided by zero");
        }));

        Throwable t = failureOf(rig.runAsync(0, Job.of("boom")));

        assertThat(t).isInstanceOf(JobFailedException.class);
        assertThat(((JobFailedException) t).remoteClassName()).isEqualTo(ArithmeticException.class.getName());
    }

    @ForEachPoolKind
    void aStaticMethodsCheckedExceptionIsTheCauseUnwrapped(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(Tasks.class.getName() + ".failWith").args("no disk")));

        assertThat(e.remoteClassName()).isEqualTo(IOException.class.getName());
        assertThat(e.remoteMessage()).isEqualTo("no disk");
        assertThat(e.remoteStackTrace()).contains("failWith");
        if (kind.sharesHeap()) {
            assertThat(e.getCause()).isInstanceOf(IOException.class).hasMessage("no disk");
        }
    }

    @ForEachPoolKind
    void aFunctionThrowingAnErrorFailsOnlyItsJob(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("error", JobFunction.of(() -> {
            throw new AssertionError("an Error, not an Exception");
        }));
        rig.sendToAll("ok", JobFunction.of(() -> "fine"));

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("error")));

        assertThat(e.remoteClassName()).isEqualTo(AssertionError.class.getName());
        assertThat(rig.run(0, Job.of("ok")).result()).isEqualTo("fine");
    }

    @ForEachPoolKind
    void aFailingJobDoesNotDisturbAJobRunningOnAnotherWorker(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate in this JVM");
        Rig rig = rig(kind, 2);
        Gate entered = gate("entered");
        Gate release = gate("release");
        rig.sendToAll("wait", JobFunction.of(() -> {
            entered.open();
            release.awaitOpen();
            return "waited";
        }));
        rig.sendToAll("boom", JobFunction.of(() -> {
            throw new IllegalStateException("boom");
        }));

        CompletableFuture<JobResult> waiting = rig.runAsync(0, Job.of("wait"));
        entered.awaitOpen();
        assertThat(catchThrowable(() -> rig.run(1, Job.of("boom")))).isInstanceOf(JobFailedException.class);
        assertThat(waiting).isNotDone();
        release.open();

        assertThat(await(waiting).result()).isEqualTo("waited");
    }

    // ---- workers that die

    /** A job that closes its worker's channel: when it returns, the worker loop ends. */
    private static final JobFunction KILL_WORKER = args -> {
        args.channel().close();
        return "closed my channel";
    };

    @ForEachPoolKind
    void aJobWhoseWorkerDiesFailsWithWorkerCrashed(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("kill", KILL_WORKER);

        Throwable t = catchThrowable(() -> rig.run(0, Job.of("kill").sendChannel(true)));

        assertThat(t).isInstanceOf(WorkerCrashedException.class);
        assertThat(((WorkerCrashedException) t).workerId()).isEqualTo(rig.worker(0).workerId());
        assertThat(((WorkerCrashedException) t).reason()).isNotBlank();
        assertThat(rig.jobs(0)).as("in-flight jobs of the dead worker").isEmpty();
    }

    @ForEachPoolKind
    void jobsQueuedBehindTheDeathAndJobsSentAfterItFailWithWorkerCrashed(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate in this JVM");
        Rig rig = rig(kind, 1);
        Gate release = gate("release");
        rig.sendToAll("killLater", args -> {
            release.awaitOpen();
            args.channel().close();
            return null;
        });
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));

        CompletableFuture<JobResult> killer = rig.runAsync(0, Job.of("killLater").sendChannel(true));
        CompletableFuture<JobResult> queued = rig.runAsync(0, Job.of("ok"));
        assertThat(rig.jobs(0)).hasSize(2);
        release.open();

        assertThat(failureOf(killer)).isInstanceOf(WorkerCrashedException.class);
        assertThat(failureOf(queued)).isInstanceOf(WorkerCrashedException.class);
        assertThat(failureOf(rig.runAsync(0, Job.of("ok")))).isInstanceOf(WorkerCrashedException.class);
        assertThat(catchThrowable(() -> rig.run(0, Job.of("ok")))).isInstanceOf(WorkerCrashedException.class);
        assertThat(rig.jobs(0)).isEmpty();
    }

    @ForEachPoolKind
    void otherWorkersKeepServingAfterOneDied(PoolKind kind) {
        Rig rig = rig(kind, 2);
        rig.sendToAll("kill", KILL_WORKER);
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));

        assertThat(catchThrowable(() -> rig.run(0, Job.of("kill").sendChannel(true))))
                .isInstanceOf(WorkerCrashedException.class);

        assertThat(rig.run(1, Job.of("ok")).result()).isEqualTo("ok");
    }

    @ForEachPoolKind
    void allocationAvoidsADeadWorker(PoolKind kind) {
        Rig rig = rig(kind, 3);
        rig.sendToAll("kill", KILL_WORKER);
        rig.sendToAll("ok", JobFunction.of(() -> "ok"));
        assertThat(catchThrowable(() -> rig.run(0, Job.of("kill").sendChannel(true))))
                .isInstanceOf(WorkerCrashedException.class);

        for (RunAllocationMethod method : RunAllocationMethod.values()) {
            for (int i = 0; i < 12; i++) {
                JobResult r = rig.manager().runAllocate(rig.targets(), method, Job.of("ok"));
                assertThat(rig.indexOf(r)).as("worker chosen by %s", method).isNotEqualTo(0);
            }
        }
    }

    @ForEachPoolKind
    void sendingAFunctionToADeadWorkerFailsWithWorkerCrashed(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("kill", KILL_WORKER);
        assertThat(catchThrowable(() -> rig.run(0, Job.of("kill").sendChannel(true))))
                .isInstanceOf(WorkerCrashedException.class);

        WorkerRef w = rig.worker(0);
        assertThat(catchThrowable(() -> rig.manager().sendFunction(w.poolId(), w.workerId(), "late",
                JobFunction.of(() -> null)))).isInstanceOf(WorkerCrashedException.class);
    }
}
