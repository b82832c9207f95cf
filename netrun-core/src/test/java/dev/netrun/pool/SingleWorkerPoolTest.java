package dev.netrun.pool;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pool contract on a {@link SingleWorkerPool} (the "main" pool), plus what is particular to it. */
class SingleWorkerPoolTest extends PoolContract {

    @Override
    protected Pool createPool(WorkerFunction fn) {
        return new SingleWorkerPool(fn);
    }

    @Override
    protected int expectedNumWorkers() {
        return 1;
    }

    @Test
    void aNullFunctionIsRejected() {
        assertThatThrownBy(() -> new SingleWorkerPool(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void itsOneWorkerHasIdZeroAndRunsOnADaemonThreadNamedMain() {
        pool.start();
        pool.send(0, "whoami", null);
        assertThat(pool.recv(WAIT)).isEqualTo(new WorkerMessage(0, "id", 0));

        Thread t = worker.threads.get(0);
        assertThat(t.getName()).isEqualTo("netrun-main-0");
        assertThat(t.isDaemon()).isTrue();
    }

    @Test
    void resultsAreTheVerySameObjectsTheWorkerSent() {
        pool.start();
        Object payload = new Object();
        pool.send(0, "echo", payload);
        assertThat(pool.recv(WAIT).data()).isSameAs(payload);
    }
}
