package dev.netrun.exec;

import java.time.Instant;
import java.util.List;

/**
 * What a finished job gives back.
 *
 * <p>{@code timestampUtcSubmitted <= timestampUtcStarted <= timestampUtcCompleted}; all are UTC instants.
 * For thread and main pools, {@code result} is the very object the function returned. For process and
 * remote pools it is a deserialized copy, or, when the value could not be serialized,
 * {@code String.valueOf(value)} with {@code convertedToStr == true}.
 *
 * @param timestampUtcSubmitted when {@code run}/{@code runAsync} accepted the job
 * @param timestampUtcStarted   when the worker started the function
 * @param timestampUtcCompleted when the function returned (or its future completed)
 * @param funcImportPathOrKey   the key or import path the job ran
 * @param poolId                the pool that ran it
 * @param workerId              the worker that ran it
 * @param convertedToStr        whether {@code result} is the string form of an unserializable value
 * @param result                the value, possibly {@code null}
 * @param printBuffer           every line the job printed, in order; unmodifiable
 */
public record JobResult(Instant timestampUtcSubmitted, Instant timestampUtcStarted, Instant timestampUtcCompleted,
                        String funcImportPathOrKey, String poolId, int workerId, boolean convertedToStr,
                        Object result, List<PrintEntry> printBuffer) {
}
