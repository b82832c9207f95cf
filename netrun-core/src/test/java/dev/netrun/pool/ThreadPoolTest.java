package dev.netrun.pool;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pool contract on a {@link ThreadPool} of three workers, plus what is particular to it. */
class ThreadPoolTest extends PoolContract {

    @Override
    protected Pool createPool(WorkerFunction fn) {
        return new ThreadPool(fn, 3);
    }

    @Override
    protected int expectedNumWorkers() {
        return 3;
    }

    @ParameterizedTest(name = "numWorkers = {0}")
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
    void fewerThanOneWorkerIsRejectedNamingTheSize(int numWorkers) {
        assertThatThrownBy(() -> new ThreadPool(worker, numWorkers))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(String.valueOf(numWorkers));
    }

    @Test
    void aNullFunctionIsRejected() {
        assertThatThrownBy(() -> new ThreadPool(null, 2)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aPoolOfOneWorkerWorks() {
        ThreadPool one = new ThreadPool(worker, 1);
        try {
            one.start();
            one.send(0, "whoami", null);
            assertThat(one.recv(WAIT)).isEqualTo(new WorkerMessage(0, "id", 0));
        } finally {
            one.close();
        }
    }

    @Test
    void workersAreDaemonThreadsNamedAfterTheirId() {
        pool.start();
        assertEveryWorkerAnswers();

        for (int i = 0; i < 3; i++) {
            Thread t = worker.threads.get(i);
            assertThat(t.getName()).isEqualTo("netrun-thread-" + i);
            assertThat(t.isDaemon()).isTrue();
        }
    }
}
