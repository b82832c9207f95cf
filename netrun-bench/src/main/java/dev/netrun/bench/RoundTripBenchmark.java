package dev.netrun.bench;

import dev.netrun.exec.ExecutionManager;
import dev.netrun.exec.Job;
import dev.netrun.exec.JobFunction;
import dev.netrun.exec.PoolConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * One trivial job at a time: netrun's {@code ExecutionManager.run} on a {@code ThreadPool(1)} against
 * {@code ExecutorService.submit(...).get()} on a single-thread executor — the JMH twin of the
 * {@code thread.rtt} rows of {@code netrun bench}.
 *
 * <p>Run: {@code mvn -B -q package -DskipTests -pl netrun-bench -am && java -jar netrun-bench/target/benchmarks.jar RoundTrip}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RoundTripBenchmark {
    private ExecutionManager manager;
    private ExecutorService plain;
    private final Job job = Job.of("inc").args(1);

    /** Starts the manager and the plain executor. */
    @Setup(Level.Trial)
    public void setUp() {
        manager = new ExecutionManager(Map.of("bench", PoolConfig.thread(1)));
        manager.start();
        manager.sendFunctionToPool("bench", "inc", JobFunction.of((Integer x) -> x + 1));
        plain = Executors.newSingleThreadExecutor();
    }

    /** Closes both. */
    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
        plain.shutdownNow();
    }

    /** @return the job's result, through netrun */
    @Benchmark
    public Object netrun() {
        return manager.run("bench", 0, job).result();
    }

    /** @return the same work through a plain executor */
    @Benchmark
    public Object executorService() throws Exception {
        return plain.submit(() -> 1 + 1).get();
    }
}
