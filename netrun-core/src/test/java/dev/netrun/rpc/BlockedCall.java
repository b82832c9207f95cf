package dev.netrun.rpc;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * A blocking call run on its own thread, so a test can observe that it blocks, then release it and look at
 * how it ended, without ever sleeping and without waiting unboundedly.
 *
 * <p>"Blocked" is observed, not guessed: {@link #awaitBlocked()} waits (bounded) until the thread is parked
 * ({@code WAITING} or {@code TIMED_WAITING}) while its call has not returned. Every wait for the outcome is
 * bounded by {@link #BOUND}, so a call that never returns fails the test instead of hanging the suite.
 *
 * <p>Threads are named {@code test-blocked-...} (never {@code netrun-...}, which the pool tests count) and are
 * daemons, so a call that a bug leaves blocked cannot keep the test JVM alive.
 *
 * @param <T> what the call returns
 */
public final class BlockedCall<T> {
    /** The longest a test waits for a call to block or to end. */
    public static final Duration BOUND = Duration.ofSeconds(10);

    private final CompletableFuture<T> result = new CompletableFuture<>();
    private final Thread thread;
    /** The thread's interrupt status right after the call ended; written before {@code result} completes. */
    private volatile boolean interruptedAfterCall;

    private BlockedCall(String name, Callable<T> call) {
        thread = new Thread(() -> {
            T value = null;
            Throwable failure = null;
            try {
                value = call.call();
            } catch (Throwable t) {
                failure = t;
            }
            interruptedAfterCall = Thread.currentThread().isInterrupted();
            if (failure == null) {
                result.complete(value);
            } else {
                result.completeExceptionally(failure);
            }
        }, "test-blocked-" + name);
        thread.setDaemon(true);
    }

    /** Starts {@code call} on a new thread. */
    public static <T> BlockedCall<T> start(String name, Callable<T> call) {
        BlockedCall<T> c = new BlockedCall<>(name, call);
        c.thread.start();
        return c;
    }

    /**
     * Runs a call that should throw without blocking, on its own thread, and gives what it threw. Bounded: a
     * bug that makes the call block (or return) fails the test instead of hanging the suite.
     *
     * @param name names the thread
     * @param call the call that should throw
     * @return what it threw
     */
    public static Throwable thrownBy(String name, Callable<?> call) {
        return start(name, call).failure();
    }

    /**
     * Waits until the call is parked and asserts that it has not returned.
     *
     * @return this
     */
    public BlockedCall<T> awaitBlocked() {
        await("thread " + thread.getName() + " to block")
                .pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2)).atMost(BOUND)
                .until(() -> result.isDone() || isParked());
        assertThat(result).as("the call should still be blocked").isNotDone();
        return this;
    }

    private boolean isParked() {
        Thread.State s = thread.getState();
        return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
    }

    /** @return whether the call has ended */
    public boolean isDone() {
        return result.isDone();
    }

    /** @return the thread running the call */
    public Thread thread() {
        return thread;
    }

    /** @return whether the thread's interrupt status was set when the call ended; call after it ended */
    public boolean interruptedAfterCall() {
        assertThat(result).isDone();
        return interruptedAfterCall;
    }

    /** Waits (bounded) for the call to return and gives its value; fails the test if it threw. */
    public T get() {
        try {
            return result.get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("the call threw instead of returning", e.getCause());
        } catch (TimeoutException e) {
            return fail("the call did not return within " + BOUND);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }

    /** Waits (bounded) for the call to throw and gives what it threw; fails the test if it returned. */
    public Throwable failure() {
        try {
            T value = result.get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
            return fail("the call returned " + value + " instead of throwing");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            return fail("the call did not end within " + BOUND);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }
}
