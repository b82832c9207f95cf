package dev.netrun.exec;

import dev.netrun.pool.WorkerCrashedException;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SPEC 4, behaviour 9: {@code getWorkerJobs} lists the jobs in flight on a worker, and a job leaves the list
 * when it ends, however it ends: success, failure, a dead worker, or the manager closing.
 */
class WorkerJobsTest extends ExecTestSupport {

    /** A rig whose key "wait" opens {@code entered} and then waits for {@code release}. */
    private Rig waitingRig(PoolKind kind, int workers, Gate entered, Gate release) {
        assumeTrue(kind.sharesHeap(), "the jobs wait on gates in this JVM");
        Rig rig = rig(kind, workers);
        rig.sendToAll("wait", JobFunction.of(() -> {
            entered.open();
            release.awaitOpen();
            return "released";
        }));
        return rig;
    }

    @ForEachPoolKind
    void inFlightJobsAreListedOldestFirstWithWhereAndWhat(PoolKind kind) throws Exception {
        Gate entered = gate("entered");
        Gate release = gate("release");
        Rig rig = waitingRig(kind, 2, entered, release);
        rig.sendToAll("after", JobFunction.of(() -> "after"));

        CompletableFuture<JobResult> running = rig.runAsync(0, Job.of("wait"));
        entered.awaitOpen();
        CompletableFuture<JobResult> queued = rig.runAsync(0, Job.of("after"));
        List<SubmittedJobInfo> jobs = rig.jobs(0);

        assertThat(jobs).hasSize(2);
        assertThat(jobs).extracting(SubmittedJobInfo::funcImportPathOrKey).containsExactly("wait", "after");
        assertThat(jobs).allSatisfy(info -> {
            assertThat(info.runId()).isNotBlank();
            assertThat(WorkerRef.of(info)).isEqualTo(rig.worker(0));
            assertThat(info.timestampUtcSubmitted()).isNotNull();
        });
        assertThat(jobs.get(0).runId()).isNotEqualTo(jobs.get(1).runId());
        assertThat(jobs.get(0).timestampUtcStarted()).as("the running job has started").isNotNull();
        assertThat(jobs.get(1).timestampUtcStarted()).as("the queued job has not").isNull();
        assertThat(rig.jobs(1)).as("the other worker's jobs").isEmpty();
        assertThatThrownBy(() -> jobs.add(jobs.get(0))).isInstanceOf(UnsupportedOperationException.class);

        release.open();
        await(running);
        await(queued);
        assertThat(rig.jobs(0)).isEmpty();
        assertThat(jobs).as("a snapshot does not change").hasSize(2);
    }

    @ForEachPoolKind
    void aJobLeavesTheListWhenItSucceeds(PoolKind kind) throws Exception {
        Gate entered = gate("entered");
        Gate release = gate("release");
        Rig rig = waitingRig(kind, 1, entered, release);

        CompletableFuture<JobResult> job = rig.runAsync(0, Job.of("wait"));
        entered.awaitOpen();
        assertThat(rig.jobs(0)).hasSize(1);
        release.open();

        assertThat(await(job).result()).isEqualTo("released");
        assertThat(rig.jobs(0)).isEmpty();
    }

    @ForEachPoolKind
    void aJobLeavesTheListWhenItFails(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate in this JVM");
        Rig rig = rig(kind, 1);
        Gate entered = gate("entered");
        Gate release = gate("release");
        rig.sendToAll("failLater", JobFunction.of(() -> {
            entered.open();
            release.awaitOpen();
            throw new IllegalStateException("failed on purpose");
        }));

        CompletableFuture<JobResult> job = rig.runAsync(0, Job.of("failLater"));
        entered.awaitOpen();
        assertThat(rig.jobs(0)).extracting(SubmittedJobInfo::funcImportPathOrKey).containsExactly("failLater");
        release.open();

        assertThat(failureOf(job)).isInstanceOf(JobFailedException.class);
        assertThat(rig.jobs(0)).isEmpty();
        assertThat(failureOf(rig.runAsync(0, Job.of("unknown-key")))).isInstanceOf(JobFailedException.class);
        assertThat(rig.jobs(0)).isEmpty();
    }

    @ForEachPoolKind
    void aJobLeavesTheListWhenItsWorkerDies(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate in this JVM");
        Rig rig = rig(kind, 1);
        Gate entered = gate("entered");
        Gate release = gate("release");
        rig.sendToAll("killLater", args -> {
            entered.open();
            release.awaitOpen();
            args.channel().close();
            return null;
        });

        CompletableFuture<JobResult> job = rig.runAsync(0, Job.of("killLater").sendChannel(true));
        entered.awaitOpen();
        assertThat(rig.jobs(0)).hasSize(1);
        release.open();

        assertThat(failureOf(job)).isInstanceOf(WorkerCrashedException.class);
        assertThat(rig.jobs(0)).isEmpty();
    }

    @ForEachPoolKind
    void aJobLeavesTheListWhenTheManagerCloses(PoolKind kind) throws Exception {
        Gate entered = gate("entered");
        Gate release = gate("release");
        Rig rig = waitingRig(kind, 1, entered, release);
        CompletableFuture<JobResult> job = rig.runAsync(0, Job.of("wait"));
        entered.awaitOpen();
        assertThat(rig.jobs(0)).hasSize(1);

        CompletableFuture<Void> closing = onNewThread("test-closer", () -> {
            rig.manager().close();
            return null;
        });
        assertThat(failureOf(job)).isInstanceOf(CancellationException.class);
        assertThat(rig.jobs(0)).isEmpty();

        release.open();
        await(closing);
        assertThat(rig.jobs(0)).isEmpty();
    }
}
