package dev.netrun.exec;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What to run: a function key or import path, its arguments, and how to run it. Immutable: each
 * {@code with}-style method returns a new {@code Job}, so one job description may be reused and shared
 * between threads.
 *
 * <pre>{@code
 * Job.of("add").args(3, 4)
 * Job.of("com.example.Tasks.scale").args(10).kwargs(Map.of("factor", 3))
 * Job.of("slow").onPrint(lines -> lines.forEach(l -> System.out.print(l.text())))
 * }</pre>
 */
public final class Job {
    private static final Object[] NO_ARGS = new Object[0];

    private final String funcImportPathOrKey;
    private final Object[] args;
    private final Map<String, Object> kwargs;
    private final boolean sendChannel;
    private final Consumer<List<PrintEntry>> onPrint;

    private Job(String funcImportPathOrKey, Object[] args, Map<String, Object> kwargs, boolean sendChannel,
                Consumer<List<PrintEntry>> onPrint) {
        this.funcImportPathOrKey = funcImportPathOrKey;
        this.args = args;
        this.kwargs = kwargs;
        this.sendChannel = sendChannel;
        this.onPrint = onPrint;
    }

    /**
     * A job that runs the function sent under {@code importPathOrKey} or, if no function was sent under that
     * key, the class ({@code "com.example.AddJob"}) or public static method ({@code "com.example.Tasks.add"})
     * of that name.
     *
     * @throws NullPointerException     if the argument is {@code null}
     * @throws IllegalArgumentException if it is blank
     */
    public static Job of(String importPathOrKey) {
        Objects.requireNonNull(importPathOrKey, "importPathOrKey");
        if (importPathOrKey.isBlank()) {
            throw new IllegalArgumentException("importPathOrKey is blank");
        }
        return new Job(importPathOrKey, NO_ARGS, Map.of(), false, null);
    }

    /**
     * Returns a copy with these positional arguments (replacing any set before). Elements may be
     * {@code null}. Process and remote pools need them to be serializable.
     *
     * @throws NullPointerException if the array is {@code null}
     */
    public Job args(Object... args) {
        Objects.requireNonNull(args, "args");
        return new Job(funcImportPathOrKey, args.length == 0 ? NO_ARGS : args.clone(), kwargs, sendChannel, onPrint);
    }

    /**
     * Returns a copy with these keyword arguments (replacing any set before), bound to parameters by name.
     * Values may be {@code null}; names may not.
     *
     * @throws NullPointerException if the map or a name is {@code null}
     */
    public Job kwargs(Map<String, ?> kwargs) {
        Objects.requireNonNull(kwargs, "kwargs");
        LinkedHashMap<String, Object> copy = new LinkedHashMap<>();
        kwargs.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "kwargs name"), v));
        return new Job(funcImportPathOrKey, args, copy.isEmpty() ? Map.of() : Collections.unmodifiableMap(copy),
                sendChannel, onPrint);
    }

    /**
     * Returns a copy that passes the worker's {@link dev.netrun.rpc.Channel} to the function: as the first
     * parameter of a static method, or through {@link Args#channel()}.
     */
    public Job sendChannel(boolean sendChannel) {
        return new Job(funcImportPathOrKey, args, kwargs, sendChannel, onPrint);
    }

    /**
     * Returns a copy that streams the job's printed lines to {@code onPrint} while it runs: every
     * {@link PoolConfig#printFlushInterval()} while there is something new, and the rest just before the
     * result completes. Calls for one job are never concurrent, arrive in order, and all happen before the
     * job's future completes. The callback runs on a netrun thread: keep it short; what it prints goes to
     * the console, not into any job's buffer. {@code null} removes the callback.
     */
    public Job onPrint(Consumer<List<PrintEntry>> onPrint) {
        return new Job(funcImportPathOrKey, args, kwargs, sendChannel, onPrint);
    }

    /** @return the key or import path to run */
    public String funcImportPathOrKey() {
        return funcImportPathOrKey;
    }

    /** @return the positional arguments, unmodifiable */
    public List<Object> positionalArgs() {
        return Collections.unmodifiableList(Arrays.asList(args));
    }

    /** @return the keyword arguments, unmodifiable */
    public Map<String, Object> keywordArgs() {
        return kwargs;
    }

    /** @return whether the function receives the worker channel */
    public boolean isSendChannel() {
        return sendChannel;
    }

    /** @return the print callback, or {@code null} */
    public Consumer<List<PrintEntry>> printCallback() {
        return onPrint;
    }

    Object[] argsArray() {
        return args;
    }

    @Override
    public String toString() {
        return "Job[" + funcImportPathOrKey + ", args=" + Arrays.toString(args) + ", kwargs=" + kwargs
                + (sendChannel ? ", sendChannel" : "") + (onPrint != null ? ", onPrint" : "") + "]";
    }
}
