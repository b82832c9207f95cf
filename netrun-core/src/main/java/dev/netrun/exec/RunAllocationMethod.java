package dev.netrun.exec;

/** How {@link ExecutionManager#runAllocate} picks a worker among its targets. */
public enum RunAllocationMethod {
    /**
     * The target worker least recently given a job (by any run of this manager), so jobs cycle evenly over
     * the targets, also when they are submitted concurrently.
     */
    ROUND_ROBIN,
    /** A target worker chosen uniformly at random. */
    RANDOM,
    /**
     * The target worker with the fewest jobs in flight, counting jobs already chosen for it but not yet
     * sent; ties go to the least recently used.
     */
    LEAST_BUSY
}
