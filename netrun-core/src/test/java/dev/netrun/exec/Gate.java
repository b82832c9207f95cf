package dev.netrun.exec;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A one-shot latch with bounded waits, for coordinating a test with its jobs: a job passes the gate once the
 * test opens it, a test waits until a job opened a gate. Waiting longer than {@link #WAIT} throws, so a bug
 * fails the test (or the job) instead of hanging the suite.
 */
public final class Gate {
    /** How long anything expected to happen may take before the test gives up. */
    public static final Duration WAIT = Duration.ofSeconds(10);

    private final String name;
    private final CountDownLatch latch = new CountDownLatch(1);

    public Gate(String name) {
        this.name = name;
    }

    /** Opens the gate; idempotent. */
    public void open() {
        latch.countDown();
    }

    public boolean isOpen() {
        return latch.getCount() == 0;
    }

    /**
     * Waits until the gate is open.
     *
     * @throws TimeoutException if it is not opened within {@link #WAIT}
     */
    public void awaitOpen() throws InterruptedException, TimeoutException {
        if (!latch.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new TimeoutException("gate '" + name + "' was not opened within " + WAIT);
        }
    }

    @Override
    public String toString() {
        return "Gate[" + name + (isOpen() ? ", open]" : "]");
    }
}
