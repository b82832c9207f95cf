package dev.netrun.exec;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * Where {@link ExecutionManager#runAllocate} may place a job: every worker of a pool, or one worker.
 * Immutable.
 */
public final class WorkerTarget {
    private final String poolId;
    private final int workerId; // -1: every worker of the pool

    private WorkerTarget(String poolId, int workerId) {
        this.poolId = Objects.requireNonNull(poolId, "poolId");
        this.workerId = workerId;
    }

    /**
     * Every worker of a pool.
     *
     * @throws NullPointerException if {@code poolId} is {@code null}
     */
    public static WorkerTarget pool(String poolId) {
        return new WorkerTarget(poolId, -1);
    }

    /**
     * One worker of a pool. The id is checked against the pool when the target is used.
     *
     * @throws NullPointerException     if {@code poolId} is {@code null}
     * @throws IllegalArgumentException if {@code workerId < 0}
     */
    public static WorkerTarget worker(String poolId, int workerId) {
        if (workerId < 0) {
            throw new IllegalArgumentException("workerId must be >= 0, was " + workerId);
        }
        return new WorkerTarget(poolId, workerId);
    }

    /** @return the pool id */
    public String poolId() {
        return poolId;
    }

    /** @return the worker id, or empty for every worker of the pool */
    public OptionalInt workerId() {
        return workerId < 0 ? OptionalInt.empty() : OptionalInt.of(workerId);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WorkerTarget t && t.poolId.equals(poolId) && t.workerId == workerId;
    }

    @Override
    public int hashCode() {
        return poolId.hashCode() * 31 + workerId;
    }

    @Override
    public String toString() {
        return workerId < 0 ? "WorkerTarget.pool(" + poolId + ")" : "WorkerTarget.worker(" + poolId + ", " + workerId + ")";
    }
}
