package dev.netrun.exec;

import dev.netrun.exec.fixtures.Tasks;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SPEC 4, behaviours 3 and 4: what a finished job reports (where it ran, UTC timestamps in order) and that
 * thread and main pools hand back the very objects, never copies.
 */
class JobResultTest extends ExecTestSupport {

    @ForEachPoolKind
    void aResultSaysWhatRanWhere(PoolKind kind) {
        Rig rig = rig(kind, 2);
        rig.sendToAll("add", JobFunction.of((Integer a, Integer b) -> a + b));

        JobResult r = rig.run(1, Job.of("add").args(1, 2));

        assertThat(r.result()).isEqualTo(3);
        assertThat(r.funcImportPathOrKey()).isEqualTo("add");
        assertThat(WorkerRef.of(r)).isEqualTo(rig.worker(1));
        assertThat(r.convertedToStr()).isFalse();
        assertThat(r.printBuffer()).isEmpty();
    }

    @ForEachPoolKind
    void timestampsAreSetAndOrderedSubmittedStartedCompleted(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("add", JobFunction.of((Integer a, Integer b) -> a + b));

        for (int i = 0; i < 20; i++) {
            JobResult r = rig.run(0, Job.of("add").args(i, i));
            assertThat(r.timestampUtcSubmitted()).isNotNull();
            assertThat(r.timestampUtcStarted()).isNotNull();
            assertThat(r.timestampUtcCompleted()).isNotNull();
            assertThat(r.timestampUtcSubmitted()).isBeforeOrEqualTo(r.timestampUtcStarted());
            assertThat(r.timestampUtcStarted()).isBeforeOrEqualTo(r.timestampUtcCompleted());
        }
    }

    @ForEachPoolKind
    void aJobWaitingInsideItsFunctionIsListedAsStarted(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate in this JVM");
        Rig rig = rig(kind, 1);
        Gate entered = gate("entered");
        Gate release = gate("release");
        rig.sendToAll("wait", JobFunction.of(() -> {
            entered.open();
            release.awaitOpen();
            return "done";
        }));

        CompletableFuture<JobResult> job = rig.runAsync(0, Job.of("wait"));
        entered.awaitOpen();
        List<SubmittedJobInfo> running = rig.jobs(0);

        assertThat(running).hasSize(1);
        SubmittedJobInfo info = running.get(0);
        assertThat(info.timestampUtcStarted()).as("started while its function runs").isNotNull();
        assertThat(info.timestampUtcSubmitted()).isBeforeOrEqualTo(info.timestampUtcStarted());

        release.open();
        JobResult r = await(job);
        assertThat(r.timestampUtcSubmitted()).isEqualTo(info.timestampUtcSubmitted());
        assertThat(r.timestampUtcStarted()).isEqualTo(info.timestampUtcStarted());
        assertThat(r.timestampUtcCompleted()).isAfterOrEqualTo(r.timestampUtcStarted());
    }

    @ForEachPoolKind
    void runReturnsTheVerySameObjectTheFunctionReturned(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "only in-JVM pools pass results by reference");
        Rig rig = rig(kind, 1);
        Object token = new Object();
        List<String> unserializable = List.of("not", "copied");
        rig.sendToAll("token", JobFunction.of(() -> token));
        rig.sendToAll("list", JobFunction.of(() -> unserializable));

        assertThat(rig.run(0, Job.of("token")).result()).isSameAs(token);
        assertThat(await(rig.runAsync(0, Job.of("list"))).result()).isSameAs(unserializable);
        assertThat(rig.manager().runAllocate(rig.targets(), RunAllocationMethod.ROUND_ROBIN, Job.of("token"))
                .result()).isSameAs(token);
    }

    @ForEachPoolKind
    void argumentsArePassedByReference(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "only in-JVM pools pass arguments by reference");
        Rig rig = rig(kind, 1);
        AtomicReference<Object> received = new AtomicReference<>();
        rig.sendToAll("keep", JobFunction.of((Object o) -> {
            received.set(o);
            return o;
        }));
        Object argument = new StringBuilder("mutable");

        JobResult r = rig.run(0, Job.of("keep").args(argument));

        assertThat(received.get()).as("what the function received").isSameAs(argument);
        assertThat(r.result()).isSameAs(argument);
    }

    @ForEachPoolKind
    void aStaticMethodMutatesTheCallersOwnArgument(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "only in-JVM pools pass arguments by reference");
        Rig rig = rig(kind, 1);
        AtomicInteger counter = new AtomicInteger(41);

        JobResult r = rig.run(0, Job.of(Tasks.class.getName() + ".increment").args(counter));

        assertThat(counter.get()).isEqualTo(42);
        assertThat(r.result()).isSameAs(counter);
    }
}
