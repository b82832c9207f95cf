package dev.netrun.exec;

import dev.netrun.exec.fixtures.Tasks;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SPEC 4, behaviour 5: what a job's thread prints to {@code System.out} is captured per job, one entry per
 * line, never mixed between jobs nor taken from other threads; it streams to {@code onPrint} while the job
 * runs; and {@code System.out} is the very same stream again once the last manager closes.
 */
class PrintCaptureTest extends ExecTestSupport {
    private static final Duration FAST_FLUSH = Duration.ofMillis(10);

    private static List<String> texts(List<PrintEntry> entries) {
        return entries.stream().map(PrintEntry::text).toList();
    }

    @ForEachPoolKind
    void eachPrintedLineIsOneEntryEndingInNewlineInOrder(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("lines", JobFunction.of((Integer n) -> {
            for (int i = 0; i < n; i++) {
                System.out.println("line " + i);
            }
            return n;
        }));

        JobResult r = rig.run(0, Job.of("lines").args(30));

        assertThat(texts(r.printBuffer()))
                .containsExactlyElementsOf(IntStream.range(0, 30).mapToObj(i -> "line " + i + "\n").toList());
        for (int i = 1; i < r.printBuffer().size(); i++) {
            assertThat(r.printBuffer().get(i).timestamp()).isAfterOrEqualTo(r.printBuffer().get(i - 1).timestamp());
        }
        assertThatThrownBy(() -> r.printBuffer().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @ForEachPoolKind
    void linesAreCutAtNewlinesWhateverThePrintCallsWere(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("mixed", JobFunction.of(() -> {
            System.out.print("a");
            System.out.print('b');
            System.out.println();
            System.out.println("two\nlines");
            System.out.printf("%d%n", 42);
            System.out.write('x');
            System.out.write("y\n".getBytes());
            System.out.print("no newline at the end");
            return null;
        }));

        JobResult r = rig.run(0, Job.of("mixed"));

        assertThat(texts(r.printBuffer()))
                .containsExactly("ab\n", "two\n", "lines\n", "42\n", "xy\n", "no newline at the end");
    }

    @ForEachPoolKind
    void aStaticMethodsPrintsAreCapturedToo(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobResult r = rig.run(0, Job.of(Tasks.class.getName() + ".greet").args("Ada"));

        assertThat(texts(r.printBuffer())).containsExactly("Hello Ada\n");
        assertThat(r.result()).isEqualTo("greeted Ada");
    }

    @ForEachPoolKind
    void linesOfConcurrentJobsOnTwoWorkersNeverMix(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "the jobs meet at a barrier in this JVM");
        Rig rig = rig(kind, 2);
        CyclicBarrier barrier = new CyclicBarrier(2);
        // Both jobs write half a line, meet, finish the line, meet: their writes truly interleave.
        rig.sendToAll("talk", JobFunction.of((String tag) -> {
            for (int i = 0; i < 25; i++) {
                System.out.print(tag + i + " begins,");
                barrier.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                System.out.println(" " + tag + i + " ends");
                barrier.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            }
            return tag;
        }));

        CompletableFuture<JobResult> a = rig.runAsync(0, Job.of("talk").args("A"));
        CompletableFuture<JobResult> b = rig.runAsync(1, Job.of("talk").args("B"));

        for (var entry : Map.of("A", await(a), "B", await(b)).entrySet()) {
            String tag = entry.getKey();
            assertThat(texts(entry.getValue().printBuffer())).containsExactlyElementsOf(IntStream.range(0, 25)
                    .mapToObj(i -> tag + i + " begins, " + tag + i + " ends\n").toList());
        }
    }

    @ForEachPoolKind
    void printsOfOtherThreadsWhileAJobRunsAreNotCapturedAndReachTheConsole(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate in this JVM");
        try (Console console = Console.install()) {
            Rig rig = rig(kind, 1);
            Gate printed = gate("job printed");
            Gate release = gate("release");
            rig.sendToAll("inside", JobFunction.of(() -> {
                System.out.println("inside the job");
                printed.open();
                release.awaitOpen();
                System.out.println("inside again");
                return null;
            }));

            CompletableFuture<JobResult> job = rig.runAsync(0, Job.of("inside"));
            printed.awaitOpen();
            System.out.println("from the test thread");
            Thread other = new Thread(() -> System.out.println("from another thread"), "test-printer");
            other.start();
            other.join(WAIT.toMillis());
            release.open();

            assertThat(texts(await(job).printBuffer())).containsExactly("inside the job\n", "inside again\n");
            assertThat(console.text()).contains("from the test thread\n", "from another thread\n")
                    .doesNotContain("inside");
        }
    }

    @ForEachPoolKind
    void withCapturePrintsOffThePrintBufferIsEmptyAndPrintsReachTheConsole(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "a child's console is its process output, tested with MultiprocessPool");
        try (Console console = Console.install()) {
            Rig rig = rig(kind, 1, c -> c.withCapturePrints(false));
            rig.sendToAll("say", JobFunction.of(() -> {
                System.out.println("said out loud");
                return "ok";
            }));

            JobResult r = rig.run(0, Job.of("say").onPrint(chunk -> {
                throw new AssertionError("no chunk expected, got " + chunk);
            }));

            assertThat(r.printBuffer()).isEmpty();
            assertThat(r.result()).isEqualTo("ok");
            assertThat(console.text()).contains("said out loud\n");
        }
    }

