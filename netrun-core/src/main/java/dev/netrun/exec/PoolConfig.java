package dev.netrun.exec;

import dev.netrun.pool.MultiprocessPool;
import dev.netrun.pool.Pool;
import dev.netrun.pool.SingleWorkerPool;
import dev.netrun.pool.ThreadPool;
import dev.netrun.pool.WorkerFunction;
import dev.netrun.rpc.Codec;

import java.time.Duration;
import java.util.Objects;

/**
 * Describes one pool of an {@link ExecutionManager}: its kind, its size, and how jobs' prints are handled.
 * Immutable and validated on construction; each {@code with} method returns a new config.
 *
 * <pre>{@code
 * PoolConfig.thread(4)                                        // 4 worker threads in this JVM
 * PoolConfig.main()                                           // one in-JVM worker, the "main" pool
 * PoolConfig.thread(1).withPrintFlushInterval(Duration.ofMillis(50))
 * }</pre>
 *
 * <p>Other modules add kinds by extending this class (for example {@code RemotePoolConfig}); the
 * {@code protected} methods are their service interface.
 */
public abstract class PoolConfig {
    /** How often a running job's prints are streamed to its {@code onPrint} callback, unless configured. */
    public static final Duration DEFAULT_PRINT_FLUSH_INTERVAL = Duration.ofMillis(100);

    private final Duration printFlushInterval;
    private final boolean capturePrints;

    /**
     * @param printFlushInterval how often prints are streamed while a job runs; positive
     * @param capturePrints      whether jobs' {@code System.out} is captured
     * @throws IllegalArgumentException if the interval is not positive
     */
    protected PoolConfig(Duration printFlushInterval, boolean capturePrints) {
        Objects.requireNonNull(printFlushInterval, "printFlushInterval");
        if (printFlushInterval.isNegative() || printFlushInterval.isZero()) {
            throw new IllegalArgumentException("printFlushInterval must be positive, was " + printFlushInterval);
        }
        this.printFlushInterval = printFlushInterval;
        this.capturePrints = capturePrints;
    }

    /**
     * A pool of {@code numWorkers} threads in this JVM ({@link ThreadPool}). Results are never serialized.
     *
     * @throws IllegalArgumentException if {@code numWorkers < 1}
     */
    public static PoolConfig thread(int numWorkers) {
        return new ThreadConfig(numWorkers, DEFAULT_PRINT_FLUSH_INTERVAL, true);
    }

    /**
     * A pool of {@code numProcesses} child JVMs with {@code threadsPerProcess} worker threads each
     * ({@link MultiprocessPool}). Functions, arguments and results cross the process boundary serialized: a
     * function that cannot be serialized is refused by {@code sendFunction}; a result that cannot be comes
     * back as its string, with {@code convertedToStr == true}.
     *
     * @throws IllegalArgumentException if a size is below 1
     */
    public static PoolConfig multiprocess(int numProcesses, int threadsPerProcess) {
        return new MultiprocessConfig(numProcesses, threadsPerProcess, DEFAULT_PRINT_FLUSH_INTERVAL, true);
    }

    /** One worker in this JVM ({@link SingleWorkerPool}), the "main" pool. Results are never serialized. */
    public static PoolConfig main() {
        return new MainConfig(DEFAULT_PRINT_FLUSH_INTERVAL, true);
    }

    /** @return how often a running job's new prints are sent to its {@code onPrint} callback */
    public Duration printFlushInterval() {
        return printFlushInterval;
    }

    /** @return whether what jobs print to {@code System.out} is captured into their results */
    public boolean capturePrints() {
        return capturePrints;
    }

    /**
     * @return a copy with this print flush interval
     * @throws IllegalArgumentException if the interval is not positive
     */
    public PoolConfig withPrintFlushInterval(Duration printFlushInterval) {
        return copy(printFlushInterval, capturePrints);
    }

    /** @return a copy that captures prints or not; when not, jobs' prints go to the worker's console */
    public PoolConfig withCapturePrints(boolean capturePrints) {
        return copy(printFlushInterval, capturePrints);
    }

    /** @return the number of workers the pool will have */
    public abstract int numWorkers();

    /** @return the number of child processes the pool runs, 0 for pools without processes */
    public int numProcesses() {
        return 0;
    }

    /** @return the class of the pool this config builds */
    public abstract Class<? extends Pool> poolType();

