package dev.netrun.exec;

import java.util.List;

/**
 * A job's function threw, or could not be called (unknown function, arguments that do not fit). Carries the
 * failure's class name, message and stack trace as text, so the story survives process and network
 * boundaries, the lines the job printed before it failed, and, when the job ran in this JVM, the original
 * {@code Throwable} as {@linkplain #getCause() cause}.
 */
public class JobFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String funcImportPathOrKey;
    private final String poolId;
    private final int workerId;
    private final String remoteClassName;
    private final String remoteMessage;
    private final String remoteStackTrace;
    private final List<PrintEntry> printBuffer;

    /**
     * @param funcImportPathOrKey what the job ran
     * @param poolId              where
     * @param workerId            on which worker
     * @param remoteClassName     the class of what was thrown
     * @param remoteMessage       its message, may be {@code null}
     * @param remoteStackTrace    its stack trace as text
     * @param printBuffer         what the job printed before failing
     * @param cause               the original throwable when it is in this JVM, else {@code null}
     */
    public JobFailedException(String funcImportPathOrKey, String poolId, int workerId, String remoteClassName,
                              String remoteMessage, String remoteStackTrace, List<PrintEntry> printBuffer,
                              Throwable cause) {
        super("Job '" + funcImportPathOrKey + "' failed on " + poolId + "[" + workerId + "]: " + remoteClassName
                + (remoteMessage == null ? "" : ": " + remoteMessage), cause);
        this.funcImportPathOrKey = funcImportPathOrKey;
        this.poolId = poolId;
        this.workerId = workerId;
        this.remoteClassName = remoteClassName;
        this.remoteMessage = remoteMessage;
        this.remoteStackTrace = remoteStackTrace == null ? "" : remoteStackTrace;
        this.printBuffer = List.copyOf(printBuffer);
    }

    /** @return the key or import path the job ran */
    public String funcImportPathOrKey() {
        return funcImportPathOrKey;
    }

    /** @return the pool the job ran in */
    public String poolId() {
        return poolId;
    }

    /** @return the worker the job ran on */
    public int workerId() {
        return workerId;
    }

    /** @return the class name of what the function threw */
    public String remoteClassName() {
        return remoteClassName;
    }

    /** @return the message of what the function threw, or {@code null} */
    public String remoteMessage() {
        return remoteMessage;
    }

    /** @return the stack trace of what the function threw, as text */
    public String remoteStackTrace() {
        return remoteStackTrace;
    }

    /** @return the lines the job printed before it failed, unmodifiable */
    public List<PrintEntry> printBuffer() {
        return printBuffer;
    }
}