    @ForEachPoolKind
    void onPrintReceivesLinesWhileTheJobRuns(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate its onPrint callback opens");
        Rig rig = rig(kind, 1, c -> c.withPrintFlushInterval(FAST_FLUSH));
        Gate firstLineArrived = gate("first line arrived through onPrint");
        rig.sendToAll("chatty", JobFunction.of(() -> {
            System.out.println("first");
            // Only a chunk streamed while this function still runs can open the gate.
            firstLineArrived.awaitOpen();
            System.out.println("second");
            System.out.print("third");
            return "finished";
        }));
        List<List<PrintEntry>> chunks = new CopyOnWriteArrayList<>();

        JobResult r = rig.run(0, Job.of("chatty").onPrint(chunk -> {
            chunks.add(List.copyOf(chunk));
            if (chunk.stream().anyMatch(e -> e.text().equals("first\n"))) {
                firstLineArrived.open();
            }
        }));

        assertThat(r.result()).isEqualTo("finished");
        assertThat(texts(r.printBuffer())).containsExactly("first\n", "second\n", "third");
        assertThat(chunks).allSatisfy(chunk -> assertThat(chunk).isNotEmpty());
        assertThat(chunks.stream().flatMap(List::stream).toList())
                .as("the chunks, concatenated").isEqualTo(r.printBuffer());
    }

