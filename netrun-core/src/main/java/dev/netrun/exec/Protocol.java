package dev.netrun.exec;

import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

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
     * A message of this protocol. In-JVM it travels as the record itself; across processes as the array of its
     * components ({@link #toArray()}), which the codec writes and reads without reflection: a record's first
     * reflective encoding costs a fresh JVM about 6 ms on JDK 17 and 30 ms on JDK 25 (where reflection runs
     * on method handles), and every later one about twice the array's time.
     */
    sealed interface Message permits RunRequest, FunctionRequest, FunctionReply, Started, Prints, RunReply {
        Object[] toArray();
    }

    /** @return {@code m} as it travels: itself in-JVM, its array across processes */
    static Object wire(Message m, boolean crossesProcesses) {
        return crossesProcesses ? m.toArray() : m;
    }

    /**
     * Run a job. In-JVM pools pass {@code args}/{@code kwargs} by reference; pools that cross a process
     * boundary pass them pre-encoded in {@code encodedArgs} ({@code Object[]{args, kwargs}}), so that a value
     * the worker cannot decode fails this job alone, with a message, instead of the whole message.
     */
    record RunRequest(long callId, String func, boolean sendChannel, Object[] args, Map<String, Object> kwargs,
                      byte[] encodedArgs, boolean streamPrints) implements Message, Serializable {
        @Override
        public Object[] toArray() {
            return new Object[]{callId, func, sendChannel, args, kwargs, encodedArgs, streamPrints};
        }

        static RunRequest of(Object data) {
            return decode(data, RunRequest.class, 7, "run request", a -> new RunRequest((Long) a[0], (String) a[1],
                    (Boolean) a[2], (Object[]) a[3], stringKeyed(a[4]), (byte[]) a[5], (Boolean) a[6]));
        }
    }

    /** Register a function: by reference in-JVM, pre-encoded in {@code encodedFunction} across processes. */
    record FunctionRequest(long callId, String key, JobFunction function, byte[] encodedFunction)
            implements Message, Serializable {
        @Override
        public Object[] toArray() {
            return new Object[]{callId, key, function, encodedFunction};
        }

        static FunctionRequest of(Object data) {
            return decode(data, FunctionRequest.class, 4, "function request",
                    a -> new FunctionRequest((Long) a[0], (String) a[1], (JobFunction) a[2], (byte[]) a[3]));
        }
    }

    /** The function was registered ({@code error == null}) or could not be decoded by the worker. */
    record FunctionReply(long callId, String error) implements Message, Serializable {
        @Override
        public Object[] toArray() {
            return new Object[]{callId, error};
        }

        static FunctionReply of(Object data) {
            return decode(data, FunctionReply.class, 2, "function reply",
                    a -> new FunctionReply((Long) a[0], (String) a[1]));
        }
    }

    record Started(long callId, Instant at) implements Message, Serializable {
        @Override
        public Object[] toArray() {
            return new Object[]{callId, at};
        }

        static Started of(Object data) {
            return decode(data, Started.class, 2, "start notice", a -> new Started((Long) a[0], (Instant) a[1]));
        }
    }

    record Prints(long callId, List<PrintEntry> entries) implements Message, Serializable {
        @Override
        public Object[] toArray() {
            return new Object[]{callId, flat(entries)};
        }

        static Prints of(Object data) {
            return decode(data, Prints.class, 2, "prints",
                    a -> new Prints((Long) a[0], unflatten((Object[]) a[1])));
        }
    }

    /**
     * How a job ended: a result (by reference in {@code result}, or encoded in {@code encodedResult} across
     * processes) or a failure (its class name is non-null), and the lines printed since the last
     * {@link Prints}. {@code failure} is the original throwable, only set in-JVM.
     */
    record RunReply(long callId, Instant started, Instant completed, boolean convertedToStr, Object result,
                    byte[] encodedResult, List<PrintEntry> prints, String failureClass, String failureMessage,
                    String failureStack, Throwable failure) implements Message, Serializable {
        boolean failed() {
            return failureClass != null;
        }

        @Override
        public Object[] toArray() {
            return new Object[]{callId, started, completed, convertedToStr, result, encodedResult, flat(prints),
                    failureClass, failureMessage, failureStack, failure};
        }

        static RunReply of(Object data) {
            return decode(data, RunReply.class, 11, "run reply", a -> new RunReply((Long) a[0], (Instant) a[1],
                    (Instant) a[2], (Boolean) a[3], a[4], (byte[]) a[5], unflatten((Object[]) a[6]), (String) a[7],
                    (String) a[8], (String) a[9], (Throwable) a[10]));
        }
    }

    /** {@code Object[]{timestamp, text, timestamp, text, ...}}; {@code null} for {@code null}. */
    private static Object[] flat(List<PrintEntry> entries) {
        if (entries == null) {
            return null;
        }
        Object[] flat = new Object[entries.size() * 2];
        for (int i = 0; i < entries.size(); i++) {
            flat[2 * i] = entries.get(i).timestamp();
            flat[2 * i + 1] = entries.get(i).text();
        }
        return flat;
    }

    private static List<PrintEntry> unflatten(Object[] flat) {
        if (flat == null) {
            return null;
        }
        if (flat.length % 2 != 0) {
            throw new ClassCastException("an odd number of print components: " + flat.length);
        }
        List<PrintEntry> entries = new ArrayList<>(flat.length / 2);
        for (int i = 0; i < flat.length; i += 2) {
            entries.add(new PrintEntry((Instant) flat[i], (String) flat[i + 1]));
        }
        return Collections.unmodifiableList(entries);
    }

    /**
     * A message as it arrived: the record itself (in-JVM), or built from its array of components.
     *
     * @throws IllegalArgumentException if {@code data} is neither, or a component has the wrong type
     */
    private static <M extends Message> M decode(Object data, Class<M> type, int length, String what,
                                                Function<Object[], M> build) {
        if (type.isInstance(data)) {
            return type.cast(data);
        }
        if (!(data instanceof Object[] a) || a.length != length) {
            throw new IllegalArgumentException("Malformed " + what + ": expected " + length + " components, got "
                    + (data instanceof Object[] a ? a.length + " components" : data == null ? "null"
                    : data.getClass().getName()));
        }
        try {
            return build.apply(a);
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException("Malformed " + what + ": " + e.getMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> stringKeyed(Object map) {
        return (Map<String, Object>) map;
    }
}
