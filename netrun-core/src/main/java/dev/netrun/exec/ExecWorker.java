package dev.netrun.exec;

import dev.netrun.exec.Protocol.FunctionRequest;
import dev.netrun.exec.Protocol.Prints;
import dev.netrun.exec.Protocol.RunReply;
import dev.netrun.exec.Protocol.RunRequest;
import dev.netrun.exec.Protocol.Started;
import dev.netrun.pool.WorkerException;
import dev.netrun.pool.WorkerFunction;
import dev.netrun.rpc.Channel;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.Message;

import java.io.Serializable;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;

/**
 * The worker side of the {@link ExecutionManager}: one instance per worker, run by the pool on that worker's
 * thread. It serves {@link Protocol} requests one at a time until its channel closes. A job that throws fails
 * that job only; the loop goes on.
 *
 * <p>Functions sent by key and import paths resolved once are kept in maps confined to the worker thread.
 * Public only so that a child JVM or a remote server can build it (by class name) or rebuild it (a record
 * travels compactly); not part of the API.
 */
public record ExecWorker(long printFlushIntervalNanos, boolean capturePrints, boolean encoded)
        implements WorkerFunction, Serializable {
    /** The logger, looked up on first use: finding the logging backend costs a child JVM ~20 ms at start. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(ExecWorker.class.getName());
    }

    /** How long a job in another process runs before its start is reported on its own. */
    static final Duration STARTED_NOTICE_DELAY = Duration.ofMillis(2);

    /**
     * The worker of a pool in another process or machine, with the default print settings (stream every
     * {@link PoolConfig#DEFAULT_PRINT_FLUSH_INTERVAL}, capture on). Lets a host build it by class name, as the
     * remote server does for the worker it registers by default.
     */
    public ExecWorker() {
        this(PoolConfig.DEFAULT_PRINT_FLUSH_INTERVAL, true, true);
    }

    /**
     * @param printFlushInterval how often a running job's prints are streamed, when it has an onPrint callback
     * @param capturePrints      whether jobs' System.out is captured
     * @param encoded            whether the worker runs in another process: arguments, functions and results
     *                           then travel encoded by {@link ExecutionManager#codec(ClassLoader)}
     */
    ExecWorker(Duration printFlushInterval, boolean capturePrints, boolean encoded) {
        this(printFlushInterval.toNanos(), capturePrints, encoded);
    }

    @Override
    public void run(Channel channel, int workerId) {
        Map<String, Invocation.Target> functions = new HashMap<>();
        Map<String, Invocation.Target> resolved = new HashMap<>();
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = ExecWorker.class.getClassLoader();
        }
        Codec codec = encoded ? ExecutionManager.codec(loader) : null;
        StartNotices notices = encoded ? new StartNotices(channel) : null;
        PrintCapture.acquire();
        try {
            while (true) {
                Message m = channel.recv(); // ChannelClosedException ends the worker when the pool closes
                switch (m.key()) {
                    case Protocol.RUN:
                        runJob(channel, RunRequest.of(m.data()), functions, resolved, loader, codec, notices);
                        break;
                    case Protocol.FUNCTION:
                        FunctionRequest f = FunctionRequest.of(m.data());
                        String error = null;
                        try {
                            JobFunction fn = f.encodedFunction() != null
                                    ? (JobFunction) codec.decode(f.encodedFunction()) : f.function();
                            functions.put(f.key(), Invocation.of(fn));
                        } catch (RuntimeException e) {
                            error = e.toString();
                        }
                        channel.send(Protocol.FUNCTION_OK,
                                Protocol.wire(new Protocol.FunctionReply(f.callId(), error), encoded));
                        break;
                    default:
                        Log.LOG.log(System.Logger.Level.WARNING, "worker {0} ignored a message with unknown key {1}",
                                workerId, m.key());
                }
            }
        } finally {
            PrintCapture.release();
        }
    }

    private void runJob(Channel channel, RunRequest req, Map<String, Invocation.Target> functions,
                        Map<String, Invocation.Target> resolved, ClassLoader loader, Codec codec,
                        StartNotices notices) {
        Instant started = Instant.now();
        Started notice = new Started(req.callId(), started);
        // In-JVM the notice is a method call; across processes it is a write, so it is sent only if the job
        // is still running after STARTED_NOTICE_DELAY: short jobs report their start with their result.
        if (notices == null) {
            channel.send(Protocol.STARTED, Protocol.wire(notice, encoded));
        } else {
            notices.begin(notice);
        }
        JobPrints prints = capturePrints ? new JobPrints() : null;
        Streamer streamer = prints != null && req.streamPrints() ? new Streamer(channel, req.callId(), prints) : null;
        Object result = null;
        Throwable failure = null;
        try {
            Invocation.Target target = functions.get(req.func());
            if (target == null) {
                target = resolved.get(req.func());
                if (target == null) {
                    target = Invocation.resolve(req.func(), loader);
                    if (target == null) {
                        throw new UnknownFunctionException(req.func());
                    }
                    resolved.put(req.func(), target);
                }
            }
            Object[] positional = req.args();
            Map<String, Object> kwargs = req.kwargs();
            if (req.encodedArgs() != null) {
                Object[] both = (Object[]) codec.decode(req.encodedArgs());
                positional = (Object[]) both[0];
                @SuppressWarnings("unchecked")
                Map<String, Object> kw = (Map<String, Object>) both[1];
                kwargs = kw;
            }
            CallArgs args = new CallArgs(positional, kwargs, req.sendChannel() ? channel : null);
            if (prints != null) {
                PrintCapture.begin(prints);
            }
            try {
                result = awaitIfFuture(target.invoke(args));
            } finally {
                if (prints != null) {
                    PrintCapture.end();
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
        Instant completed = Instant.now();
        if (notices != null) {
            notices.end();
        }
        List<PrintEntry> tail = streamer != null ? streamer.finish() : prints != null ? prints.finish() : List.of();
        RunReply reply;
        if (failure != null) {
            reply = new RunReply(req.callId(), started, completed, false, null, null, tail,
                    failure.getClass().getName(), failure.getMessage(), WorkerException.stackTraceOf(failure),
                    codec == null ? failure : null);
        } else if (codec == null) {
            reply = new RunReply(req.callId(), started, completed, false, result, null, tail, null, null, null, null);
        } else {
            boolean converted = false;
            byte[] bytes;
            try {
                bytes = codec.encode(result);
            } catch (CodecException e) {
                converted = true; // the seed's rule: a result that cannot travel comes back as its string
                bytes = codec.encode(Invocation.safeToString(result));
            }
            reply = new RunReply(req.callId(), started, completed, converted, null, bytes, tail, null, null, null, null);
        }
        channel.send(Protocol.DONE, Protocol.wire(reply, encoded));
    }

    private static Object awaitIfFuture(Object value) throws Exception {
        Future<?> f = value instanceof CompletionStage<?> cs ? cs.toCompletableFuture()
                : value instanceof Future<?> fu ? fu : null;
        if (f == null) {
            return value;
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            if (c instanceof Exception ex) {
                throw ex;
            }
            throw (Error) c;
        }
    }

    /**
     * Reports the start of a job that is still running {@link #STARTED_NOTICE_DELAY} after it began, for a
     * worker in another process. One check, on the flusher thread, stays armed while jobs keep running and
     * re-arms itself; so a stream of short jobs costs a volatile write each, not a timer entry (scheduling one
     * per job woke the flusher thread for every job and halved pipelined throughput).
     *
     * <p>Arming is a compare-and-set on {@code armed}: a job start arms the check unless it is armed; the check
     * disarms, then looks at {@code current} again and re-arms if a job started meanwhile, so no running job
     * is ever left without a check.
     */
    private static final class StartNotices implements Runnable {
        private final Channel channel;
        private final java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        /** The job running now, or null; written by the worker thread, read by the check. */
        private volatile Started current;
        private volatile long currentSince;
        /** The notice already sent, so each job's start is reported once. */
        private Started reported; // flusher thread only

        StartNotices(Channel channel) {
            this.channel = channel;
        }

        void begin(Started job) {
            currentSince = System.nanoTime();
            current = job;
            if (armed.compareAndSet(false, true)) {
                arm();
            }
        }

        void end() {
            current = null;
        }

        private void arm() {
            if (PrintCapture.after(STARTED_NOTICE_DELAY, this) == null) {
                armed.set(false); // no flusher (capture released): nothing can report late starts
            }
        }

        @Override
        public void run() {
            Started job = current;
            if (job != null && job != reported && System.nanoTime() - currentSince >= STARTED_NOTICE_DELAY.toNanos()) {
                reported = job;
                try {
                    channel.send(Protocol.STARTED, Protocol.wire(job, true)); // only across processes
                } catch (RuntimeException e) {
                    return; // the channel ended; the worker loop sees it
                }
            }
            armed.set(false);
            if (current != null && armed.compareAndSet(false, true)) {
                arm();
            }
        }
    }

    /**
     * Sends a job's new lines every flush interval from the flusher thread. {@link #finish()} stops it and
     * returns the lines not yet sent; the lock orders every chunk before the job's result.
     */
    private final class Streamer implements Runnable {
        private final Channel channel;
        private final long callId;
        private final JobPrints prints;
        private final ScheduledFuture<?> schedule;
        private boolean finished; // guarded by this

        Streamer(Channel channel, long callId, JobPrints prints) {
            this.channel = channel;
            this.callId = callId;
            this.prints = prints;
            this.schedule = PrintCapture.every(Duration.ofNanos(printFlushIntervalNanos), this);
        }

        @Override
        public synchronized void run() {
            if (finished) {
                return;
            }
            List<PrintEntry> chunk = prints.drain();
            if (!chunk.isEmpty()) {
                try {
                    channel.send(Protocol.PRINTS, Protocol.wire(new Prints(callId, chunk), encoded));
                } catch (RuntimeException e) {
                    finished = true; // the channel is gone; the worker loop will notice
                }
            }
        }

        synchronized List<PrintEntry> finish() {
            finished = true;
            if (schedule != null) {
                schedule.cancel(false);
            }
            return prints.finish();
        }
    }
}