    /** @return the same kind of config with these print settings */
    protected abstract PoolConfig copy(Duration printFlushInterval, boolean capturePrints);

    /**
     * Builds the (unstarted) pool whose workers serve the manager's protocol.
     *
     * @param poolId the pool's id in the manager, for names and messages
     * @throws IllegalArgumentException if this kind of pool cannot be built here
     */
    protected abstract Pool createPool(String poolId);

    /** @return whether jobs' functions, arguments and results cross a process boundary (and must serialize) */
    protected boolean crossesProcesses() {
        return false;
    }

    /**
     * @return the codec of functions, arguments and results, for configs that {@linkplain #crossesProcesses()
     * cross processes}; the workers must decode with the same kind of codec
     */
    protected Codec valueCodec() {
        ClassLoader l = Thread.currentThread().getContextClassLoader();
        return ExecutionManager.codec(l != null ? l : PoolConfig.class.getClassLoader());
    }

    /**
     * @return the worker function a pool built from this config runs: it serves the manager's protocol
     */
    protected final WorkerFunction workerFunction() {
        return new ExecWorker(printFlushInterval, capturePrints, crossesProcesses());
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[workers=" + numWorkers() + ", printFlushInterval="
                + printFlushInterval.toMillis() + "ms, capturePrints=" + capturePrints + "]";
    }

    private static final class ThreadConfig extends PoolConfig {
        private final int numWorkers;

        ThreadConfig(int numWorkers, Duration interval, boolean capture) {
            super(interval, capture);
            if (numWorkers < 1) {
                throw new IllegalArgumentException("numWorkers must be >= 1, was " + numWorkers);
            }
            this.numWorkers = numWorkers;
        }

        @Override
        public int numWorkers() {
            return numWorkers;
        }

        @Override
        public Class<? extends Pool> poolType() {
            return ThreadPool.class;
        }

        @Override
        protected PoolConfig copy(Duration interval, boolean capture) {
            return new ThreadConfig(numWorkers, interval, capture);
        }

        @Override
        protected Pool createPool(String poolId) {
            return new ThreadPool(workerFunction(), numWorkers);
        }
    }

    private static final class MainConfig extends PoolConfig {
        MainConfig(Duration interval, boolean capture) {
            super(interval, capture);
        }

        @Override
        public int numWorkers() {
            return 1;
        }

        @Override
        public Class<? extends Pool> poolType() {
            return SingleWorkerPool.class;
        }

        @Override
        protected PoolConfig copy(Duration interval, boolean capture) {
            return new MainConfig(interval, capture);
        }

        @Override
        protected Pool createPool(String poolId) {
            return new SingleWorkerPool(workerFunction());
        }
    }

    private static final class MultiprocessConfig extends PoolConfig {
        private final int numProcesses;
        private final int threadsPerProcess;

        MultiprocessConfig(int numProcesses, int threadsPerProcess, Duration interval, boolean capture) {
            super(interval, capture);
            if (numProcesses < 1) {
                throw new IllegalArgumentException("numProcesses must be >= 1, was " + numProcesses);
            }
            if (threadsPerProcess < 1) {
                throw new IllegalArgumentException("threadsPerProcess must be >= 1, was " + threadsPerProcess);
            }
            if ((long) numProcesses * threadsPerProcess > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("numProcesses * threadsPerProcess must be <= " + Integer.MAX_VALUE
                        + ", was " + numProcesses + " * " + threadsPerProcess);
            }
            this.numProcesses = numProcesses;
            this.threadsPerProcess = threadsPerProcess;
        }

        @Override
        public int numWorkers() {
            return numProcesses * threadsPerProcess;
        }

        @Override
        public int numProcesses() {
            return numProcesses;
        }

        @Override
        public Class<? extends Pool> poolType() {
            return MultiprocessPool.class;
        }

        @Override
        protected PoolConfig copy(Duration interval, boolean capture) {
            return new MultiprocessConfig(numProcesses, threadsPerProcess, interval, capture);
        }

        @Override
        protected boolean crossesProcesses() {
            return true;
        }

        @Override
        protected Pool createPool(String poolId) {
            return MultiprocessPool.builder(workerFunction()).numProcesses(numProcesses)
                    .threadsPerProcess(threadsPerProcess).build();
        }
    }
}
