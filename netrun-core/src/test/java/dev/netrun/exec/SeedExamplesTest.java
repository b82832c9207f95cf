package dev.netrun.exec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seed notebook's three examples, in Java, with the seed's defects fixed: the round-robin jobs now spread
 * over the workers, and the slow job's prints stream through {@code onPrint} while it runs.
 */
class SeedExamplesTest extends ExecTestSupport {

    private static List<String> texts(List<PrintEntry> entries) {
        return entries.stream().map(PrintEntry::text).toList();
    }

    @Test
    void example1BasicUsageWithAThreadPool() {
        ExecutionManager manager = started("workers", PoolConfig.thread(2));

        assertThat(manager.pools()).extracting(PoolInfo::id).containsExactly("workers");
        assertThat(manager.getNumWorkers("workers")).isEqualTo(2);
        manager.sendFunctionToPool("workers", "add", JobFunction.of((Integer a, Integer b) -> {
            System.out.println("Adding " + a + " + " + b);
            return a + b;
        }));

        JobResult result = manager.run("workers", 0, Job.of("add").args(3, 4));

        assertThat(result.result()).isEqualTo(7);
        assertThat(result.timestampUtcSubmitted()).isBeforeOrEqualTo(result.timestampUtcStarted());
        assertThat(result.timestampUtcStarted()).isBeforeOrEqualTo(result.timestampUtcCompleted());
        assertThat(result.convertedToStr()).isFalse();
        assertThat(texts(result.printBuffer())).containsExactly("Adding 3 + 4\n");
        assertThat(result.printBuffer().get(0).timestamp())
                .isBetween(result.timestampUtcStarted(), result.timestampUtcCompleted());
    }

    @Test
    void example2SixConcurrentRoundRobinJobsOnThreeWorkersRunTwoPerWorker() throws Exception {
        ExecutionManager manager = started("compute", PoolConfig.thread(3));
        Gate allSubmitted = gate("all six submitted");
        manager.sendFunctionToPool("compute", "multiply", JobFunction.of((Integer x, Integer y) -> {
            allSubmitted.awaitOpen(); // the six jobs are in flight together, as in the seed
            System.out.println("Multiplying " + x + " * " + y);
            return x * y;
        }));

        List<CompletableFuture<JobResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(manager.runAllocateAsync(List.of(WorkerTarget.pool("compute")), RunAllocationMethod.ROUND_ROBIN,
                    Job.of("multiply").args(i, i + 1)));
        }
        allSubmitted.open();
        List<JobResult> results = jobs.stream().map(ExecTestSupport::await).toList();

        assertThat(results).extracting(JobResult::result).containsExactly(0, 2, 6, 12, 20, 30);
        assertThat(results).extracting(JobResult::workerId).containsExactly(0, 1, 2, 0, 1, 2);
        assertThat(results.stream().collect(Collectors.groupingBy(JobResult::workerId, Collectors.counting())))
                .isEqualTo(Map.of(0, 2L, 1, 2L, 2, 2L));
        assertThat(results).allSatisfy(r -> assertThat(r.printBuffer()).hasSize(1));
    }

    @Test
    void example3ASlowJobsPrintsStreamThroughOnPrintWhileItRuns() {
        try (Console console = Console.install()) {
            ExecutionManager manager = started("workers",
                    PoolConfig.thread(1).withPrintFlushInterval(Duration.ofMillis(50)));
            int iterations = 5;
            // The seed slept between steps; here each step waits until its line came back through onPrint,
            // which can only happen while the job is still running.
            List<Gate> streamed = IntStream.range(0, iterations).mapToObj(i -> gate("step " + (i + 1) + " streamed"))
                    .toList();
            manager.sendFunctionToPool("workers", "slow_print", JobFunction.of((Integer n) -> {
                for (int i = 0; i < n; i++) {
                    System.out.println("Processing step " + (i + 1) + "/" + n + "...");
                    streamed.get(i).awaitOpen();
                }
                return "Completed " + n + " steps";
            }));
            AtomicInteger linesReceived = new AtomicInteger();
            List<List<PrintEntry>> callbacks = new CopyOnWriteArrayList<>();

            JobResult result = manager.run("workers", 0, Job.of("slow_print").args(iterations).onPrint(buffer -> {
                callbacks.add(List.copyOf(buffer));
                System.out.println("  [Callback " + callbacks.size() + "] Received " + buffer.size() + " print(s)");
                for (PrintEntry e : buffer) {
                    System.out.println("    " + e.text().strip());
                    streamed.get(linesReceived.getAndIncrement()).open();
                }
            }));

            assertThat(result.result()).isEqualTo("Completed 5 steps");
            assertThat(result.printBuffer()).hasSize(5);
            assertThat(texts(result.printBuffer())).containsExactly("Processing step 1/5...\n",
                    "Processing step 2/5...\n", "Processing step 3/5...\n", "Processing step 4/5...\n",
                    "Processing step 5/5...\n");
            assertThat(callbacks).as("several chunks, each streamed while the job ran").hasSize(5);
            assertThat(callbacks.stream().flatMap(List::stream).toList()).isEqualTo(result.printBuffer());
            assertThat(console.text()).contains("[Callback 1] Received 1 print(s)", "Processing step 5/5...");
        }
    }
}
