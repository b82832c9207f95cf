package dev.netrun.exec;

import dev.netrun.pool.Pool;
import dev.netrun.pool.SingleWorkerPool;
import dev.netrun.pool.ThreadPool;

import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * One kind of pool that the exec contract tests run over. Adding a kind (process, remote) means adding a
 * constant here and listing it in {@link #all()}; tests that need the caller and the job to share a heap
 * (latches captured by lambdas, identity of results) check {@link #sharesHeap()}.
 *
 * @param name              shown in test names
 * @param maxWorkersPerPool how many workers one pool of this kind can have; rigs needing more use several pools
 * @param sharesHeap        whether jobs run in this JVM, so results and arguments pass by reference
 * @param poolType          what {@link ExecutionManager#pools()} reports for it
 * @param factory           a config with the given number of workers (at most {@code maxWorkersPerPool})
 */
public record PoolKind(String name, int maxWorkersPerPool, boolean sharesHeap, Class<? extends Pool> poolType,
                       IntFunction<PoolConfig> factory) {

    public static final PoolKind THREAD = new PoolKind("thread", Integer.MAX_VALUE, true, ThreadPool.class,
            PoolConfig::thread);
    public static final PoolKind MAIN = new PoolKind("main", 1, true, SingleWorkerPool.class, n -> {
        if (n != 1) {
            throw new IllegalArgumentException("a main pool has exactly one worker, asked for " + n);
        }
        return PoolConfig.main();
    });

    /** Child JVMs, one worker each: arguments, functions and results cross a process boundary. */
    public static final PoolKind PROCESS = new PoolKind("process", Integer.MAX_VALUE, false,
            dev.netrun.pool.MultiprocessPool.class, n -> PoolConfig.multiprocess(n, 1));

    /** Every kind the contract runs over (the argument source of {@link ForEachPoolKind}). */
    public static Stream<PoolKind> all() {
        return Stream.of(THREAD, MAIN, PROCESS);
    }

    /** @return a config of this kind with {@code workers} workers */
    public PoolConfig config(int workers) {
        return factory.apply(workers);
    }

    @Override
    public String toString() {
        return name;
    }
}
