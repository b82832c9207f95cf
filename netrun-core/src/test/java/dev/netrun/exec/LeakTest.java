package dev.netrun.exec;

import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC 4, behaviour 11 (second half): opening and closing managers in a tight loop leaks no threads and
 * leaves {@code System.out} as it was.
 */
class LeakTest extends ExecTestSupport {

    private static List<String> netrunThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("netrun-")).sorted().toList();
    }

    @Test
    void aHundredStartRunCloseCyclesLeakNoThreads() {
        PrintStream out = System.out;
        List<String> before = netrunThreads();
        LinkedHashMap<String, PoolConfig> pools = new LinkedHashMap<>();
        pools.put("threads", PoolConfig.thread(2));
        pools.put("main", PoolConfig.main());
        JobFunction hello = JobFunction.of((Integer i) -> {
            System.out.println("cycle " + i);
            return i;
        });

        for (int i = 0; i < 100; i++) {
            try (ExecutionManager manager = new ExecutionManager(pools)) {
                manager.start();
                manager.sendFunctionToPool("threads", "hello", hello);
                assertThat(manager.run("threads", i % 2, Job.of("hello").args(i)).result()).isEqualTo(i);
                assertThat(manager.run("main", 0, Job.of("dev.netrun.exec.fixtures.Tasks.add").args(i, 1)).result())
                        .isEqualTo(i + 1);
            }
        }

        Awaitility.await("netrun threads back to " + before).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(netrunThreads()).isEqualTo(before));
        assertThat(System.out).isSameAs(out);
    }

    @Test
    void aManagerThatWasStartedAgainLeaksNoThreadsOfItsEarlierRuns() {
        List<String> before = netrunThreads();
        ExecutionManager manager = manager(Map.of("p", PoolConfig.thread(3)));

        for (int i = 0; i < 20; i++) {
            manager.start();
            assertThat(manager.run("p", i % 3, Job.of("dev.netrun.exec.fixtures.Tasks.add").args(i, i)).result())
                    .isEqualTo(2 * i);
            manager.close();
        }

        Awaitility.await("netrun threads back to " + before).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(netrunThreads()).isEqualTo(before));
    }
}
