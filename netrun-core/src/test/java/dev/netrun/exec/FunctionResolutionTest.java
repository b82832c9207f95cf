package dev.netrun.exec;

import dev.netrun.exec.fixtures.Tasks;
import dev.netrun.rpc.Channel;

import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.FutureTask;

import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC 4, behaviours 1 and 2: functions are found by key first, else by import path (a public static method,
 * overloads chosen by arity and argument types, or a JobFunction class); channels, kwargs, typed lambdas, and
 * functions that return futures.
 */
class FunctionResolutionTest extends ExecTestSupport {
    private static final String TASKS = "dev.netrun.exec.fixtures.Tasks.";

    // ---- by key

    @ForEachPoolKind
    void aFunctionSentToThePoolRunsOnEveryWorker(PoolKind kind) {
        Rig rig = rig(kind, 2);
        rig.sendToAll("add", JobFunction.of((Integer a, Integer b) -> a + b));

        assertThat(rig.run(0, Job.of("add").args(3, 4)).result()).isEqualTo(7);
        assertThat(rig.run(1, Job.of("add").args(5, 6)).result()).isEqualTo(11);
    }

    @ForEachPoolKind
    void aFunctionSentToOneWorkerIsUnknownOnAnother(PoolKind kind) {
        Rig rig = rig(kind, 2);
        WorkerRef w0 = rig.worker(0);
        rig.manager().sendFunction(w0.poolId(), w0.workerId(), "only-here", JobFunction.of(() -> "here"));

        assertThat(rig.run(0, Job.of("only-here")).result()).isEqualTo("here");
        JobFailedException e = jobFailure(() -> rig.run(1, Job.of("only-here")));
        assertThat(e.remoteClassName()).isEqualTo(UnknownFunctionException.class.getName());
        assertThat(e.getMessage()).contains("only-here");
        assertThat(e.funcImportPathOrKey()).isEqualTo("only-here");
    }

    @ForEachPoolKind
    void aKeyTakesPrecedenceOverAnImportPathOfTheSameName(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll(TASKS + "add", JobFunction.of((Integer a, Integer b) -> "by key"));

        assertThat(rig.run(0, Job.of(TASKS + "add").args(1, 2)).result()).isEqualTo("by key");
    }

    @ForEachPoolKind
    void sendingAKeyAgainReplacesItsFunction(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("f", JobFunction.of(() -> "first"));
        assertThat(rig.run(0, Job.of("f")).result()).isEqualTo("first");

        rig.sendToAll("f", JobFunction.of(() -> "second"));
        assertThat(rig.run(0, Job.of("f")).result()).isEqualTo("second");
    }

    // ---- by import path: public static methods

    @ForEachPoolKind
    void aPublicStaticMethodRunsByImportPath(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobResult r = rig.run(0, Job.of(TASKS + "add").args(2, 3));

        assertThat(r.result()).isEqualTo(5);
        assertThat(r.funcImportPathOrKey()).isEqualTo(TASKS + "add");
    }

    @ForEachPoolKind
    void overloadsAreChosenByArityAndArgumentTypes(PoolKind kind) {
        Rig rig = rig(kind, 1);
        String kindOf = TASKS + "kind";

        assertThat(rig.run(0, Job.of(kindOf).args(3)).result()).isEqualTo("int");
        assertThat(rig.run(0, Job.of(kindOf).args(2.5)).result()).isEqualTo("double");
        assertThat(rig.run(0, Job.of(kindOf).args("s")).result()).isEqualTo("String");
        assertThat(rig.run(0, Job.of(kindOf).args(7L)).result()).as("long widens to double only")
                .isEqualTo("double");
        assertThat(rig.run(0, Job.of(kindOf).args(1, 2)).result()).isEqualTo("int,int");
        assertThat(rig.run(0, Job.of(kindOf).args((Object) null)).result())
                .as("null fits only the reference overload").isEqualTo("String");
    }

    @ForEachPoolKind
    void boxedValuesFitPrimitiveAndBoxedParameters(PoolKind kind) {
        Rig rig = rig(kind, 1);

        assertThat(rig.run(0, Job.of(TASKS + "add").args(Integer.valueOf(40), (short) 2)).result()).isEqualTo(42);
        assertThat(rig.run(0, Job.of(TASKS + "boxed").args(5)).result()).isEqualTo("Integer 5");
        assertThat(rig.run(0, Job.of(TASKS + "boxed").args((Object) null)).result()).isEqualTo("Integer null");
    }

