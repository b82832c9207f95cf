package dev.netrun.exec;

import java.io.Serializable;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The messages between an {@link ExecutionManager} and its workers. Keys are reserved ({@code __exec:...});
 * every payload is serializable so the same protocol runs over process and network channels. Every
 * message carries the call id the manager chose, which routes the answer back to its caller.
 */
final class Protocol {
    private Protocol() {
    }

    /** manager -> worker: run a job. Data: {@link RunRequest}. */
    static final String RUN = "__exec:run";
    /** manager -> worker: register a function under a key. Data: {@link FunctionRequest}. */
    static final String FUNCTION = "__exec:function";
    /** worker -> manager: the job started. Data: {@link Started}. */
    static final String STARTED = "__exec:started";
    /** worker -> manager: lines printed so far. Data: {@link Prints}. */
    static final String PRINTS = "__exec:prints";
    /** worker -> manager: the job ended. Data: {@link RunReply}. */
    static final String DONE = "__exec:done";
    /** worker -> manager: the function was registered, or not. Data: {@link FunctionReply}. */
    static final String FUNCTION_OK = "__exec:function-ok";

    /**
     * Run a job. In-JVM pools pass {@code args}/{@code kwargs} by reference; pools that cross a process
     * boundary pass them pre-encoded in {@code encodedArgs} ({@code Object[]{args, kwargs}}), so that a value
     * the worker cannot decode fails this job alone, with a message, instead of the whole message.
     */
    record RunRequest(long callId, String func, boolean sendChannel, Object[] args, Map<String, Object> kwargs,
                      byte[] encodedArgs, boolean streamPrints) implements Serializable {
    }

    /** Register a function: by reference in-JVM, pre-encoded in {@code encodedFunction} across processes. */
    record FunctionRequest(long callId, String key, JobFunction function, byte[] encodedFunction)
            implements Serializable {
    }

    /** The function was registered ({@code error == null}) or could not be decoded by the worker. */
    record FunctionReply(long callId, String error) implements Serializable {
    }

    record Started(long callId, Instant at) implements Serializable {
    }

    record Prints(long callId, List<PrintEntry> entries) implements Serializable {
    }

    /**
     * How a job ended: a result (by reference in {@code result}, or encoded in {@code encodedResult} across
     * processes) or a failure (its class name is non-null), and the lines printed since the last
     * {@link Prints}. {@code failure} is the original throwable, only set in-JVM.
     */
    record RunReply(long callId, Instant started, Instant completed, boolean convertedToStr, Object result,
                    byte[] encodedResult, List<PrintEntry> prints, String failureClass, String failureMessage,
                    String failureStack, Throwable failure) implements Serializable {
        boolean failed() {
            return failureClass != null;
        }
    }
}
