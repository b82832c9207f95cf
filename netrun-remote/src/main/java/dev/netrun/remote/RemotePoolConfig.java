package dev.netrun.remote;

import dev.netrun.exec.PoolConfig;
import dev.netrun.pool.Pool;
import dev.netrun.rpc.Codec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A pool of an {@link dev.netrun.exec.ExecutionManager} whose workers run on a {@link RemotePoolServer}: the
 * manager's pool is a {@link RemotePoolClient} that, on {@code start()}, connects to the server and asks it for
 * {@code numProcesses} child JVMs of {@code threadsPerProcess} workers running the manager's worker
 * ({@value RemotePoolServer#EXEC_WORKER}).
 *
 * <pre>{@code
 * Map<String, PoolConfig> pools = new LinkedHashMap<>();
 * pools.put("local", PoolConfig.thread(2));
 * pools.put("remote", RemotePoolConfig.of("127.0.0.1:7070").withProcesses(2, 1).withToken(secret));
 * try (ExecutionManager manager = new ExecutionManager(pools)) {
 *     manager.start();
 *     manager.runAllocate(List.of(WorkerTarget.pool("local"), WorkerTarget.pool("remote")),
 *             RunAllocationMethod.ROUND_ROBIN, Job.of("com.example.Tasks.add").args(1, 2));
 * }
 * }</pre>
 *
 * <p>Functions, arguments and results cross the network serialized, as for a process pool: a function that
 * cannot be serialized is refused by {@code sendFunction}; a result that cannot comes back as its string with
 * {@code convertedToStr == true}. Classes named by import path, and the capturing classes of lambdas sent by
 * key, must be on the class path of the server's children ({@code netrun serve --class-path}).
 *
 * <p>Immutable; each {@code with} method validates its value and returns a new config.
 */
public final class RemotePoolConfig extends PoolConfig {
    private final String address;
    private final int numProcesses;
    private final int threadsPerProcess;
    private final RemotePoolClient.Options options;

    private RemotePoolConfig(String address, int numProcesses, int threadsPerProcess, RemotePoolClient.Options options,
                             Duration printFlushInterval, boolean capturePrints) {
        super(printFlushInterval, capturePrints);
        Wire.parseAddress(address);
        if (numProcesses < 1) {
            throw new IllegalArgumentException("numProcesses must be >= 1, was " + numProcesses);
        }
        if (threadsPerProcess < 1) {
            throw new IllegalArgumentException("threadsPerProcess must be >= 1, was " + threadsPerProcess);
        }
        Math.multiplyExact(numProcesses, threadsPerProcess);
        this.address = address;
        this.numProcesses = numProcesses;
        this.threadsPerProcess = threadsPerProcess;
        this.options = Objects.requireNonNull(options, "options");
    }

    /**
     * A remote pool of 1 process with 1 worker on the server at {@code address}, no token, plain text.
     *
     * @param address {@code host:port}, e.g. {@code "127.0.0.1:7070"}
     * @throws IllegalArgumentException if the address is malformed
     * @throws NullPointerException     if it is {@code null}
     */
    public static RemotePoolConfig of(String address) {
        return new RemotePoolConfig(address, 1, 1, RemotePoolClient.Options.defaults(),
                DEFAULT_PRINT_FLUSH_INTERVAL, true);
    }

    /**
     * @param numProcesses      child JVMs on the server, at least 1
     * @param threadsPerProcess workers in each, at least 1
     * @return a copy with this size
     * @throws IllegalArgumentException if a size is below 1
     */
    public RemotePoolConfig withProcesses(int numProcesses, int threadsPerProcess) {
        return new RemotePoolConfig(address, numProcesses, threadsPerProcess, options, printFlushInterval(),
                capturePrints());
    }

    /**
     * @param token the server's shared token, or {@code null} for none
     * @return a copy sending this token
     * @throws IllegalArgumentException if it is blank or not printable ASCII
     */
    public RemotePoolConfig withToken(String token) {
        return withOptions(options.withToken(token));
    }

    /**
     * @param pem the server's certificate (or its CA's), PEM; {@code null} for plain text
     * @return a copy connecting over TLS, trusting this certificate
     * @throws IllegalArgumentException if the file is not readable
     */
    public RemotePoolConfig withTrustedCertificate(Path pem) {
        return withOptions(options.withTrustedCertificate(pem));
    }

    /**
     * @param options every client option at once (token, certificate, timeouts, limits, allowed classes)
     * @return a copy with these client options
     */
    public RemotePoolConfig withOptions(RemotePoolClient.Options options) {
        return new RemotePoolConfig(address, numProcesses, threadsPerProcess, options, printFlushInterval(),
                capturePrints());
    }

    @Override
    public RemotePoolConfig withPrintFlushInterval(Duration printFlushInterval) {
        return (RemotePoolConfig) super.withPrintFlushInterval(printFlushInterval);
    }

    @Override
    public RemotePoolConfig withCapturePrints(boolean capturePrints) {
        return (RemotePoolConfig) super.withCapturePrints(capturePrints);
    }

    /** @return the server's address */
    public String address() {
        return address;
    }

    /** @return the number of workers in each child process */
    public int threadsPerProcess() {
        return threadsPerProcess;
    }

    /** @return the client options */
    public RemotePoolClient.Options options() {
        return options;
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
        return RemotePoolClient.class;
    }

    @Override
    protected RemotePoolConfig copy(Duration printFlushInterval, boolean capturePrints) {
        return new RemotePoolConfig(address, numProcesses, threadsPerProcess, options, printFlushInterval,
                capturePrints);
    }

    @Override
    protected boolean crossesProcesses() {
        return true;
    }

    /**
     * The codec of job functions, arguments and results: the manager's own, unless the options restrict what
     * this client decodes ({@link RemotePoolClient.Options#withAllowedClasses}): then results are decoded with
     * that allow-list too.
     */
    @Override
    protected Codec valueCodec() {
        List<String> allowed = options.allowedClasses();
        return allowed == null ? super.valueCodec() : RemotePoolClient.valueCodec(options);
    }

    /** Builds the client; its {@code start()} connects and creates the pool with the manager's worker. */
    @Override
    protected Pool createPool(String poolId) {
        return new RemotePoolClient(address, options, new RemotePoolClient.Spec(RemotePoolServer.EXEC_WORKER,
                numProcesses, threadsPerProcess, true, true, workerFunction()));
    }

    @Override
    public String toString() {
        return "RemotePoolConfig[" + address + ", " + numProcesses + "x" + threadsPerProcess + ", printFlushInterval="
                + printFlushInterval().toMillis() + "ms, capturePrints=" + capturePrints() + ", " + options + "]";
    }
}
