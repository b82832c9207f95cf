package dev.netrun.exec;

import dev.netrun.exec.Protocol.Prints;
import dev.netrun.exec.Protocol.RunReply;
import dev.netrun.exec.Protocol.RunRequest;
import dev.netrun.exec.Protocol.Started;
import dev.netrun.pool.AbstractPool;
import dev.netrun.pool.Pool;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.PoolListener;
import dev.netrun.pool.WorkerCrashedException;
import dev.netrun.pool.WorkerException;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.CompactCodec;
import dev.netrun.rpc.JavaSerializationCodec;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Runs functions in pools of workers and hands back {@link JobResult}s: the value, the worker that ran it,
 * UTC timestamps, and every line the job printed.
 *
 * <pre>{@code
 * try (ExecutionManager manager = new ExecutionManager(Map.of("workers", PoolConfig.thread(2)))) {
 *     manager.start();
 *     manager.sendFunctionToPool("workers", "add", JobFunction.of((Integer a, Integer b) -> a + b));
 *     JobResult r = manager.run("workers", 0, Job.of("add").args(3, 4));   // r.result() == 7
 * }
 * }</pre>
 *
 * <p><b>Lifecycle.</b> A manager is created stopped; {@link #start()} builds and starts its pools;
 * {@link #close()} stops them and fails every job still in flight with a {@link CancellationException}.
 * A closed manager may be started again. While a manager is started, {@code System.out} is a capturing
 * stream (see {@link Job#onPrint}); it is restored when the last manager of the JVM closes.
 *
 * <p><b>Ownership.</b> The manager owns its pools and every thread and process they run.
 *
 * <p><b>Thread safety.</b> Every method is safe to call from any thread; thousands of concurrent
 * {@code runAsync} calls are normal use. Actions before {@code runAsync} happen-before the function runs;
 * the function's actions happen-before the returned future completes. Dependent actions of returned futures
 * may run on a netrun thread (a worker thread, or a thread reading a child process): use the {@code *Async}
 * variants of {@link CompletableFuture} with your own executor for anything slow.
 *
 * <p><b>Errors.</b> Misuse (unknown pool id, worker id out of range, a manager not started) completes the
 * future of {@code runAsync}/{@code runAllocateAsync} with {@link IllegalArgumentException} or
 * {@link IllegalStateException}; a function that throws or cannot be called completes it with
 * {@link JobFailedException}; a worker that dies under a job completes it with {@link WorkerCrashedException}.
 * The blocking {@code run}/{@code runAllocate} throw the same exceptions, unwrapped.
 */
public final class ExecutionManager implements AutoCloseable {
    /** The logger, looked up on first use: finding the logging backend costs a child JVM ~20 ms at start. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(ExecutionManager.class.getName());
    }

    private enum State { NEW, RUNNING, CLOSED }

    private final Map<String, PoolConfig> configs;
    private final String runIdPrefix = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16) + "-";
    private final Object lifecycle = new Object();
    /** Written under lifecycle; read without lock by every call. */
    private volatile State state = State.NEW;
    /** The started pools, in config order; replaced at each start. */
    private volatile Map<String, PoolRuntime> runtimes = Map.of();
    /** Every call in flight, by call id. Whoever removes a call from here completes it: exactly once. */
    private final ConcurrentHashMap<Long, Call> pending = new ConcurrentHashMap<>();
    private final AtomicLong callIds = new AtomicLong();
    /** A clock of uses: each job given to a worker stamps it, so round robin picks the least recently used. */
    private final AtomicLong useTicks = new AtomicLong();
    /** Makes choosing a worker and counting the choice one step for concurrent allocations. */
    private final Object allocation = new Object();

    /**
     * Creates a stopped manager with these pools. The map's iteration order is the pools' order (use a
     * {@link LinkedHashMap} to choose it).
     *
     * @param poolConfigs pool id to config; copied
     * @throws NullPointerException     if the map, an id or a config is {@code null}
     * @throws IllegalArgumentException if a pool id is blank
     */
    public ExecutionManager(Map<String, ? extends PoolConfig> poolConfigs) {
        Objects.requireNonNull(poolConfigs, "poolConfigs");
        LinkedHashMap<String, PoolConfig> copy = new LinkedHashMap<>();
        poolConfigs.forEach((id, config) -> {
            Objects.requireNonNull(id, "pool id");
            Objects.requireNonNull(config, () -> "config of pool '" + id + "'");
            if (id.isBlank()) {
                throw new IllegalArgumentException("Pool id is blank");
            }
            copy.put(id, config);
        });
        this.configs = Collections.unmodifiableMap(copy);
    }

    /**
     * Builds and starts every pool, in order. Blocks until all are ready.
     *
     * @throws IllegalStateException    if the manager is already started
     * @throws IllegalArgumentException if a pool of this kind cannot be built here
     * @throws PoolException            if a pool could not start; pools already started are closed again
     */
    public void start() {
        synchronized (lifecycle) {
            if (state == State.RUNNING) {
                throw new IllegalStateException("ExecutionManager is already started");
            }
            PrintCapture.acquire();
            LinkedHashMap<String, PoolRuntime> started = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, PoolConfig> e : configs.entrySet()) {
                    PoolRuntime rt = new PoolRuntime(e.getKey(), e.getValue());
                    rt.pool.start();
                    started.put(e.getKey(), rt);
                }
            } catch (RuntimeException | Error e) {
                started.values().forEach(rt -> closeQuietly(rt.pool));
                PrintCapture.release();
                throw e;
            }
            runtimes = Collections.unmodifiableMap(started);
            state = State.RUNNING;
        }
    }

    /**
     * Stops every pool and fails every job still in flight with a {@link CancellationException}. Idempotent;
     * never hangs: workers busy in a job get a few seconds to leave before their threads are interrupted or
     * their processes killed.
     */
    @Override
    public void close() {
        Map<String, PoolRuntime> rts;
        synchronized (lifecycle) {
            if (state != State.RUNNING) {
                return;
            }
            state = State.CLOSED;
            rts = runtimes;
            // Callers are released first; the pools' threads are joined after.
            for (Call c : pending.values()) {
                if (pending.remove(c.id, c)) {
                    c.fail(new CancellationException("ExecutionManager was closed before " + c.describe() + " completed"));
                }
            }
            rts.values().forEach(rt -> closeQuietly(rt.pool));
            PrintCapture.release();
        }
    }

    /** @return the pools in config order, with their types; available before {@link #start()} */
    public List<PoolInfo> pools() {
        return configs.entrySet().stream().map(e -> new PoolInfo(e.getKey(), e.getValue().poolType()))
                .collect(Collectors.toUnmodifiableList());
    }

    /**
     * @return the number of workers of a pool
     * @throws IllegalArgumentException if the pool id is unknown
     */
    public int getNumWorkers(String poolId) {
        return config(poolId).numWorkers();
    }

    /**
     * @return the names of a pool's workers, {@code "<pool>_<i>"}
     * @throws IllegalArgumentException if the pool id is unknown
     */
    public List<String> getWorkerIds(String poolId) {
        int n = getNumWorkers(poolId);
        return IntStream.range(0, n).mapToObj(i -> poolId + "_" + i).collect(Collectors.toUnmodifiableList());
    }

    /**
     * Lists the jobs in flight on one worker (submitted and not yet ended, however they end), oldest first.
     * A snapshot: it does not change afterwards.
     *
     * @throws IllegalArgumentException if the pool id is unknown or the worker id out of range
     */
    public List<SubmittedJobInfo> getWorkerJobs(String poolId, int workerId) {
        checkWorkerId(poolId, config(poolId), workerId);
        List<JobCall> jobs = new ArrayList<>();
        for (Call c : pending.values()) {
            if (c instanceof JobCall j && j.slot.workerId == workerId && j.slot.runtime.id.equals(poolId)) {
                jobs.add(j);
            }
        }
        jobs.sort(Comparator.comparingLong(j -> j.id));
        return jobs.stream().map(j -> j.info(runIdPrefix)).collect(Collectors.toUnmodifiableList());
    }

    /**
     * @return the indices of a pool's child processes, {@code 0} to {@code numProcesses - 1}
     * @throws IllegalArgumentException if the pool id is unknown or the pool has no processes
     */
    public List<Integer> getProcessIds(String poolId) {
        int n = processes(poolId);
        return IntStream.range(0, n).boxed().collect(Collectors.toUnmodifiableList());
    }

    /**
     * Registers {@code function} under {@code key} on one worker, so that {@code Job.of(key)} runs it there.
     * Blocks until the worker has it.
     *
     * @throws IllegalArgumentException if the pool id is unknown, the worker id out of range, or the pool
     *                                  crosses a process boundary and the function cannot be serialized
     *                                  (nothing is sent then)
     * @throws IllegalStateException    if the manager is not started
     * @throws WorkerCrashedException   if the worker is dead
     */
    public void sendFunction(String poolId, int workerId, String key, JobFunction function) {
        byte[] encoded = checkFunction(poolId, key, function);
        awaitAll(List.of(sendFunctionAsync(poolId, workerId, key, function, encoded)));
    }

    /**
     * Registers {@code function} under {@code key} on every worker of a pool. Blocks until all have it.
     *
     * @throws IllegalArgumentException if the pool id is unknown, or the pool crosses a process boundary and
     *                                  the function cannot be serialized (nothing is sent then)
     * @throws IllegalStateException    if the manager is not started
     * @throws WorkerCrashedException   if a worker is dead
     */
    public void sendFunctionToPool(String poolId, String key, JobFunction function) {
        int n = getNumWorkers(poolId);
        byte[] encoded = checkFunction(poolId, key, function); // once for every worker
        List<CompletableFuture<?>> acks = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            acks.add(sendFunctionAsync(poolId, i, key, function, encoded));
        }
        awaitAll(acks);
    }

    /** Sends a function checked (and, across processes, encoded) by {@link #checkFunction}. */
    private CompletableFuture<Void> sendFunctionAsync(String poolId, int workerId, String key, JobFunction function,
                                                      byte[] encoded) {
        Slot slot = slot(poolId, workerId);
        FunctionCall call = new FunctionCall(callIds.incrementAndGet(), slot, key);
        return dispatch(call, Protocol.FUNCTION,
                new Protocol.FunctionRequest(call.id, key, encoded == null ? function : null, encoded)).future;
    }

    /** @return the encoded function for pools that cross a process boundary, else {@code null} */
    private byte[] checkFunction(String poolId, String key, JobFunction function) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(function, "function");
        Codec codec = runtime(poolId).codec;
        if (codec == null) {
            return null;
        }
        try {
            return codec.encode(function);
        } catch (CodecException e) {
            throw new IllegalArgumentException("Function for key '" + key + "' cannot be sent to pool '" + poolId
                    + "': it is not serializable (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Runs a job on one worker and waits for it.
     *
     * @throws JobFailedException       if the function threw or could not be called
     * @throws WorkerCrashedException   if the worker died under the job
     * @throws IllegalArgumentException if the pool id is unknown or the worker id out of range
     * @throws IllegalStateException    if the manager is not started, or the waiting thread is interrupted
     *                                  (the job goes on; the interrupt status is set again)
     * @throws CancellationException    if the manager was closed before the job completed
     */
    public JobResult run(String poolId, int workerId, Job job) {
        return await(runAsync(poolId, workerId, job));
    }

    /**
     * Submits a job to one worker. Never blocks on the job.
     *
     * @return a future completed with the result, or exceptionally as described in the class documentation
     */
    public CompletableFuture<JobResult> runAsync(String poolId, int workerId, Job job) {
        Slot slot;
        try {
            Objects.requireNonNull(job, "job");
            slot = slot(poolId, workerId);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        slot.inFlight.incrementAndGet();
        slot.lastUsed = useTicks.incrementAndGet();
        return submit(slot, job);
    }

    /**
     * Runs a job on a worker chosen among {@code targets} by {@code method}, and waits for it.
     *
     * @throws IllegalArgumentException if {@code targets} names no worker ("No workers available for
     *                                  allocation."), an unknown pool or an out-of-range worker
     * @see #run(String, int, Job) for the other exceptions
     */
    public JobResult runAllocate(List<WorkerTarget> targets, RunAllocationMethod method, Job job) {
        return await(runAllocateAsync(targets, method, job));
    }

    /**
     * Submits a job to a worker chosen among {@code targets} by {@code method}. Never blocks on the job.
     *
     * @return a future completed with the result, or exceptionally as described in the class documentation
     */
    public CompletableFuture<JobResult> runAllocateAsync(List<WorkerTarget> targets, RunAllocationMethod method,
                                                         Job job) {
        Slot chosen;
        try {
            Objects.requireNonNull(targets, "targets");
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(job, "job");
            List<Slot> slots = resolve(targets);
            if (slots.isEmpty()) {
                throw new IllegalArgumentException("No workers available for allocation.");
            }
            chosen = choose(slots, method);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return submit(chosen, job);
    }

    /**
     * Asks one child process of a process pool for the output it captured and not yet handed out, and
     * clears it.
     *
     * @throws IllegalArgumentException if the pool id is unknown, the pool has no processes, or the index is
     *                                  out of range
     * @throws IllegalStateException    if the manager is not started
     */
    public List<dev.netrun.pool.OutputEntry> flushPoolStdout(String poolId, int processIdx, Duration timeout) {
        processes(poolId);
        return outputSource(poolId).flushStdout(processIdx, timeout);
    }

    /**
     * Like {@link #flushPoolStdout} for every process of the pool, by process index.
     *
     * @throws IllegalArgumentException if the pool id is unknown or the pool has no processes
     * @throws IllegalStateException    if the manager is not started
     */
    public Map<Integer, List<dev.netrun.pool.OutputEntry>> flushAllPoolStdout(String poolId, Duration timeout) {
        processes(poolId);
        return outputSource(poolId).flushAllStdout(timeout);
    }

    private dev.netrun.pool.ProcessOutput outputSource(String poolId) {
        Pool pool = runtime(poolId).pool;
        if (pool instanceof dev.netrun.pool.ProcessOutput po) {
            return po;
        }
        throw new IllegalArgumentException("Pool '" + poolId + "' (" + pool.getClass().getSimpleName()
                + ") does not capture process output");
    }

    // ---------------------------------------------------------------------------------------------------
    // submission

    private CompletableFuture<JobResult> submit(Slot slot, Job job) {
        JobCall call = new JobCall(callIds.incrementAndGet(), slot, job, Instant.now());
        Codec codec = slot.runtime.codec;
        RunRequest req;
        if (codec == null) {
            req = new RunRequest(call.id, job.funcImportPathOrKey(), job.isSendChannel(), job.argsArray(),
                    job.keywordArgs(), null, job.printCallback() != null);
        } else {
            byte[] encoded;
            try {
                encoded = codec.encode(new Object[]{job.argsArray(), job.keywordArgs()});
            } catch (CodecException e) {
                call.fail(new IllegalArgumentException("Cannot send " + call.describe() + ": its arguments cannot be "
                        + "serialized (" + e.getMessage() + ")", e));
                return call.future;
            }
            req = new RunRequest(call.id, job.funcImportPathOrKey(), job.isSendChannel(), null, null, encoded,
                    job.printCallback() != null);
        }
        return dispatch(call, Protocol.RUN, req).future;
    }

    /**
     * Registers a call and sends its request. The call is completed exactly once, by whoever removes it from
     * {@code pending}: the reply, a worker failure, a failed send, or close. A worker that died or a manager
     * that closed between the checks and the send is caught by the re-check after it.
     */
    private <C extends Call> C dispatch(C call, String key, Protocol.Message request) {
        Slot slot = call.slot;
        pending.put(call.id, call);
        try {
            slot.runtime.pool.send(slot.workerId, key, Protocol.wire(request, slot.runtime.codec != null));
        } catch (RuntimeException e) {
            if (pending.remove(call.id, call)) {
                call.fail(e instanceof PoolException && !(e instanceof WorkerCrashedException)
                        ? new IllegalStateException("Cannot send to " + slot + ": " + e.getMessage(), e) : e);
            }
            return call;
        }
        if (slot.crash != null || state != State.RUNNING || slot.runtime != runtimes.get(slot.runtime.id)) {
            if (pending.remove(call.id, call)) {
                call.fail(slot.crash != null ? slot.crash
                        : new CancellationException("ExecutionManager was closed before " + call.describe() + " completed"));
            }
        }
        return call;
    }

    private Slot choose(List<Slot> slots, RunAllocationMethod method) {
        synchronized (allocation) {
            List<Slot> live = slots;
            if (slots.size() > 1) {
                live = new ArrayList<>(slots.size());
                for (Slot s : slots) {
                    if (s.crash == null) {
                        live.add(s);
                    }
                }
                if (live.isEmpty()) {
                    live = slots;
                }
            }
            Slot chosen;
            switch (method) {
                case RANDOM:
                    chosen = live.get(ThreadLocalRandom.current().nextInt(live.size()));
                    break;
                case LEAST_BUSY:
                    chosen = live.get(0);
                    for (Slot s : live) {
                        int a = s.inFlight.get();
                        int b = chosen.inFlight.get();
                        if (a < b || (a == b && s.lastUsed < chosen.lastUsed)) {
                            chosen = s;
                        }
                    }
                    break;
                default:
                    chosen = live.get(0);
                    for (Slot s : live) {
                        if (s.lastUsed < chosen.lastUsed) {
                            chosen = s;
                        }
                    }
            }
            chosen.inFlight.incrementAndGet();
            chosen.lastUsed = useTicks.incrementAndGet();
            return chosen;
        }
    }

    private List<Slot> resolve(List<WorkerTarget> targets) {
        LinkedHashSet<Slot> slots = new LinkedHashSet<>();
        for (WorkerTarget t : targets) {
            Objects.requireNonNull(t, "target");
            PoolRuntime rt = runtime(t.poolId());
            if (t.workerId().isPresent()) {
                slots.add(slot(t.poolId(), t.workerId().getAsInt()));
            } else {
                Collections.addAll(slots, rt.slots);
            }
        }
        return new ArrayList<>(slots);
    }

    // ---------------------------------------------------------------------------------------------------
    // lookups and checks

    private PoolConfig config(String poolId) {
        Objects.requireNonNull(poolId, "poolId");
        PoolConfig c = configs.get(poolId);
        if (c == null) {
            throw new IllegalArgumentException("Unknown pool id '" + poolId + "'; the pools are " + configs.keySet());
        }
        return c;
    }

    private PoolRuntime runtime(String poolId) {
        config(poolId);
        PoolRuntime rt = runtimes.get(poolId);
        if (state != State.RUNNING || rt == null) {
            throw new IllegalStateException("ExecutionManager is " + (state == State.NEW ? "not started" : "closed")
                    + ": cannot use pool '" + poolId + "'");
        }
        return rt;
    }

    private Slot slot(String poolId, int workerId) {
        PoolRuntime rt = runtime(poolId);
        checkWorkerId(poolId, rt.config, workerId);
        return rt.slots[workerId];
    }

    private static void checkWorkerId(String poolId, PoolConfig config, int workerId) {
        if (workerId < 0 || workerId >= config.numWorkers()) {
            throw new IllegalArgumentException("Worker id " + workerId + " is out of range for pool '" + poolId
                    + "': valid ids are 0 to " + (config.numWorkers() - 1));
        }
    }

    private int processes(String poolId) {
        PoolConfig c = config(poolId);
        if (c.numProcesses() == 0) {
            throw new IllegalArgumentException("Pool '" + poolId + "' (" + c.poolType().getSimpleName()
                    + ") has no processes");
        }
        return c.numProcesses();
    }

    /**
     * The codec of values that cross a process boundary between a manager and its workers: compact for
     * common values, JDK serialization for the rest, resolving classes with {@code loader}.
     */
    static Codec codec(ClassLoader loader) {
        return new CompactCodec(JavaSerializationCodec.trusted(loader));
    }

    private static void closeQuietly(Pool pool) {
        try {
            pool.close();
        } catch (RuntimeException e) {
            Log.LOG.log(System.Logger.Level.WARNING, "closing " + pool + " failed", e);
        }
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for a job; it goes on running", e);
        }
    }

    private static void awaitAll(List<CompletableFuture<?>> futures) {
        RuntimeException first = null;
        for (CompletableFuture<?> f : futures) {
            try {
                await(f);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static RuntimeException unwrap(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(t);
    }

    // ---------------------------------------------------------------------------------------------------
    // state of pools, workers and calls

    /** A started pool and the manager's view of its workers; receives what the workers send. */
    private final class PoolRuntime implements PoolListener {
        final String id;
        final PoolConfig config;
        final Pool pool;
        final Slot[] slots;
        /** Encodes arguments, functions and results for pools that cross a process boundary; else null. */
        final Codec codec;

        PoolRuntime(String id, PoolConfig config) {
            this.id = id;
            this.config = config;
            this.codec = config.crossesProcesses() ? config.valueCodec() : null;
            this.pool = config.createPool(id);
            if (!(pool instanceof AbstractPool ap)) {
                throw new IllegalArgumentException("Pool kind " + pool.getClass().getName() + " of pool '" + id
                        + "' does not support push delivery");
            }
            if (pool.numWorkers() != config.numWorkers()) {
                throw new IllegalArgumentException("Pool '" + id + "' has " + pool.numWorkers()
                        + " workers, its config says " + config.numWorkers());
            }
            ap.setListener(this);
            slots = new Slot[pool.numWorkers()];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new Slot(this, i);
            }
        }

        @Override
        public void onMessage(int workerId, String key, Object data) {
            switch (key) {
                case Protocol.STARTED: {
                    Started s = Started.of(data);
                    if (pending.get(s.callId()) instanceof JobCall j) {
                        j.started = s.at();
                    }
                    break;
                }
                case Protocol.PRINTS: {
                    Prints p = Prints.of(data);
                    if (pending.get(p.callId()) instanceof JobCall j) {
                        j.prints(p.entries());
                    }
                    break;
                }
                case Protocol.DONE: {
                    RunReply r = RunReply.of(data);
                    Call c = pending.remove(r.callId());
                    if (c instanceof JobCall j) {
                        j.finish(r);
                    }
                    break;
                }
                case Protocol.FUNCTION_OK: {
                    Protocol.FunctionReply r = Protocol.FunctionReply.of(data);
                    Call c = pending.remove(r.callId());
                    if (c instanceof FunctionCall f) {
                        f.finish(r.error());
                    }
                    break;
                }
                default:
                    Log.LOG.log(System.Logger.Level.WARNING, "pool {0} worker {1} sent unknown key {2}", id, workerId, key);
            }
        }

        @Override
        public void onFailure(PoolException failure) {
            int workerId = failure instanceof WorkerException we ? we.workerId()
                    : failure instanceof WorkerCrashedException wc ? wc.workerId() : -1;
            if (workerId < 0 || workerId >= slots.length) {
                Log.LOG.log(System.Logger.Level.ERROR, "pool " + id + " failed", failure);
                return;
            }
            Slot slot = slots[workerId];
            WorkerCrashedException crash = failure instanceof WorkerCrashedException wc ? wc
                    : new WorkerCrashedException(workerId, Map.of(WorkerCrashedException.REASON,
                            "the worker's loop failed: " + failure.getMessage()), failure);
            slot.crash = crash;
            for (Call c : pending.values()) {
                if (c.slot == slot && pending.remove(c.id, c)) {
                    c.fail(crash);
                }
            }
        }
    }

    /** One worker as the manager sees it. */
    private static final class Slot {
        final PoolRuntime runtime;
        final int workerId;
        /** Jobs chosen for or running on this worker; decremented when they end. */
        final AtomicInteger inFlight = new AtomicInteger();
        /** The {@code useTicks} value of the last job given to it. */
        volatile long lastUsed;
        /** Set once the worker died. */
        volatile WorkerCrashedException crash;

        Slot(PoolRuntime runtime, int workerId) {
            this.runtime = runtime;
            this.workerId = workerId;
        }

        @Override
        public String toString() {
            return runtime.id + "[" + workerId + "]";
        }
    }

    /** Something sent to a worker that awaits an answer. */
    private abstract static class Call {
        final long id;
        final Slot slot;

        Call(long id, Slot slot) {
            this.id = id;
            this.slot = slot;
        }

        abstract void fail(Throwable t);

        abstract String describe();
    }

    private static final class FunctionCall extends Call {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        final String key;

        FunctionCall(long id, Slot slot, String key) {
            super(id, slot);
            this.key = key;
        }

        void finish(String error) {
            if (error == null) {
                future.complete(null);
            } else {
                future.completeExceptionally(new IllegalArgumentException("Worker " + slot.workerId + " of pool '"
                        + slot.runtime.id + "' could not load function '" + key + "': " + error));
            }
        }

        @Override
        void fail(Throwable t) {
            future.completeExceptionally(t);
        }

        @Override
        String describe() {
            return "sending function '" + key + "' to " + slot;
        }
    }

    private static final class JobCall extends Call {
        final CompletableFuture<JobResult> future = new CompletableFuture<>();
        final Job job;
        final Instant submitted;
        volatile Instant started;
        /** Lines streamed so far; guarded by this. */
        private List<PrintEntry> prints = List.of();

        JobCall(long id, Slot slot, Job job, Instant submitted) {
            super(id, slot);
            this.job = job;
            this.submitted = submitted;
        }

        void prints(List<PrintEntry> chunk) {
            synchronized (this) {
                if (prints.isEmpty()) {
                    prints = new ArrayList<>(chunk);
                } else {
                    prints.addAll(chunk);
                }
            }
            deliver(chunk);
        }

        private void deliver(List<PrintEntry> chunk) {
            Consumer<List<PrintEntry>> onPrint = job.printCallback();
            if (onPrint != null && !chunk.isEmpty()) {
                try {
                    onPrint.accept(Collections.unmodifiableList(chunk));
                } catch (RuntimeException e) {
                    Log.LOG.log(System.Logger.Level.WARNING, "onPrint callback of " + describe() + " threw", e);
                }
            }
        }

        void finish(RunReply r) {
            List<PrintEntry> all;
            synchronized (this) {
                if (prints.isEmpty()) {
                    all = r.prints().isEmpty() ? List.of() : Collections.unmodifiableList(r.prints());
                } else {
                    prints.addAll(r.prints());
                    all = Collections.unmodifiableList(prints);
                }
            }
            deliver(r.prints());
            slot.inFlight.decrementAndGet();
            String func = job.funcImportPathOrKey();
            if (r.failed()) {
                future.completeExceptionally(new JobFailedException(func, slot.runtime.id, slot.workerId,
                        r.failureClass(), r.failureMessage(), r.failureStack(), all, r.failure()));
                return;
            }
            Object result = r.result();
            if (r.encodedResult() != null) {
                try {
                    result = slot.runtime.codec.decode(r.encodedResult());
                } catch (CodecException e) {
                    future.completeExceptionally(new JobFailedException(func, slot.runtime.id, slot.workerId,
                            e.getClass().getName(), "the result could not be decoded here: " + e.getMessage(),
                            WorkerException.stackTraceOf(e), all, e));
                    return;
                }
            }
            // The worker's clock may be another machine's: keep submitted <= started <= completed.
            Instant s = r.started().isBefore(submitted) ? submitted : r.started();
            Instant done = r.completed().isBefore(s) ? s : r.completed();
            future.complete(new JobResult(submitted, s, done, func, slot.runtime.id, slot.workerId,
                    r.convertedToStr(), result, all));
        }

        @Override
        void fail(Throwable t) {
            slot.inFlight.decrementAndGet();
            future.completeExceptionally(t);
        }

        @Override
        String describe() {
            return "job '" + job.funcImportPathOrKey() + "' on " + slot;
        }

        SubmittedJobInfo info(String runIdPrefix) {
            return new SubmittedJobInfo(runIdPrefix + id, submitted, started, job.funcImportPathOrKey(),
                    slot.runtime.id, slot.workerId);
        }
    }
}