    @ForEachPoolKind
    void whatOnPrintPrintsIsNotCapturedIntoTheJob(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "the job waits on a gate its onPrint callback opens");
        try (Console console = Console.install()) {
            Rig rig = rig(kind, 1, c -> c.withPrintFlushInterval(FAST_FLUSH));
            Gate streamed = gate("a chunk was streamed");
            rig.sendToAll("job", JobFunction.of(() -> {
                System.out.println("from the job");
                streamed.awaitOpen();
                System.out.println("last words");
                return null;
            }));

            JobResult r = rig.run(0, Job.of("job").onPrint(chunk -> {
                chunk.forEach(e -> System.out.print("callback got " + e.text()));
                streamed.open();
            }));

            assertThat(texts(r.printBuffer())).containsExactly("from the job\n", "last words\n");
            assertThat(console.text()).contains("callback got from the job\n", "callback got last words\n");
        }
    }

    @ForEachPoolKind
    void anOnPrintCallbackThatThrowsDoesNotFailTheJob(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("say", JobFunction.of(() -> {
            System.out.println("something");
            return "done";
        }));

        JobResult r = rig.run(0, Job.of("say").onPrint(chunk -> {
            throw new IllegalStateException("callback failed on purpose");
        }));

        assertThat(r.result()).isEqualTo("done");
        assertThat(texts(r.printBuffer())).containsExactly("something\n");
    }

    @ForEachPoolKind
    void printsOfAThreadTheJobStartsAreNotTheJobs(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "the test reads this JVM's console");
        try (Console console = Console.install()) {
            Rig rig = rig(kind, 1);
            rig.sendToAll("spawn", JobFunction.of(() -> {
                System.out.println("from the job's thread");
                Thread helper = new Thread(() -> System.out.println("from a helper thread"), "test-helper");
                helper.start();
                helper.join(WAIT.toMillis());
                return null;
            }));

            JobResult r = rig.run(0, Job.of("spawn"));

            assertThat(texts(r.printBuffer())).containsExactly("from the job's thread\n");
            assertThat(console.text()).contains("from a helper thread\n");
        }
    }

    @ForEachPoolKind
    void aJobRunningAnotherJobKeepsItsOwnPrints(PoolKind kind) {
        assumeTrue(kind.sharesHeap(), "the outer job captures the manager, which lives in this JVM");
        Rig rig = rig(kind, 2);
        WorkerRef inner = rig.worker(1);
        rig.sendToAll("inner", JobFunction.of(() -> {
            System.out.println("inner line");
            return "inner result";
        }));
        ExecutionManager manager = rig.manager();
        rig.sendToAll("outer", JobFunction.of(() -> {
            System.out.println("outer before");
            JobResult nested = manager.run(inner.poolId(), inner.workerId(), Job.of("inner"));
            System.out.println("outer after");
            return nested;
        }));

        JobResult outer = rig.run(0, Job.of("outer"));

        JobResult nested = (JobResult) outer.result();
        assertThat(texts(outer.printBuffer())).containsExactly("outer before\n", "outer after\n");
        assertThat(texts(nested.printBuffer())).containsExactly("inner line\n");
        assertThat(nested.result()).isEqualTo("inner result");
    }

    @ForEachPoolKind
    void aJobThatThrowsStillReportsItsPrints(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("fail", JobFunction.of(() -> {
            System.out.println("step 1");
            System.out.println("step 2");
            throw new IllegalStateException("broke after two steps");
        }));
        List<PrintEntry> streamed = new CopyOnWriteArrayList<>();

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("fail").onPrint(streamed::addAll)));

        assertThat(texts(e.printBuffer())).containsExactly("step 1\n", "step 2\n");
        assertThat(streamed).isEqualTo(e.printBuffer());
        JobFailedException fromStatic = jobFailure(() -> rig.run(0,
                Job.of(Tasks.class.getName() + ".failWith").args("nope")));
        assertThat(texts(fromStatic.printBuffer())).containsExactly("about to fail\n");
    }

    @ForEachPoolKind
    void nonAsciiTextIsCapturedIntact(PoolKind kind) {
        Rig rig = rig(kind, 1);
        // Captured lines do not go through the console's charset: they survive even where it is ASCII.
        String text = "h\u00e9llo w\u00f6rld \u2713 \u4e16\u754c";
        rig.sendToAll("say", JobFunction.of((String s) -> {
            System.out.println(s);
            return null;
        }));

        assertThat(texts(rig.run(0, Job.of("say").args(text)).printBuffer())).containsExactly(text + "\n");
    }

    @Test
    void systemErrIsLeftAlone() {
        PrintStream err = System.err;
        started("p", PoolConfig.thread(1));

        assertThat(System.err).isSameAs(err);
    }

    @Test
    void systemOutIsTheVerySameStreamAgainAfterTheLastOfTwoManagersCloses() {
        try (Console console = Console.install()) {
            ExecutionManager first = started("t", PoolConfig.thread(1));
            ExecutionManager second = started("m", PoolConfig.main());
            assertThat(System.out).as("capturing while started").isNotSameAs(console.stream());

            first.close();
            assertThat(System.out).as("still capturing while one manager is started").isNotSameAs(console.stream());
            second.close();

            assertThat(System.out).isSameAs(console.stream());
        }
    }

    @Test
    void managersStartedAndClosedInOverlappingOrderKeepCapturing() {
        try (Console console = Console.install()) {
            JobFunction hello = JobFunction.of((String who) -> {
                System.out.println("hello from " + who);
                return who;
            });
            ExecutionManager a = started("a", PoolConfig.thread(1));
            a.sendFunctionToPool("a", "hello", hello);
            ExecutionManager b = started("b", PoolConfig.main());
            b.sendFunctionToPool("b", "hello", hello);

            assertThat(texts(a.run("a", 0, Job.of("hello").args("a")).printBuffer())).containsExactly("hello from a\n");
            a.close();
            assertThat(texts(b.run("b", 0, Job.of("hello").args("b")).printBuffer()))
                    .as("b captures after a, started first, closed").containsExactly("hello from b\n");

            ExecutionManager c = started("c", PoolConfig.thread(1));
            c.sendFunctionToPool("c", "hello", hello);
            b.close();
            assertThat(texts(c.run("c", 0, Job.of("hello").args("c")).printBuffer()))
                    .as("c captures after b closed").containsExactly("hello from c\n");
            a.start();
            a.sendFunctionToPool("a", "hello", hello);
            c.close();
            assertThat(texts(a.run("a", 0, Job.of("hello").args("a again")).printBuffer()))
                    .as("a, restarted, captures after c closed").containsExactly("hello from a again\n");
            a.close();

            assertThat(System.out).isSameAs(console.stream());
            assertThat(console.text()).doesNotContain("hello from");
        }
    }

    @Test
    void printsOfManyConcurrentJobsStayWithTheirJobs() {
        Rig rig = rig(PoolKind.THREAD, 4);
        rig.sendToAll("count", JobFunction.of((Integer id) -> {
            for (int i = 0; i < 20; i++) {
                System.out.println(id + ":" + i);
            }
            return id;
        }));
        List<CompletableFuture<JobResult>> jobs = new ArrayList<>();
        for (int id = 0; id < 200; id++) {
            jobs.add(rig.runAsync(id % 4, Job.of("count").args(id)));
        }

        for (int id = 0; id < jobs.size(); id++) {
            int job = id;
            assertThat(texts(await(jobs.get(id)).printBuffer()))
                    .containsExactlyElementsOf(IntStream.range(0, 20).mapToObj(i -> job + ":" + i + "\n").toList());
        }
    }
}
