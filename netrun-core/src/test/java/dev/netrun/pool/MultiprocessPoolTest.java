package dev.netrun.pool;

import org.junit.jupiter.api.Tag;

import java.util.function.BooleanSupplier;

/**
 * The pool contract on a {@link MultiprocessPool} of two child JVMs with two worker threads each, running
 * {@link ScriptedWorker} (built in each child from its public no-arg constructor). Every contract test runs;
 * the hooks say that failures carry no cause here, that a start costs a JVM (five cycles instead of thirty or
 * fifty), and that a worker has ended when its process is gone. What is particular to processes is in
 * {@link MultiprocessPoolProcessTest} and {@link MultiprocessPoolLifecycleTest}.
 */
@Tag("slow")
class MultiprocessPoolTest extends PoolContract {
    static final int PROCESSES = 2;
    static final int THREADS = 2;

    @Override
    protected Pool createPool(WorkerFunction fn) {
        return MultiprocessPool.builder(fn).numProcesses(PROCESSES).threadsPerProcess(THREADS).build();
    }

    @Override
    protected int expectedNumWorkers() {
        return PROCESSES * THREADS;
    }

    @Override
    protected boolean workersRunInThisJvm() {
        return false;
    }

    @Override
    protected int startCloseCycles(int usual) {
        return 5;
    }

    @Override
    protected BooleanSupplier workerEndedProbe(int workerId) {
        long pid = ((MultiprocessPool) pool).pid(workerId / THREADS);
        return () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
    }
}
