package dev.netrun.pool;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Objects;

/**
 * A worker function threw. Carries the thrown exception's class name, message and stack trace as text, so
 * the story survives a process or network boundary; when the worker ran in this JVM the original
 * {@code Throwable} is also the {@linkplain #getCause() cause}.
 */
public class WorkerException extends PoolException {
    private static final long serialVersionUID = 1L;

    private final int workerId;
    private final String remoteClassName;
    private final String remoteMessage;
    private final String remoteStackTrace;

    /**
     * Wraps an exception thrown by a worker in this JVM.
     *
     * @param workerId the worker whose function threw
     * @param cause    what it threw
     */
    public WorkerException(int workerId, Throwable cause) {
        this(workerId, cause.getClass().getName(), cause.getMessage(), stackTraceOf(cause), cause);
    }

    /**
     * Describes an exception thrown by a worker elsewhere (another process or machine).
     *
     * @param workerId         the worker whose function threw
     * @param remoteClassName  the thrown exception's class name
     * @param remoteMessage    its message, may be {@code null}
     * @param remoteStackTrace its stack trace as text
     * @param cause            the original exception if it is available in this JVM, else {@code null}
     */
    public WorkerException(int workerId, String remoteClassName, String remoteMessage, String remoteStackTrace,
                           Throwable cause) {
        super("Worker " + workerId + " failed: " + remoteClassName
                + (remoteMessage == null ? "" : ": " + remoteMessage), cause);
        this.workerId = workerId;
        this.remoteClassName = Objects.requireNonNull(remoteClassName, "remoteClassName");
        this.remoteMessage = remoteMessage;
        this.remoteStackTrace = remoteStackTrace == null ? "" : remoteStackTrace;
    }

    /** @return the id of the worker whose function threw */
    public int workerId() {
        return workerId;
    }

    /** @return the class name of what the worker threw */
    public String remoteClassName() {
        return remoteClassName;
    }

    /** @return the message of what the worker threw, or {@code null} */
    public String remoteMessage() {
        return remoteMessage;
    }

    /** @return the stack trace of what the worker threw, as text */
    public String remoteStackTrace() {
        return remoteStackTrace;
    }

    /**
     * Renders a throwable's stack trace (with causes) as text.
     *
     * @param t a throwable
     * @return what {@code t.printStackTrace()} would print
     */
    public static String stackTraceOf(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }
}
