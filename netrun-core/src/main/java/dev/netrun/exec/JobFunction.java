package dev.netrun.exec;

import java.io.Serializable;

/**
 * A function a job runs, sent to workers with {@link ExecutionManager#sendFunction} or named by class
 * ({@code "com.example.AddJob"}, which must have a public no-arg constructor).
 *
 * <p>It is {@link Serializable} so that it can travel to process and remote pools; a lambda assigned to it
 * (or passed to one of the typed {@code of} factories) is serializable as long as what it captures is.
 * The typed factories check the number and types of positional arguments before calling, so a job with
 * the wrong arguments fails with a message that names what was expected:
 *
 * <pre>{@code
 * JobFunction add = JobFunction.of((Integer a, Integer b) -> a + b);
 * JobFunction hello = JobFunction.of(() -> "hello");
 * JobFunction raw = args -> args.<Integer>get(0) * args.named("factor", 2);
 * }</pre>
 *
 * <p>A function may return a {@link java.util.concurrent.CompletionStage} or {@link java.util.concurrent.Future}:
 * the worker waits for it and the job's result is its value.
 */
@FunctionalInterface
public interface JobFunction extends Serializable {

    /**
     * Runs the job.
     *
     * @param args the job's arguments
     * @return the result, possibly {@code null}, a {@code CompletionStage} or a {@code Future}
     * @throws Exception anything; the job then fails with {@link JobFailedException}
     */
    Object call(Args args) throws Exception;

    /** A serializable function of no arguments. */
    @FunctionalInterface
    interface F0<R> extends Serializable {
        /** @return the result */
        R apply() throws Exception;
    }

    /** A serializable function of one argument. */
    @FunctionalInterface
    interface F1<A, R> extends Serializable {
        /** @return the result */
        R apply(A a) throws Exception;
    }

    /** A serializable function of two arguments. */
    @FunctionalInterface
    interface F2<A, B, R> extends Serializable {
        /** @return the result */
        R apply(A a, B b) throws Exception;
    }

    /** A serializable function of three arguments. */
    @FunctionalInterface
    interface F3<A, B, C, R> extends Serializable {
        /** @return the result */
        R apply(A a, B b, C c) throws Exception;
    }

    /** A serializable function of four arguments. */
    @FunctionalInterface
    interface F4<A, B, C, D, R> extends Serializable {
        /** @return the result */
        R apply(A a, B b, C c, D d) throws Exception;
    }

    /**
     * A job function of no arguments.
     *
     * @throws NullPointerException if {@code f} is {@code null}
     */
    static JobFunction of(F0<?> f) {
        return new TypedJobFunction(f, 0);
    }

    /**
     * A job function of one positional argument, type-checked before the call.
     *
     * @throws NullPointerException if {@code f} is {@code null}
     */
    static <A> JobFunction of(F1<A, ?> f) {
        return new TypedJobFunction(f, 1);
    }

    /**
     * A job function of two positional arguments, type-checked before the call.
     *
     * @throws NullPointerException if {@code f} is {@code null}
     */
    static <A, B> JobFunction of(F2<A, B, ?> f) {
        return new TypedJobFunction(f, 2);
    }

    /**
     * A job function of three positional arguments, type-checked before the call.
     *
     * @throws NullPointerException if {@code f} is {@code null}
     */
    static <A, B, C> JobFunction of(F3<A, B, C, ?> f) {
        return new TypedJobFunction(f, 3);
    }

    /**
     * A job function of four positional arguments, type-checked before the call.
     *
     * @throws NullPointerException if {@code f} is {@code null}
     */
    static <A, B, C, D> JobFunction of(F4<A, B, C, D, ?> f) {
        return new TypedJobFunction(f, 4);
    }
}
