package dev.netrun.cli;

import dev.netrun.exec.ExecutionManager;
import dev.netrun.exec.Job;
import dev.netrun.exec.JobFunction;
import dev.netrun.exec.JobResult;
import dev.netrun.exec.PoolConfig;
import dev.netrun.remote.RemotePoolConfig;
import dev.netrun.remote.RemotePoolServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code netrun bench}: side-by-side figures, measured in one process, of a trivial job through netrun and
 * through the plain JDK equivalent. Each row names what is measured, netrun's figure, the baseline's, and
 * the ratio netrun/baseline.
 *
 * <ul>
 *   <li>{@code thread.rtt.median_us}, {@code thread.rtt.p99_us}: one job at a time on a
 *       {@code ThreadPool(1)} through {@link ExecutionManager#run}, versus
 *       {@code ExecutorService.submit(...).get()} on a single-thread executor (lower is better);</li>
 *   <li>{@code thread.throughput.jobs_per_s}: batches of 10,000 jobs in flight, submitted with
 *       {@code runAsync} then awaited, versus 10,000 {@code submit}s then {@code get}s (higher is better);</li>
 *   <li>{@code process.rtt.median_us}, {@code process.throughput.jobs_per_s}: the same on a
 *       {@code MultiprocessPool} of 2 child JVMs, against the ThreadPool figures;</li>
 *   <li>{@code process.startup_ms}: from {@code start()} to the first result of a 2-process pool (median of
 *       the runs, measured first, while this JVM is quiet), against two bare {@code java -version} processes
 *       started in parallel after each run; the second run records
 *       the children's class-data archive as it closes, the later ones start from it (see
 *       {@code MultiprocessPool.Builder#classDataSharing});</li>
 *   <li>{@code process.startup_first_ms}: the first of those runs alone: the first pool of this JVM, before
 *       any archive exists, against the bare JVMs of the same run;</li>
 *   <li>{@code remote.rtt.median_us}, {@code remote.rtt.p99_us}, {@code remote.throughput.jobs_per_s}: the same
 *       measures on a remote pool of 2 processes (a {@code RemotePoolServer} of this JVM, over loopback gRPC)
 *       versus a {@code MultiprocessPool} of 2 processes in the same manager; see {@link #remoteRows}.</li>
 * </ul>
 *
 * <p>Both sides are warmed up first (the JIT compiles both paths) and measured in turn; figures are medians
 * over batches so one stall does not decide a row. Run: {@code java -jar netrun-cli/target/netrun.jar bench}
 * (add {@code --csv} for {@code name,netrun,baseline,ratio} rows).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark netrun against the plain JDK equivalent, side by side.")
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--csv", description = "Print machine-readable rows: name,netrun,baseline,ratio")
    boolean csv;

    @Option(names = "--samples", defaultValue = "20000", description = "Sequential round trips measured per side (default: ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--batches", defaultValue = "15", description = "Batches of in-flight jobs measured per side (default: ${DEFAULT-VALUE})")
    int batches;

    @Option(names = "--in-flight", defaultValue = "10000", description = "Jobs in flight per throughput batch (default: ${DEFAULT-VALUE})")
    int inFlight;

    @Option(names = "--warmup-ms", defaultValue = "3000", description = "Warm-up time per side and measure (default: ${DEFAULT-VALUE})")
    long warmupMs;

    @Option(names = "--startup-runs", defaultValue = "9", description = "Pool start-ups measured (default: ${DEFAULT-VALUE})")
    int startupRuns;

    @Option(names = "--thread-only", description = "Measure only the thread rows")
    boolean threadOnly;

    /** One row of the table. */
    record Row(String name, double netrun, double baseline, String unit) {
        double ratio() {
            return netrun / baseline;
        }
    }

    /** A way to run the trivial job: one at a time, or a batch in flight. */
    interface Side {
        void runOne() throws Exception;

        void runBatch(int n) throws Exception;
    }

    @Override
    public Integer call() throws Exception {
        if (startupRuns < 1 || samples < 1 || batches < 1 || inFlight < 1 || warmupMs < 0) {
            throw new ParameterException(spec.commandLine(),
                    "--startup-runs, --samples, --batches and --in-flight must be at least 1, --warmup-ms at least 0");
        }
        List<Row> rows = new ArrayList<>();
        // Start-up first, while this JVM is quiet: after millions of jobs it is still compiling and collecting
        // for a while, which would be measured as the children's start-up on 2 cores.
        List<Row> startup = threadOnly ? List.of() : startupRows();
        PrintStream log = System.err;
        log.println("netrun bench: warming up and measuring (" + samples + " round trips, " + batches + " batches of "
                + inFlight + " in flight per side)...");
        ExecutorService plain = Executors.newSingleThreadExecutor();
        Callable<Integer> task = new Callable<>() {
            int x;

            @Override
            public Integer call() {
                return ++x;
            }
        };
        Side plainSide = new Side() {
            @Override
            public void runOne() throws Exception {
                plain.submit(task).get();
            }

            @Override
            public void runBatch(int n) throws Exception {
                Future<?>[] fs = new Future<?>[n];
                for (int i = 0; i < n; i++) {
                    fs[i] = plain.submit(task);
                }
                for (Future<?> f : fs) {
                    f.get();
                }
            }
        };
        try (ExecutionManager manager = new ExecutionManager(Map.of("bench", PoolConfig.thread(1)))) {
            manager.start();
            manager.sendFunctionToPool("bench", "inc", JobFunction.of((Integer x) -> x + 1));
            Job job = Job.of("inc").args(1);
            Side netrunSide = new Side() {
                @Override
                public void runOne() {
                    manager.run("bench", 0, job);
                }

                @Override
                public void runBatch(int n) {
                    @SuppressWarnings("unchecked")
                    CompletableFuture<JobResult>[] fs = new CompletableFuture[n];
                    for (int i = 0; i < n; i++) {
                        fs[i] = manager.runAsync("bench", 0, job);
                    }
                    for (CompletableFuture<JobResult> f : fs) {
                        f.join();
                    }
                }
            };
            compare("thread", netrunSide, plainSide, rows);
        } finally {
            plain.shutdownNow();
        }
        if (!threadOnly) {
            processRows(rows);
            rows.addAll(startup);
            remoteRows(rows);
        }
        print(rows);
        return 0;
    }

    /**
     * Adds the {@code remote.*} rows: the same trivial job through an ExecutionManager on a
     * {@code RemotePoolConfig} of 2 processes of 1 worker, served over loopback gRPC by a {@link RemotePoolServer}
     * in this JVM, versus a {@code PoolConfig.multiprocess(2, 1)} pool of the same manager as the baseline (the
     * shape of the {@code process.*} rows), measured in turn right after it: what the network hop and the
     * server's forwarding cost on top of local child JVMs. Round trips go to worker 0; batches alternate
     * between the two workers.
     */
    void remoteRows(List<Row> rows) throws Exception {
        System.err.println("netrun bench: remote.* rows: RemotePoolConfig over loopback gRPC; baseline:"
                + " PoolConfig.multiprocess(2, 1) in the same manager");
        try (RemotePoolServer server = new RemotePoolServer("127.0.0.1", 0)) {
            server.start();
            Map<String, PoolConfig> pools = new LinkedHashMap<>();
            pools.put("remote", RemotePoolConfig.of(server.address()).withProcesses(2, 1));
            pools.put("process", PoolConfig.multiprocess(2, 1));
            try (ExecutionManager manager = new ExecutionManager(pools)) {
                manager.start();
                for (String pool : pools.keySet()) {
                    manager.sendFunctionToPool(pool, "inc", JobFunction.of((Integer x) -> x + 1));
                }
                compare("remote", managerSide(manager, "remote"), managerSide(manager, "process"), rows);
            }
        }
    }

    /** Runs {@code inc(1)} on one pool of {@code manager}: one at a time on worker 0, batches on workers 0 and 1. */
    private static Side managerSide(ExecutionManager manager, String poolId) {
        Job job = Job.of("inc").args(1);
        return new Side() {
            @Override
            public void runOne() {
                manager.run(poolId, 0, job);
            }

            @Override
            public void runBatch(int n) {
                @SuppressWarnings("unchecked")
                CompletableFuture<JobResult>[] fs = new CompletableFuture[n];
                for (int i = 0; i < n; i++) {
                    fs[i] = manager.runAsync(poolId, i & 1, job);
                }
                for (CompletableFuture<JobResult> f : fs) {
                    f.join();
                }
            }
        };
    }

    /**
     * The MultiprocessPool rows: the same trivial job on a pool of 2 child JVMs, against the ThreadPool
     * figures measured just before.
     */
    private void processRows(List<Row> rows) throws Exception {
        Row threadRtt = find(rows, "thread.rtt.median_us");
        Row threadThroughput = find(rows, "thread.throughput.jobs_per_s");
        try (ExecutionManager manager = new ExecutionManager(Map.of("procs", PoolConfig.multiprocess(2, 1)))) {
            manager.start();
            manager.sendFunctionToPool("procs", "inc", JobFunction.of((Integer x) -> x + 1));
            Job job = Job.of("inc").args(1);
            Side side = new Side() {
                @Override
                public void runOne() {
                    manager.run("procs", 0, job);
                }

                @Override
                public void runBatch(int n) {
                    @SuppressWarnings("unchecked")
                    CompletableFuture<JobResult>[] fs = new CompletableFuture[n];
                    for (int i = 0; i < n; i++) {
                        fs[i] = manager.runAsync("procs", i & 1, job);
                    }
                    for (CompletableFuture<JobResult> f : fs) {
                        f.join();
                    }
                }
            };
            warm(side);
            double[] rtt = roundTrips(side);
            rows.add(new Row("process.rtt.median_us", percentile(rtt, 50), threadRtt.netrun(), "us"));
            rows.add(new Row("process.rtt.p99_us", percentile(rtt, 99), find(rows, "thread.rtt.p99_us").netrun(), "us"));
            rows.add(new Row("process.throughput.jobs_per_s", throughput(side), threadThroughput.netrun(), "jobs/s"));
        }
    }

    /**
     * The {@code process.startup*} rows: from {@code start()} to the first result of a 2-process pool, each
     * run followed by two bare {@code java -version} processes started the same way, in parallel.
     */
    private List<Row> startupRows() throws Exception {
        double[] startups = new double[startupRuns];
        double[] bare = new double[startupRuns];
        for (int i = 0; i < startupRuns; i++) {
            long t0 = System.nanoTime();
            try (ExecutionManager manager = new ExecutionManager(Map.of("procs", PoolConfig.multiprocess(2, 1)))) {
                manager.start();
                manager.run("procs", 0, Job.of(BenchJobs.class.getName() + ".inc").args(1));
                startups[i] = (System.nanoTime() - t0) / 1e6;
            }
            bare[i] = bareJvms(2);
        }
        return List.of(new Row("process.startup_ms", percentile(startups, 50), percentile(bare, 50), "ms"),
                new Row("process.startup_first_ms", startups[0], bare[0], "ms"));
    }

    /** Milliseconds until {@code n} bare {@code java -version} processes, started in parallel, have all exited. */
    private static double bareJvms(int n) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long t0 = System.nanoTime();
        Process[] ps = new Process[n];
        for (int i = 0; i < n; i++) {
            ps[i] = new ProcessBuilder(java, "-version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        }
        for (Process p : ps) {
            p.waitFor();
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    private static Row find(List<Row> rows, String name) {
        return rows.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    /** Adds the round-trip and throughput rows of {@code prefix}, measuring both sides in turn. */
    void compare(String prefix, Side netrun, Side baseline, List<Row> rows) throws Exception {
        warm(netrun);
        warm(baseline);
        double[] a = roundTrips(netrun);
        double[] b = roundTrips(baseline);
        rows.add(new Row(prefix + ".rtt.median_us", percentile(a, 50), percentile(b, 50), "us"));
        rows.add(new Row(prefix + ".rtt.p99_us", percentile(a, 99), percentile(b, 99), "us"));
        rows.add(new Row(prefix + ".throughput.jobs_per_s", throughput(netrun), throughput(baseline), "jobs/s"));
    }

    private void warm(Side side) throws Exception {
        long end = System.nanoTime() + warmupMs * 1_000_000L;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 1000; i++) {
                side.runOne();
            }
            side.runBatch(inFlight);
        }
    }

    private double[] roundTrips(Side side) throws Exception {
        double[] us = new double[samples];
        for (int i = 0; i < samples; i++) {
            long t0 = System.nanoTime();
            side.runOne();
            us[i] = (System.nanoTime() - t0) / 1_000.0;
        }
        return us;
    }

    private double throughput(Side side) throws Exception {
        double[] rates = new double[batches];
        for (int i = 0; i < batches; i++) {
            long t0 = System.nanoTime();
            side.runBatch(inFlight);
            rates[i] = inFlight / ((System.nanoTime() - t0) / 1e9);
        }
        return percentile(rates, 50);
    }

    static double percentile(double[] values, double p) {
        double[] v = values.clone();
        Arrays.sort(v);
        int idx = (int) Math.ceil(p / 100.0 * v.length) - 1;
        return v[Math.max(0, Math.min(v.length - 1, idx))];
    }

    private void print(List<Row> rows) {
        if (csv) {
            System.out.println("name,netrun,baseline,ratio");
            for (Row r : rows) {
                System.out.println(String.format(Locale.ROOT, "%s,%.2f,%.2f,%.3f", r.name(), r.netrun(), r.baseline(), r.ratio()));
            }
            return;
        }
        System.out.println(String.format(Locale.ROOT, "%-32s %14s %14s %8s", "measure", "netrun", "baseline", "ratio"));
        for (Row r : rows) {
            System.out.println(String.format(Locale.ROOT, "%-32s %14s %14s %8.2f", r.name(), format(r.netrun()),
                    format(r.baseline()), r.ratio()));
        }
        System.out.println("baselines: thread.* = ExecutorService (single thread) submit().get();"
                + " process.rtt/throughput = the thread.* netrun figure; process.startup* = two bare `java -version`"
                + " in parallel (startup_first: the first pool of this JVM, before its children's class-data archive); remote.* = MultiprocessPool(2x1) in the same manager; ratio = netrun / baseline");
    }

    private static String format(double v) {
        return v >= 1000 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
