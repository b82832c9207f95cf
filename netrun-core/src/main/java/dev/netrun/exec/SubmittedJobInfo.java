package dev.netrun.exec;

import java.time.Instant;

/**
 * A snapshot of a job in flight, as listed by {@link ExecutionManager#getWorkerJobs}.
 *
 * @param runId                 a unique id of this run
 * @param timestampUtcSubmitted when the job was accepted
 * @param timestampUtcStarted   when the worker started it, {@code null} until it has started
 * @param funcImportPathOrKey   the key or import path being run
 * @param poolId                the pool
 * @param workerId              the worker
 */
public record SubmittedJobInfo(String runId, Instant timestampUtcSubmitted, Instant timestampUtcStarted,
                               String funcImportPathOrKey, String poolId, int workerId) {
}