    @ForEachPoolKind
    void nullIsPassedToAnObjectParameter(PoolKind kind) {
        Rig rig = rig(kind, 1);

        assertThat(rig.run(0, Job.of(TASKS + "describe").args((Object) null)).result()).isEqualTo("null");
        assertThat(rig.run(0, Job.of(TASKS + "describe").args(List.of())).result()).isNotEqualTo("null");
    }

    @ForEachPoolKind
    void nullCannotBePassedToAPrimitiveParameter(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "add").args(1, null)));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("'b'", "int");
    }

    @ForEachPoolKind
    void anAmbiguousOverloadFailsNamingTheCandidates(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "ambiguous").args(1, 1)));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("ambiguous", "Integer a", "Integer b");
    }

    @ForEachPoolKind
    void aVoidMethodGivesANullResult(PoolKind kind) {
        Rig rig = rig(kind, 1);

        assertThat(rig.run(0, Job.of(TASKS + "nothing")).result()).isNull();
    }

    @ForEachPoolKind
    void aStaticMethodThatDoesNotFitTheArgumentCountFailsNamingIt(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "add").args(1, 2, 3)));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("add", "2 argument(s)", "got 3");
    }

    // ---- by import path: JobFunction classes

    @ForEachPoolKind
    void aJobFunctionClassRunsByName(PoolKind kind) {
        Rig rig = rig(kind, 1);
        String echo = "dev.netrun.exec.fixtures.EchoJob";

        assertThat(rig.run(0, Job.of(echo).args(1, "x")).result()).isEqualTo(List.of(1, "x", "none"));
        assertThat(rig.run(0, Job.of(echo).args(2).kwargs(Map.of("suffix", "!"))).result())
                .isEqualTo(List.of(2, "!"));
    }

    @ForEachPoolKind
    void aNestedJobFunctionClassRunsByItsCanonicalName(PoolKind kind) {
        Rig rig = rig(kind, 1);

        assertThat(rig.run(0, Job.of(TASKS + "Doubler").args(21)).result()).isEqualTo(42);
    }

    @ForEachPoolKind
    void aJobFunctionClassWithoutAPublicNoArgConstructorCannotRunByName(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("dev.netrun.exec.fixtures.NoDefaultConstructorJob")));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("NoDefaultConstructorJob", "public no-arg constructor");
    }

    @ForEachPoolKind
    void aClassThatIsNotAJobFunctionCannotRunByName(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(Tasks.class.getName())));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains(Tasks.class.getName(), JobFunction.class.getName());
    }

    // ---- unknown names

    @ForEachPoolKind
    void anUnknownKeyFailsTheJobNamingIt(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("no-such-key")));

        assertThat(e.remoteClassName()).isEqualTo(UnknownFunctionException.class.getName());
        assertThat(e.remoteMessage()).contains("'no-such-key'");
        assertThat(e.getMessage()).contains("no-such-key");
        if (kind.sharesHeap()) {
            assertThat(e.getCause()).isInstanceOf(UnknownFunctionException.class);
        } else {
            assertThat(e.getCause()).as("the original exception stays in the worker's process").isNull();
        }
    }

    @ForEachPoolKind
    void anUnknownImportPathFailsTheJobNamingIt(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("com.example.nowhere.Missing.run")));

        assertThat(e.remoteClassName()).isEqualTo(UnknownFunctionException.class.getName());
        assertThat(e.remoteMessage()).contains("com.example.nowhere.Missing.run");
    }

    @ForEachPoolKind
    void anUnknownMethodOfAKnownClassFailsTheJobNamingIt(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "noSuchMethod")));

        assertThat(e.remoteClassName()).isIn(UnknownFunctionException.class.getName(),
                ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("noSuchMethod");
    }

    // ---- the worker channel

    @ForEachPoolKind
    void withSendChannelAStaticMethodReceivesTheWorkerChannelFirst(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobResult r = rig.run(0, Job.of(TASKS + "channelState").args("t").sendChannel(true));

        assertThat(r.result()).isEqualTo("t:open");
    }

    @ForEachPoolKind
    void withSendChannelAJobFunctionClassGetsTheChannelFromItsArgs(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobResult r = rig.run(0, Job.of("dev.netrun.exec.fixtures.ChannelJob").sendChannel(true));

        assertThat(r.result()).isEqualTo("open");
    }

    @ForEachPoolKind
    void withSendChannelALambdaGetsAnOpenChannelFromItsArgs(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("channel", args -> args.channel());

        JobResult r = rig.run(0, Job.of("channel").sendChannel(true));

        if (kind.sharesHeap()) {
            assertThat(r.result()).isInstanceOf(Channel.class);
            assertThat(((Channel) r.result()).isClosed()).isFalse();
        } else {
            // a channel cannot be serialized: it comes back as its string, flagged
            assertThat(r.convertedToStr()).isTrue();
            assertThat((String) r.result()).contains("StreamChannel");
        }
    }

    @ForEachPoolKind
    void withoutSendChannelAskingForTheChannelFailsTheJob(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("dev.netrun.exec.fixtures.ChannelJob")));

        assertThat(e.remoteClassName()).isEqualTo(IllegalStateException.class.getName());
        assertThat(e.remoteMessage()).contains("sendChannel(true)");
    }

    @ForEachPoolKind
    void withSendChannelAStaticMethodWithoutAChannelParameterDoesNotFit(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "boxed").args(1).sendChannel(true)));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("Channel");
    }

    // ---- kwargs

    @ForEachPoolKind
    void kwargsBindToParameterNamesInAnyOrder(PoolKind kind) {
        Rig rig = rig(kind, 1);
        LinkedHashMap<String, Object> kwargs = new LinkedHashMap<>();
        kwargs.put("factor", 7);
        kwargs.put("value", 6);

        assertThat(rig.run(0, Job.of(TASKS + "scale").kwargs(kwargs)).result()).isEqualTo(42);
        assertThat(rig.run(0, Job.of(TASKS + "scale").args(5).kwargs(Map.of("factor", 3))).result()).isEqualTo(15);
    }

    @ForEachPoolKind
    void aMissingKwargFailsTheJobNamingTheParameter(PoolKind kind) {
        Rig rig = rig(kind, 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "scale").kwargs(Map.of("value", 6))));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("missing", "'factor'");
    }

    @ForEachPoolKind
    void anUnknownKwargFailsTheJobNamingIt(PoolKind kind) {
        Rig rig = rig(kind, 1);
        Map<String, Object> kwargs = Map.of("value", 6, "factor", 7, "extra", 1);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "scale").kwargs(kwargs)));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("extra");
    }

    @ForEachPoolKind
    void aKwargThatRepeatsAPositionalArgumentFailsTheJobNamingIt(PoolKind kind) {
        Rig rig = rig(kind, 1);
        Map<String, Object> kwargs = Map.of("value", 1, "factor", 7);

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of(TASKS + "scale").args(6).kwargs(kwargs)));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("'value'");
    }

    @ForEachPoolKind
    void aJobFunctionReadsKwargsByNameWithADefault(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("scale", args -> args.<Integer>get(0) * args.named("factor", 2));

        assertThat(rig.run(0, Job.of("scale").args(10)).result()).isEqualTo(20);
        assertThat(rig.run(0, Job.of("scale").args(10).kwargs(Map.of("factor", 5))).result()).isEqualTo(50);
    }

    // ---- typed lambdas

    @ForEachPoolKind
    void typedLambdasOfZeroToFourParametersRun(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("f0", JobFunction.of(() -> "zero"));
        rig.sendToAll("f1", JobFunction.of((String a) -> a + "!"));
        rig.sendToAll("f2", JobFunction.of((String a, Integer b) -> a.repeat(b)));
        rig.sendToAll("f3", JobFunction.of((Integer a, Integer b, Integer c) -> a * b * c));
        rig.sendToAll("f4", JobFunction.of((Integer a, Integer b, Integer c, Double d) -> a + b + c + d));

        assertThat(rig.run(0, Job.of("f0")).result()).isEqualTo("zero");
        assertThat(rig.run(0, Job.of("f1").args("one")).result()).isEqualTo("one!");
        assertThat(rig.run(0, Job.of("f2").args("ab", 2)).result()).isEqualTo("abab");
        assertThat(rig.run(0, Job.of("f3").args(2, 3, 4)).result()).isEqualTo(24);
        assertThat(rig.run(0, Job.of("f4").args(1, 2, 3, 0.5)).result()).isEqualTo(6.5);
    }

    @ForEachPoolKind
    void aTypedLambdaGivenTheWrongNumberOfArgumentsFailsNamingTheExpectedTypes(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("add", JobFunction.of((Integer a, Integer b) -> a + b));

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("add").args(1)));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("2 argument(s)", "Integer", "got 1");
        assertThat(e.getMessage()).contains("'add'");
    }

    @ForEachPoolKind
    void aTypedLambdaGivenAnArgumentOfTheWrongTypeFailsNamingTheExpectedType(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("half", JobFunction.of((Double d) -> d / 2));

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("half").args("four")));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("must be Double", "java.lang.String", "four");
        JobFailedException boxedInt = jobFailure(() -> rig.run(0, Job.of("half").args(4)));
        assertThat(boxedInt.remoteMessage()).as("an Integer is not a Double").contains("must be Double", "Integer");
    }

    @ForEachPoolKind
    void aMethodReferenceIsTypeCheckedLikeALambda(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("add", JobFunction.of(Tasks::add));
        rig.sendToAll("length", JobFunction.of(String::length));

        assertThat(rig.run(0, Job.of("add").args(20, 22)).result()).isEqualTo(42);
        assertThat(rig.run(0, Job.of("length").args("four")).result()).isEqualTo(4);
        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("add").args(1, "two")));
        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("must be Integer", "java.lang.String");
        JobFailedException notAString = jobFailure(() -> rig.run(0, Job.of("length").args(4)));
        assertThat(notAString.remoteMessage()).contains("must be String", "java.lang.Integer");
    }

    @ForEachPoolKind
    void aTypedLambdaRejectsKwargs(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("one", JobFunction.of((Integer a) -> a));

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("one").kwargs(Map.of("a", 1))));

        assertThat(e.remoteClassName()).isEqualTo(ArgumentMismatchException.class.getName());
        assertThat(e.remoteMessage()).contains("keyword");
    }

    @ForEachPoolKind
    void aTypedLambdaAcceptsNull(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("isNull", JobFunction.of((String s) -> s == null));

        assertThat(rig.run(0, Job.of("isNull").args((Object) null)).result()).isEqualTo(true);
    }

    @ForEachPoolKind
    void aTypedLambdaMayThrowACheckedException(PoolKind kind) {
        Rig rig = rig(kind, 1);
        IOException thrown = new IOException("disk on fire");
        rig.sendToAll("io", JobFunction.of(() -> {
            throw thrown;
        }));

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("io")));

        assertThat(e.remoteClassName()).isEqualTo(IOException.class.getName());
        if (kind.sharesHeap()) {
            assertThat(e.getCause()).isSameAs(thrown);
        }
    }

    // ---- functions returning futures (the seed's async functions)

    @ForEachPoolKind
    void aFunctionReturningAFutureCompletedLaterByAnotherThreadGivesItsValue(PoolKind kind) throws Exception {
        assumeTrue(kind.sharesHeap(), "the future is completed by a thread of this JVM");
        Rig rig = rig(kind, 1);
        Gate returned = gate("function returned its future");
        CompletableFuture<String> later = new CompletableFuture<>();
        rig.sendToAll("async", JobFunction.of(() -> {
            returned.open();
            return later;
        }));

        CompletableFuture<JobResult> job = rig.runAsync(0, Job.of("async"));
        returned.awaitOpen();
        assertThat(job).as("the job waits for the function's future").isNotDone();
        Instant beforeCompletion = Instant.now();
        Thread completer = new Thread(() -> later.complete("late value"), "test-completer");
        completer.start();

        JobResult r = await(job);
        assertThat(r.result()).isEqualTo("late value");
        assertThat(r.timestampUtcCompleted()).as("completed when the future completed, not when the function returned")
                .isAfterOrEqualTo(beforeCompletion);
        completer.join(WAIT.toMillis());
    }

    @ForEachPoolKind
    void aFunctionReturningAFailedFutureFailsTheJobWithItsCause(PoolKind kind) {
        Rig rig = rig(kind, 1);
        IllegalStateException cause = new IllegalStateException("async boom");
        rig.sendToAll("failed", JobFunction.of(() -> CompletableFuture.failedFuture(cause)));

        JobFailedException e = jobFailure(() -> rig.run(0, Job.of("failed")));

        assertThat(e.remoteClassName()).isEqualTo(IllegalStateException.class.getName());
        assertThat(e.remoteMessage()).isEqualTo("async boom");
        if (kind.sharesHeap()) {
            assertThat(e.getCause()).isSameAs(cause);
        }
    }

    @ForEachPoolKind
    void aFunctionReturningAPlainFutureOrACompletionStageGivesItsValue(PoolKind kind) {
        Rig rig = rig(kind, 1);
        rig.sendToAll("futureTask", JobFunction.of(() -> {
            FutureTask<String> task = new FutureTask<>(() -> "from a FutureTask");
            new Thread(task, "test-future-task").start();
            return task;
        }));
        rig.sendToAll("stage", JobFunction.of(() ->
                CompletableFuture.supplyAsync(() -> "from a stage").minimalCompletionStage()));

        assertThat(rig.run(0, Job.of("futureTask")).result()).isEqualTo("from a FutureTask");
        assertThat(rig.run(0, Job.of("stage")).result()).isEqualTo("from a stage");
    }
}
