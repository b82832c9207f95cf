package dev.netrun.exec;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A job in a child JVM reports its start on its own once it has run a little while (short jobs report it
 * with their result), so {@code getWorkerJobs} shows it as started while it still runs.
 */
@Tag("slow")
class ProcessStartNoticeTest {

    @Test
    void aLongJobInAChildIsListedAsStartedWhileItRuns() throws Exception {
        try (ExecutionManager manager = new ExecutionManager(Map.of("p", PoolConfig.multiprocess(1, 1)))) {
            manager.start();
            // The job sleeps to simulate work in the child; the test itself waits on conditions only.
            manager.sendFunctionToPool("p", "work", JobFunction.of((Integer millis) -> {
                Thread.sleep(millis);
                return "done";
            }));
            // a stream of short jobs first: the start check stays armed across them
            for (int i = 0; i < 50; i++) {
                manager.run("p", 0, Job.of("work").args(0));
            }

            CompletableFuture<JobResult> running = manager.runAsync("p", 0, Job.of("work").args(20_000));
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                List<SubmittedJobInfo> jobs = manager.getWorkerJobs("p", 0);
                return !jobs.isEmpty() && jobs.get(0).timestampUtcStarted() != null;
            });

            SubmittedJobInfo info = manager.getWorkerJobs("p", 0).get(0);
            assertThat(running).isNotDone();
            assertThat(info.timestampUtcStarted()).isAfterOrEqualTo(info.timestampUtcSubmitted());
            assertThat(info.funcImportPathOrKey()).isEqualTo("work");
            running.cancel(true); // the manager's close fails it; the child is killed on close
        }
    }

    @Test
    void shortJobsInAChildStillCarryTheirStartTime() throws Exception {
        try (ExecutionManager manager = new ExecutionManager(Map.of("p", PoolConfig.multiprocess(1, 1)))) {
            manager.start();
            manager.sendFunctionToPool("p", "quick", JobFunction.of(() -> "ok"));
            JobResult r = manager.runAsync("p", 0, Job.of("quick")).get(30, TimeUnit.SECONDS);
            assertThat(r.timestampUtcStarted()).isNotNull()
                    .isAfterOrEqualTo(r.timestampUtcSubmitted())
                    .isBeforeOrEqualTo(r.timestampUtcCompleted());
        }
    }
}
