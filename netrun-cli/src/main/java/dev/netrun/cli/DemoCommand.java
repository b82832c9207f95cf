package dev.netrun.cli;

import dev.netrun.exec.ExecutionManager;
import dev.netrun.exec.Job;
import dev.netrun.exec.JobFunction;
import dev.netrun.exec.JobResult;
import dev.netrun.exec.PoolConfig;
import dev.netrun.exec.PoolInfo;
import dev.netrun.exec.PrintEntry;
import dev.netrun.exec.RunAllocationMethod;
import dev.netrun.exec.WorkerTarget;
import picocli.CommandLine.Command;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/** {@code netrun demo}: the seed notebook's three examples, on embedded thread pools. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the three examples of the original notebook on embedded pools.")
final class DemoCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        basicUsage();
        System.out.println();
        allocation();
        System.out.println();
        streamingPrints();
        return 0;
    }

    private static void banner(String title) {
        System.out.println("=".repeat(50));
        System.out.println("Example: " + title);
        System.out.println("=".repeat(50));
    }

    /** Example 1: one function on a two-thread pool, with timestamps and the print buffer. */
    static void basicUsage() {
        banner("Basic ExecutionManager Usage");
        try (ExecutionManager manager = new ExecutionManager(Map.of("workers", PoolConfig.thread(2)))) {
            manager.start();
            System.out.println("Pool IDs: " + manager.pools().stream().map(PoolInfo::id).collect(Collectors.toList()));
            System.out.println("Workers in 'workers' pool: " + manager.getNumWorkers("workers"));

            manager.sendFunctionToPool("workers", "add", JobFunction.of((Integer a, Integer b) -> {
                System.out.println("Adding " + a + " + " + b);
                return a + b;
            }));
            JobResult result = manager.run("workers", 0, Job.of("add").args(3, 4));

            System.out.println();
            System.out.println("Result: " + result.result());
            System.out.println("Submitted at: " + result.timestampUtcSubmitted());
            System.out.println("Started at: " + result.timestampUtcStarted());
            System.out.println("Completed at: " + result.timestampUtcCompleted());
            System.out.println("Was converted to str: " + result.convertedToStr());
            System.out.println("Print buffer: " + render(result.printBuffer()));
        }
    }

    /** Example 2: six concurrent round-robin jobs over three workers: two apiece. */
    static void allocation() {
        banner("Job Allocation");
        try (ExecutionManager manager = new ExecutionManager(Map.of("compute", PoolConfig.thread(3)))) {
            manager.start();
            manager.sendFunctionToPool("compute", "multiply", JobFunction.of((Integer x, Integer y) -> {
                Thread.sleep(100); // simulate some work
                System.out.println("Multiplying " + x + " * " + y);
                return x * y;
            }));

            System.out.println();
            System.out.println("Running 6 jobs with ROUND_ROBIN allocation:");
            List<CompletableFuture<JobResult>> jobs = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                jobs.add(manager.runAllocateAsync(List.of(WorkerTarget.pool("compute")),
                        RunAllocationMethod.ROUND_ROBIN, Job.of("multiply").args(i, i + 1)));
            }
            for (int i = 0; i < jobs.size(); i++) {
                JobResult r = jobs.get(i).join();
                System.out.println("  Job " + i + ": " + r.result() + " (worker " + r.workerId() + ")");
            }
        }
    }

    /** Example 3: a slow job whose prints arrive through onPrint in several chunks while it runs. */
    static void streamingPrints() {
        banner("Streaming Print Output");
        try (ExecutionManager manager = new ExecutionManager(Map.of(
                "workers", PoolConfig.thread(1).withPrintFlushInterval(Duration.ofMillis(50))))) {
            manager.start();
            manager.sendFunctionToPool("workers", "slow_print", JobFunction.of((Integer iterations, Integer delayMs) -> {
                for (int i = 0; i < iterations; i++) {
                    System.out.println("Processing step " + (i + 1) + "/" + iterations + "...");
                    Thread.sleep(delayMs);
                }
                return "Completed " + iterations + " steps";
            }));

            AtomicInteger received = new AtomicInteger();
            System.out.println();
            System.out.println("Running function with on_print callback:");
            JobResult result = manager.run("workers", 0, Job.of("slow_print").args(5, 100).onPrint(buffer -> {
                System.out.println("  [Callback " + received.incrementAndGet() + "] Received " + buffer.size()
                        + " print(s)");
                for (PrintEntry e : buffer) {
                    System.out.println("    " + e.text().strip());
                }
            }));

            System.out.println();
            System.out.println("Result: " + result.result());
            System.out.println("Total prints captured: " + result.printBuffer().size());
            System.out.println(result.printBuffer().stream().map(e -> quote(e.text()))
                    .collect(Collectors.joining(", ", "[", "]")));
        }
    }

    private static String render(List<PrintEntry> entries) {
        return entries.stream().map(e -> "(" + e.timestamp() + ", " + quote(e.text()) + ")")
                .collect(Collectors.joining(", ", "[", "]"));
    }

    private static String quote(String s) {
        return "'" + s.replace("\\", "\\\\").replace("\n", "\\n").replace("'", "\\'") + "'";
    }
}
