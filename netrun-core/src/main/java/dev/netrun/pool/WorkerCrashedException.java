package dev.netrun.pool;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A worker died: its thread ended while the pool was running, its process exited or was killed, or the
 * connection to the machine hosting it was lost. {@link #details()} holds at least a {@code "reason"} and,
 * for workers in child processes, the process's {@code "exitCode"} when it is known.
 */
public class WorkerCrashedException extends PoolException {
    private static final long serialVersionUID = 1L;

    /** Key of the human-readable reason in {@link #details()}. */
    public static final String REASON = "reason";
    /** Key of the process exit code (an {@code Integer}) in {@link #details()}, when known. */
    public static final String EXIT_CODE = "exitCode";

    private final int workerId;
    private final Map<String, Object> details;

    /**
     * @param workerId the worker that died
     * @param reason   why, in words
     */
    public WorkerCrashedException(int workerId, String reason) {
        this(workerId, Map.of(REASON, reason), null);
    }

    /**
     * @param workerId the worker that died
     * @param details  at least {@link #REASON}; copied
     * @param cause    the underlying failure, or {@code null}
     */
    public WorkerCrashedException(int workerId, Map<String, ?> details, Throwable cause) {
        super("Worker " + workerId + " crashed: " + details.get(REASON)
                + (details.containsKey(EXIT_CODE) ? " (exit code " + details.get(EXIT_CODE) + ")" : ""), cause);
        this.workerId = workerId;
        this.details = Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    /** @return the id of the worker that died */
    public int workerId() {
        return workerId;
    }

    /** @return unmodifiable details: {@code "reason"}, and {@code "exitCode"} when a process exit is known */
    public Map<String, Object> details() {
        return details;
    }

    /** @return the reason in words */
    public String reason() {
        return String.valueOf(details.get(REASON));
    }

    /** @return the exit code of the worker's process, if it is known */
    public Optional<Integer> exitCode() {
        Object c = details.get(EXIT_CODE);
        return c instanceof Integer i ? Optional.of(i) : Optional.empty();
    }
}
