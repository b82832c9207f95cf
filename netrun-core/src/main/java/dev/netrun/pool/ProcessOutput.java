package dev.netrun.pool;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A pool whose workers live in child processes and which keeps what those processes print.
 * Implemented by {@code MultiprocessPool} and {@code RemotePoolClient}.
 */
public interface ProcessOutput {
    /** @return the number of child processes */
    int numProcesses();

    /**
     * Returns and clears the output kept for one process, after asking it to hand over what it has not sent
     * yet; waits at most {@code timeout} for that.
     *
     * @throws IllegalArgumentException if {@code processIdx} is out of range
     * @throws PoolNotStartedException  if the pool is not running
     * @throws WorkerTimeoutException   if the process did not answer in time
     */
    List<OutputEntry> flushStdout(int processIdx, Duration timeout);

    /**
     * Like {@link #flushStdout} for every process, by process index.
     *
     * @throws PoolNotStartedException if the pool is not running
     * @throws WorkerTimeoutException  if a process did not answer in time
     */
    Map<Integer, List<OutputEntry>> flushAllStdout(Duration timeout);
}
