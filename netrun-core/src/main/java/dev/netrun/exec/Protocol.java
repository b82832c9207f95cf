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
    /** worker -> manager: the function was registered. Data: the call id, a {@code Long}. */
    static final String FUNCTION_OK = "__exec:function-ok";

    record RunRequest(long callId, String func, boolean sendChannel, Object[] args, Map<String, Object> kwargs,
                      boolean streamPrints) implements Serializable {
    }

    record FunctionRequest(long callId, String key, JobFunction function) implements Serializable {
    }

    record Started(long callId, Instant at) implements Serializable {
    }

    record Prints(long callId, List<PrintEntry> entries) implements Serializable {
    }

    /** How a job ended: a result or a failure, and the lines printed since the last {@link Prints}. */
    static final class RunReply implements Serializable {
        private static final long serialVersionUID = 1L;

        final long callId;
        final Instant started;
        final Instant completed;
        final boolean convertedToStr;
        final Object result;
        final List<PrintEntry> prints;
        /** Non-null when the job failed. */
        final String failureClass;
        final String failureMessage;
        final String failureStack;
        /** The original failure; only present when the reply did not cross a process boundary. */
        final transient Throwable failure;

        RunReply(long callId, Instant started, Instant completed, boolean convertedToStr, Object result,
                 List<PrintEntry> prints, String failureClass, String failureMessage, String failureStack,
                 Throwable failure) {
            this.callId = callId;
            this.started = started;
            this.completed = completed;
            this.convertedToStr = convertedToStr;
            this.result = result;
            this.prints = prints;
            this.failureClass = failureClass;
            this.failureMessage = failureMessage;
            this.failureStack = failureStack;
            this.failure = failure;
        }

        boolean failed() {
            return failureClass != null;
        }

        /** The same reply with the result replaced by its string form. */
        RunReply resultAsString() {
            return new RunReply(callId, started, completed, true, Invocation.safeToString(result), prints,
                    failureClass, failureMessage, failureStack, failure);
        }
    }
}
