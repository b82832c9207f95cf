package dev.netrun.pool;

import dev.netrun.rpc.ChannelBrokenException;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.Handshake;
import dev.netrun.rpc.HandshakeException;
import dev.netrun.rpc.Message;
import dev.netrun.rpc.RpcException;
import dev.netrun.rpc.StreamChannel;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.lang.reflect.Modifier;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * A pool whose workers run in child JVMs: {@code numProcesses} processes of {@code threadsPerProcess}
 * worker threads each. Worker ids are flat: {@code processIdx * threadsPerProcess + threadIdx}.
 *
 * <pre>{@code
 * try (MultiprocessPool pool = MultiprocessPool.builder(new EchoWorker()).numProcesses(2).build()) {
 *     pool.start();                        // returns when both children are connected and ready
 *     pool.send(1, "ping", "x");
 *     WorkerMessage m = pool.recv(Duration.ofSeconds(5));
 * }
 * }</pre>
 *
 * <p><b>The worker function</b> must be buildable in the child: either {@link Serializable} (it is sent
 * serialized, with its state) or a public class with a public no-arg constructor (the child builds it).
 * Messages and their data cross the process boundary through a compact binary codec that falls back to
 * JDK serialization: data must be {@code Serializable}; a value that is not makes {@code send} throw a
 * {@link CodecException} naming its class, and nothing is sent. A message from a worker whose data this JVM
 * cannot decode (a class it does not have, say) is still delivered, with the {@code CodecException} that
 * says why as its data, and the pool goes on.
 *
 * <p><b>Children</b> use this JVM's {@code java} binary and class path unless configured, and connect back
 * over a Unix domain socket in a private temporary directory; each proves itself with a per-pool secret
 * (a stranger is refused). The socket is removed once every child is connected. {@link #start()} starts the
 * children in parallel and returns when all are ready; a child that cannot start makes it fail with a
 * {@link PoolException} that includes what the child printed, and leaves no process behind.
 *
 * <p><b>Output.</b> Each child's standard output and error (what non-job threads print, and whatever the
 * JVM itself writes) is read line by line into {@link OutputEntry}s, handed to the {@code onOutput}
 * callback every {@code outputFlushInterval}, and kept for {@link #flushStdout}/{@link #flushAllStdout}.
 * Output written just before {@code close()} is still delivered. With {@code redirectOutput(false)} it goes
 * to this JVM's console instead; with {@code bufferOutput(false)} it is not kept (the callback still gets it).
 *
 * <p><b>Crashes.</b> A child that dies (exits, {@code System.exit}, is killed) is reported for each of its
 * workers as a {@link WorkerCrashedException} with its exit code. {@code close()} asks every child to leave
 * and kills those that do not in time. A child whose parent dies (even by {@code kill -9}) halts by itself.
 *
 * <p>Thread-safe; see {@link Pool} for the lifecycle and failure contract.
 */
public final class MultiprocessPool extends AbstractPool implements ProcessOutput {
    /** The logger, looked up on first use: finding the logging backend costs a child JVM ~20 ms at start. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(MultiprocessPool.class.getName());
    }
    /**
     * {@code -Djava.nio.channels.spi.SelectorProvider=} this JVM's provider, when it is the JDK's own (in
     * {@code java.base}, so a child of the same {@code java} binary has it too), for children with this JVM's
     * class path (so they would find the same one): it spares each child the service-loader search for a
     * provider when it opens its first socket, about 8 ms of its start-up here.
     */
    private static final class SelectorProviderOption {
        static final String VALUE = value();

        private static String value() {
            Class<?> c = SelectorProvider.provider().getClass();
            return c.getModule() == Object.class.getModule()
                    ? "-Djava.nio.channels.spi.SelectorProvider=" + c.getName() : null;
        }
    }

    /** This JVM's console, for children's output with {@code redirectOutput(false)}; never closed. */
    private static final OutputStream CONSOLE_OUT = new FileOutputStream(FileDescriptor.out);
    private static final OutputStream CONSOLE_ERR = new FileOutputStream(FileDescriptor.err);
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private final Builder config;
    private final Object functionSpec; // byte[] of the serialized function, or its class name
    private final Codec codec;
    /** The current run; replaced at each start, read without lock. */
    private volatile Run run;

    /**
     * A pool of {@code numProcesses} children with {@code threadsPerProcess} worker threads each, and default
     * options.
     *
     * @throws IllegalArgumentException if a size is below 1, or the function cannot be built in a child
     * @throws NullPointerException     if {@code fn} is {@code null}
     */
    public MultiprocessPool(WorkerFunction fn, int numProcesses, int threadsPerProcess) {
        this(builder(fn).numProcesses(numProcesses).threadsPerProcess(threadsPerProcess));
    }

    private MultiprocessPool(Builder b) {
        super("MultiprocessPool(" + b.numProcesses + "x" + b.threadsPerProcess + ")", checkSizes(b));
        this.config = b.copy();
        this.codec = ProcessProtocol.codec(b.loader());
        this.functionSpec = functionSpec(b.fn, codec);
    }

    /**
     * A builder of pools running {@code fn}.
     *
     * @throws NullPointerException if {@code fn} is {@code null}
     */
    public static Builder builder(WorkerFunction fn) {
        return new Builder(fn);
    }

    private static int checkSizes(Builder b) {
        if (b.numProcesses < 1) {
            throw new IllegalArgumentException("numProcesses must be >= 1, was " + b.numProcesses);
        }
        if (b.threadsPerProcess < 1) {
            throw new IllegalArgumentException("threadsPerProcess must be >= 1, was " + b.threadsPerProcess);
        }
        long numWorkers = (long) b.numProcesses * b.threadsPerProcess;
        if (numWorkers > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("numProcesses * threadsPerProcess must be <= " + Integer.MAX_VALUE
                    + ", was " + b.numProcesses + " * " + b.threadsPerProcess + " = " + numWorkers);
        }
        return (int) numWorkers;
    }

    private static Object functionSpec(WorkerFunction fn, Codec codec) {
        if (fn instanceof Serializable) {
            try {
                return codec.encode(fn);
            } catch (CodecException e) {
                throw new IllegalArgumentException("Worker function " + fn.getClass().getName()
                        + " cannot be sent to a child process: " + e.getMessage(), e);
            }
        }
        Class<?> c = fn.getClass();
        try {
            if (Modifier.isPublic(c.getModifiers()) && !c.isAnonymousClass() && !c.isSynthetic()
                    && (c.getEnclosingClass() == null || Modifier.isStatic(c.getModifiers()))
                    && Modifier.isPublic(c.getConstructor().getModifiers())) {
                return c.getName();
            }
        } catch (NoSuchMethodException e) {
            // fall through
        }
        throw new IllegalArgumentException("Worker function " + c.getName() + " cannot be built in a child process:"
                + " make it Serializable, or a public top-level (or static nested) class with a public no-arg constructor");
    }

    /** @return the number of child processes */
    @Override
    public int numProcesses() {
        return config.numProcesses;
    }

    /** @return the number of worker threads in each child */
    public int threadsPerProcess() {
        return config.threadsPerProcess;
    }

    /**
     * Returns the operating-system process id of one child.
     *
     * @throws IllegalArgumentException if {@code processIdx} is out of range
     * @throws PoolNotStartedException  if the pool is not running
     */
    public long pid(int processIdx) {
        return requireRun().process(processIdx).pid();
    }

    @Override
    public List<OutputEntry> flushStdout(int processIdx, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        Run r = requireRun();
        r.process(processIdx);
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        return r.flush(processIdx, deadline, timeout);
    }

    @Override
    public Map<Integer, List<OutputEntry>> flushAllStdout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        Run r = requireRun();
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        Map<Integer, List<OutputEntry>> out = new LinkedHashMap<>();
        for (int i = 0; i < config.numProcesses; i++) {
            out.put(i, r.flush(i, deadline, timeout));
        }
        return Collections.unmodifiableMap(out);
    }

    private Run requireRun() {
        Run r = run;
        if (r == null || !isRunning()) {
            throw new PoolNotStartedException(description() + " is not started");
        }
        return r;
    }

    @Override
    protected void doStart(Delivery delivery) {
        ClassDataArchives.Plan plan = config.classDataSharing
                ? config.archives.plan(config.javaExecutable == null, config.classPath(), config.jvmOptions)
                : ClassDataArchives.Plan.NONE;
        if (plan != ClassDataArchives.Plan.NONE) {
            // A child may refuse the archive options (an agent set in its environment, an archive the JVM
            // cannot map...): then this start is done again without them, and nothing of the failed attempt
            // reaches the pool's receivers.
            HeldDelivery held = new HeldDelivery(delivery);
            Run r = new Run(held, plan);
            try {
                r.start();
                held.release();
                run = r;
                return;
            } catch (RuntimeException | Error e) {
                boolean childFailed = r.childExitedBeforeReady; // before close() kills the others
                r.discarded = true;
                r.close(Duration.ZERO);
                if (!childFailed) {
                    throw e;
                }
                plan.giveUp();
                Log.LOG.log(System.Logger.Level.DEBUG, description() + ": a child did not start with a class-data"
                        + " archive; starting again without one: " + e.getMessage());
            }
        }
        Run r = new Run(delivery, ClassDataArchives.Plan.NONE);
        try {
            r.start();
        } catch (RuntimeException | Error e) {
            r.close(Duration.ZERO);
            throw e;
        }
        run = r;
    }

    /**
     * Holds what an attempt to start delivers until the attempt has succeeded ({@link #release}), then passes
     * it on in order, and everything after it directly; a failed attempt's deliveries are never passed on.
     */
    private static final class HeldDelivery implements Delivery {
        private final Delivery target;
        private final List<Object[]> held = new ArrayList<>();
        private volatile boolean released;

        HeldDelivery(Delivery target) {
            this.target = target;
        }

        @Override
        public void message(int workerId, String key, Object data) {
            if (released || !hold(new Object[]{workerId, key, data})) {
                target.message(workerId, key, data);
            }
        }

        @Override
        public void failure(PoolException failure) {
            if (released || !hold(new Object[]{failure})) {
                target.failure(failure);
            }
        }

        /** @return whether the delivery was held; {@code false} once released: pass it on directly */
        private synchronized boolean hold(Object[] delivery) {
            return !released && held.add(delivery);
        }

        synchronized void release() {
            for (Object[] d : held) {
                if (d.length == 1) {
                    target.failure((PoolException) d[0]);
                } else {
                    target.message((Integer) d[0], (String) d[1], d[2]);
                }
            }
            held.clear();
            released = true;
        }
    }

    @Override
    protected void doSend(int workerId, String key, Object data) {
        Run r = run;
        StreamChannel ch = r.workers[workerId];
        try {
            ch.send(key, data);
        } catch (CodecException e) {
            throw e;
        } catch (RpcException e) {
            throw new WorkerCrashedException(workerId, Map.of(WorkerCrashedException.REASON,
                    "worker " + workerId + " of " + description() + " is not reachable: " + e.getMessage()), e);
        }
    }

    @Override
    protected void doClose(Duration timeout) {
        Run r = run;
        if (r != null) {
            r.close(timeout);
        }
    }

    /** One start-to-close run: the children, their connections and their output. */
    private final class Run {
        final Delivery delivery;
        final Process[] processes = new Process[config.numProcesses];
        final OutputCollector[] outputs = new OutputCollector[config.numProcesses];
        final StreamChannel[] controls = new StreamChannel[config.numProcesses];
        final StreamChannel[] workers = new StreamChannel[numWorkers()];
        final AtomicBoolean[] reported = new AtomicBoolean[numWorkers()];
        final List<StreamChannel> accepted = Collections.synchronizedList(new ArrayList<>());
        /** Counts each worker connection's HELLO and each child's READY: zero when every worker is reachable. */
        final java.util.concurrent.atomic.AtomicInteger readyCount =
                new java.util.concurrent.atomic.AtomicInteger(config.numProcesses * (config.threadsPerProcess + 1));
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        final CompletableFuture<Void> startFailure = new CompletableFuture<>();
        final byte[] secret = Handshake.newSecret();
        final ClassDataArchives.Plan archivePlan;
        /** Set when a child exited before the pool was ready: the start failed because a child could not start. */
        volatile boolean childExitedBeforeReady;
        /** Set on a failed attempt that is done again: what its children printed is not delivered. */
        volatile boolean discarded;
        Path dir;
        ServerSocketChannel server;
        Thread acceptor;
        ScheduledThreadPoolExecutor outputTimer;
        volatile boolean closing;

        Run(Delivery delivery, ClassDataArchives.Plan archivePlan) {
            this.delivery = delivery;
            this.archivePlan = archivePlan;
            for (int i = 0; i < reported.length; i++) {
                reported[i] = new AtomicBoolean();
            }
        }

        Process process(int processIdx) {
            if (processIdx < 0 || processIdx >= processes.length) {
                throw new IllegalArgumentException("Process index " + processIdx + " is out of range for "
                        + description() + ": valid indices are 0 to " + (processes.length - 1));
            }
            return processes[processIdx];
        }

        void start() {
            try {
                dir = Files.createTempDirectory("netrun-");
                Path socket = dir.resolve("pool.sock");
                server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                server.bind(UnixDomainSocketAddress.of(socket));
                acceptor = new Thread(this::acceptLoop, "netrun-process-acceptor");
                acceptor.setDaemon(true);
                acceptor.start();
                String secretHex = HexFormat.of().formatHex(secret) + "\n";
                for (int i = 0; i < processes.length; i++) {
                    processes[i] = launch(socket, i);
                    outputs[i] = new OutputCollector(description() + "-" + i, i, processes[i], config.redirectOutput,
                            config.bufferOutput, config.onOutput != null, StandardCharsets.UTF_8, CONSOLE_OUT, CONSOLE_ERR);
                    OutputStream stdin = processes[i].getOutputStream();
                    try {
                        stdin.write(secretHex.getBytes(StandardCharsets.US_ASCII));
                        stdin.flush(); // stdin stays open: its end tells the child that this JVM is gone
                    } catch (IOException e) {
                        // The child is already gone (a bad JVM option, say): its exit fails the start below, with
                        // what it printed.
                    }
                    int idx = i;
                    processes[i].onExit().thenRun(() -> processExited(idx));
                }
            } catch (IOException e) {
                throw new PoolException("Cannot start " + description() + ": " + e.getMessage(), e);
            }
            awaitReady();
            closeServer();
            if (config.onOutput != null) {
                outputTimer = new ScheduledThreadPoolExecutor(1, r -> {
                    Thread t = new Thread(r, "netrun-output-timer");
                    t.setDaemon(true);
                    return t;
                });
                long nanos = config.outputFlushInterval.toNanos();
                outputTimer.scheduleWithFixedDelay(this::deliverOutput, nanos, nanos, TimeUnit.NANOSECONDS);
            }
        }

        private Process launch(Path socket, int processIdx) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(config.javaExecutable());
            cmd.add("-Dstdout.encoding=UTF-8");
            cmd.add("-Dstderr.encoding=UTF-8");
            cmd.add("-Dsun.stdout.encoding=UTF-8");
            cmd.add("-Dsun.stderr.encoding=UTF-8");
            if (config.javaExecutable == null && config.classPath == null && SelectorProviderOption.VALUE != null) {
                cmd.add(SelectorProviderOption.VALUE); // before the user's options: theirs win
            }
            cmd.addAll(config.jvmOptions);
            cmd.addAll(archivePlan.options(processIdx));
            cmd.add("-cp");
            cmd.add(config.classPath());
            cmd.add(ChildMain.class.getName());
            cmd.add(socket.toString());
            cmd.add(Integer.toString(processIdx));
            cmd.add(Integer.toString(config.threadsPerProcess));
            return new ProcessBuilder(cmd).start();
        }

        private void countReady() {
            if (readyCount.decrementAndGet() == 0) {
                ready.complete(null);
            }
        }

        private void awaitReady() {
            try {
                CompletableFuture.anyOf(ready, startFailure).get(config.startTimeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw new PoolException("Cannot start " + description() + ": the children were not ready within "
                        + config.startTimeout.toMillis() + " ms" + printed());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PoolException("Interrupted while starting " + description());
            } catch (ExecutionException e) {
                throw e.getCause() instanceof PoolException pe ? pe
                        : new PoolException("Cannot start " + description() + ": " + e.getCause(), e.getCause());
            }
        }

        /** What the children printed, for start-up errors. */
        private String printed() {
            StringBuilder sb = new StringBuilder();
            for (OutputCollector o : outputs) {
                if (o != null) {
                    try {
                        o.awaitEnd(200);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    String t = o.tail();
                    if (!t.isEmpty()) {
                        sb.append("\n--- process ").append(o.processIdx()).append(" printed:\n").append(t);
                    }
                }
            }
            return sb.toString();
        }

        private void acceptLoop() {
            while (true) {
                SocketChannel s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return; // closed: every child is connected, or the pool is closing
                }
                // Each handshake on a thread of its own: a connection that sends nothing must not hold up the
                // children's connections behind it for the handshake timeout.
                Thread t = new Thread(() -> handshake(s), "netrun-process-handshake");
                t.setDaemon(true);
                t.start();
            }
        }

        private void handshake(SocketChannel s) {
            try {
                Handshake.accept(s, secret, HANDSHAKE_TIMEOUT);
            } catch (HandshakeException e) {
                Log.LOG.log(System.Logger.Level.WARNING, "{0} refused a connection: {1}", description(), e.getMessage());
                return;
            }
            Connection c = new Connection();
            StreamChannel ch = StreamChannel.builder(s, codec).name(description()).listener(c).open();
            synchronized (accepted) {
                accepted.add(ch);
                if (closing) {
                    ch.close(); // close() has closed those accepted before this one
                }
            }
            c.channel.complete(ch);
        }

        /** Routes one connection's traffic once its HELLO says whose it is. */
        private final class Connection implements StreamChannel.Listener {
            final CompletableFuture<StreamChannel> channel = new CompletableFuture<>();
            int processIdx = -1;
            int role = Integer.MIN_VALUE;

            @Override
            public void onMessage(Message m) {
                if (role == Integer.MIN_VALUE) {
                    hello(m);
                    return;
                }
                if (role == ProcessProtocol.CONTROL) {
                    control(m);
                } else if (ProcessProtocol.WORKER_ENDED.equals(m.key())) {
                    workerEnded((Object[]) m.data());
                } else {
                    delivery.message(processIdx * config.threadsPerProcess + role, m.key(), m.data());
                }
            }

            private void hello(Message m) {
                if (!ProcessProtocol.HELLO.equals(m.key()) || !(m.data() instanceof Object[] id) || id.length != 2
                        || !(id[0] instanceof Integer p) || !(id[1] instanceof Integer r)
                        || p < 0 || p >= processes.length || r < ProcessProtocol.CONTROL || r >= config.threadsPerProcess) {
                    Log.LOG.log(System.Logger.Level.WARNING, "{0}: a connection did not say hello properly", description());
                    channel.join().close();
                    return;
                }
                processIdx = p;
                role = r;
                StreamChannel ch = channel.join();
                if (role == ProcessProtocol.CONTROL) {
                    controls[processIdx] = ch;
                    ch.send(ProcessProtocol.INIT, new Object[]{functionSpec, config.threadsPerProcess});
                } else {
                    workers[processIdx * config.threadsPerProcess + role] = ch;
                    countReady();
                }
            }

            private void control(Message m) {
                switch (m.key()) {
                    case ProcessProtocol.READY:
                        countReady();
                        break;
                    case ProcessProtocol.START_FAILED:
                        startFailure.completeExceptionally(new PoolException("Child process " + processIdx + " of "
                                + description() + " could not start: " + m.data() + printed()));
                        break;
                    case ProcessProtocol.WORKER_ENDED:
                        workerEnded((Object[]) m.data());
                        break;
                    default:
                        Log.LOG.log(System.Logger.Level.WARNING, "{0}: unknown control message {1}", description(), m.key());
                }
            }

            private void workerEnded(Object[] report) {
                int workerId = processIdx * config.threadsPerProcess + (Integer) report[0];
                if (closing || !reported[workerId].compareAndSet(false, true)) {
                    return;
                }
                // Close before reporting: once recv has handed out the failure, a send to this worker must throw
                // WorkerCrashedException instead of vanishing into a connection nobody reads.
                StreamChannel ch = workers[workerId];
                if (ch != null) {
                    ch.close();
                }
                delivery.failure(report[1] == null
                        ? new WorkerCrashedException(workerId, "worker function returned while " + description()
                                + " was running")
                        : new WorkerException(workerId, (String) report[1], (String) report[2], (String) report[3], null));
            }

            @Override
            public void onUndecodable(String key, CodecException failure) {
                if (role >= 0) {
                    delivery.message(processIdx * config.threadsPerProcess + role, key, failure);
                } else {
                    Log.LOG.log(System.Logger.Level.WARNING, description() + ": undecodable control message " + key, failure);
                }
            }

            @Override
            public void onEnd(RpcException reason) {
                if (closing || processIdx < 0) {
                    return;
                }
                if (reason instanceof ChannelBrokenException || role == ProcessProtocol.CONTROL) {
                    // The child vanished: its exit (with the exit code) reports the crash. Give it a moment to be
                    // seen, and make sure it really is gone.
                    Process p = processes[processIdx];
                    try {
                        p.onExit().get(2, TimeUnit.SECONDS);
                    } catch (TimeoutException e) {
                        p.destroyForcibly();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (ExecutionException e) {
                        // cannot happen: onExit never fails
                    }
                    processExited(processIdx);
                }
            }
        }

        /** Reports every worker of a child that ended while the pool was running (once each). */
        void processExited(int processIdx) {
            Process p = processes[processIdx];
            Integer code = p.isAlive() ? null : p.exitValue();
            if (!ready.isDone()) {
                childExitedBeforeReady = true;
                startFailure.completeExceptionally(new PoolException("Child process " + processIdx + " of "
                        + description() + " exited" + (code == null ? "" : " with code " + code)
                        + " before it was ready" + printed()));
            }
            if (closing) {
                return;
            }
            for (int t = 0; t < config.threadsPerProcess; t++) {
                int workerId = processIdx * config.threadsPerProcess + t;
                if (reported[workerId].compareAndSet(false, true)) {
                    Map<String, Object> details = new LinkedHashMap<>();
                    details.put(WorkerCrashedException.REASON, "process " + processIdx + " (pid " + p.pid() + ") of "
                            + description() + (code == null ? " lost its connection" : " exited"));
                    if (code != null) {
                        details.put(WorkerCrashedException.EXIT_CODE, code);
                    }
                    details.put("processIdx", processIdx);
                    delivery.failure(new WorkerCrashedException(workerId, details, null));
                }
            }
        }

        List<OutputEntry> flush(int processIdx, long deadline, Duration timeout) {
            StreamChannel control = controls[processIdx];
            OutputCollector out = outputs[processIdx];
            String token = UUID.randomUUID().toString();
            CompletableFuture<Void> done = out.expectFlush(token);
            if (processes[processIdx].isAlive()) {
                try {
                    control.send(ProcessProtocol.FLUSH, token);
                } catch (RpcException e) {
                    done.complete(null); // the child is gone: what its readers got is all there is
                }
            }
            try {
                done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw new WorkerTimeoutException("Process " + processIdx + " of " + description()
                        + " did not flush its output within " + timeout.toMillis() + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WorkerTimeoutException("Interrupted while flushing process " + processIdx);
            } catch (ExecutionException e) {
                // not completed exceptionally
            }
            return out.takeKept();
        }

        private void deliverOutput() {
            for (OutputCollector o : outputs) {
                List<OutputEntry> entries = o.takeUndelivered();
                if (!entries.isEmpty()) {
                    try {
                        config.onOutput.accept(o.processIdx(), Collections.unmodifiableList(entries));
                    } catch (RuntimeException e) {
                        Log.LOG.log(System.Logger.Level.WARNING, description() + ": onOutput callback threw", e);
                    }
                }
            }
        }

        private void closeServer() {
            try {
                if (server != null) {
                    server.close();
                }
            } catch (IOException e) {
                Log.LOG.log(System.Logger.Level.DEBUG, "closing the socket failed", e);
            }
            if (acceptor != null) {
                try {
                    acceptor.join(1_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            try {
                if (dir != null) {
                    Files.deleteIfExists(dir.resolve("pool.sock"));
                    Files.deleteIfExists(dir);
                }
            } catch (IOException e) {
                Log.LOG.log(System.Logger.Level.DEBUG, "removing " + dir + " failed", e);
            }
        }

        /** Ends every child: asks first, then forces; delivers their last output; frees every resource. */
        void close(Duration timeout) {
            closing = true;
            closeServer();
            synchronized (accepted) {
                for (StreamChannel c : accepted) {
                    c.close();
                }
            }
            long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
            boolean interrupted = false;
            for (Process p : processes) {
                if (p == null) {
                    continue;
                }
                try {
                    if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                        p.destroyForcibly();
                        p.waitFor(5, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                    p.destroyForcibly();
                }
            }
            Process trainer = processes[0];
            archivePlan.finish(trainer == null || trainer.isAlive() ? null : trainer.exitValue());
            for (OutputCollector o : outputs) {
                if (o != null) {
                    try {
                        o.awaitEnd(2_000);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (outputTimer != null) {
                outputTimer.shutdownNow();
                try {
                    outputTimer.awaitTermination(2, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (config.onOutput != null && !discarded) {
                deliverOutput(); // the final flush: what was written just before close
            }
            synchronized (accepted) {
                for (StreamChannel c : accepted) {
                    try {
                        c.awaitTermination(Duration.ofSeconds(2));
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Configures a {@link MultiprocessPool}. Not thread-safe; {@link #build()} validates and copies it.
     */
    public static final class Builder {
        private final WorkerFunction fn;
        private int numProcesses = 1;
        private int threadsPerProcess = 1;
        private boolean redirectOutput = true;
        private boolean bufferOutput = true;
        private Duration outputFlushInterval = Duration.ofMillis(100);
        private BiConsumer<Integer, List<OutputEntry>> onOutput;
        private List<String> jvmOptions = new ArrayList<>();
        private String javaExecutable;
        private String classPath;
        private Duration startTimeout = Duration.ofSeconds(60);
        private boolean classDataSharing = true;
        ClassDataArchives archives = ClassDataArchives.SHARED;

        private Builder(WorkerFunction fn) {
            this.fn = Objects.requireNonNull(fn, "fn");
        }

        /** Number of child JVMs (default 1). */
        public Builder numProcesses(int numProcesses) {
            this.numProcesses = numProcesses;
            return this;
        }

        /** Worker threads per child (default 1). */
        public Builder threadsPerProcess(int threadsPerProcess) {
            this.threadsPerProcess = threadsPerProcess;
            return this;
        }

        /** Capture the children's output (default {@code true}); {@code false} leaves it on this JVM's console. */
        public Builder redirectOutput(boolean redirectOutput) {
            this.redirectOutput = redirectOutput;
            return this;
        }

        /** Keep captured output for {@code flushStdout} (default {@code true}); {@code false} does not keep it. */
        public Builder bufferOutput(boolean bufferOutput) {
            this.bufferOutput = bufferOutput;
            return this;
        }

        /** How often captured output is handed to {@code onOutput} (default 100 ms). */
        public Builder outputFlushInterval(Duration outputFlushInterval) {
            Objects.requireNonNull(outputFlushInterval, "outputFlushInterval");
            if (outputFlushInterval.isNegative() || outputFlushInterval.isZero()) {
                throw new IllegalArgumentException("outputFlushInterval must be positive, was " + outputFlushInterval);
            }
            this.outputFlushInterval = outputFlushInterval;
            return this;
        }

        /**
         * Called every flush interval with {@code (processIdx, entries)} while there is new output, and once
         * more on close; on one netrun thread, never concurrently.
         */
        public Builder onOutput(BiConsumer<Integer, List<OutputEntry>> onOutput) {
            this.onOutput = onOutput;
            return this;
        }

        /** Extra options for the child JVMs, e.g. {@code "-Xmx256m"}. */
        public Builder jvmOptions(List<String> jvmOptions) {
            this.jvmOptions = new ArrayList<>(Objects.requireNonNull(jvmOptions, "jvmOptions"));
            this.jvmOptions.forEach(o -> Objects.requireNonNull(o, "jvm option"));
            return this;
        }

        /** The {@code java} binary of the children (default: this JVM's). */
        public Builder javaExecutable(String javaExecutable) {
            this.javaExecutable = javaExecutable;
            return this;
        }

        /** The class path of the children (default: this JVM's {@code java.class.path}). */
        public Builder classPath(String classPath) {
            this.classPath = classPath;
            return this;
        }

        /** How long {@code start()} waits for the children to be ready (default 60 s). */
        public Builder startTimeout(Duration startTimeout) {
            Objects.requireNonNull(startTimeout, "startTimeout");
            if (startTimeout.isNegative() || startTimeout.isZero()) {
                throw new IllegalArgumentException("startTimeout must be positive, was " + startTimeout);
            }
            this.startTimeout = startTimeout;
            return this;
        }

        /**
         * Start the children with a class-data-sharing archive of the classes they load (default {@code true}).
         * The second pool of this JVM with a given class path and JVM options records the archive as its child
         * 0 leaves, which adds a few hundred milliseconds to that pool's close; later pools' children start
         * faster (about a quarter less time from {@code start()} to the first result). The archives live in a
         * temporary directory that is deleted when this JVM exits. They apply only when the children run this
         * JVM's {@code java} binary with a class path of jar files, and neither the JVM
         * options nor the launcher's environment variables ({@code JAVA_TOOL_OPTIONS}, {@code JDK_JAVA_OPTIONS},
         * {@code _JAVA_OPTIONS}) choose a class-sharing setting of their own, add an agent, patch modules,
         * replace the system class loader or change compressed pointers. Should a child still not start with an
         * archive's options, the pool starts again without them (nothing of the failed attempt is delivered)
         * and archives end for those settings. The system property {@code netrun.classDataSharing=false} turns
         * them off for every pool.
         */
        public Builder classDataSharing(boolean classDataSharing) {
            this.classDataSharing = classDataSharing;
            return this;
        }

        /**
         * @return a new, unstarted pool
         * @throws IllegalArgumentException if a size is below 1 or the function cannot be built in a child
         */
        public MultiprocessPool build() {
            return new MultiprocessPool(this);
        }

        Builder copy() {
            Builder b = new Builder(fn);
            b.numProcesses = numProcesses;
            b.threadsPerProcess = threadsPerProcess;
            b.redirectOutput = redirectOutput;
            b.bufferOutput = bufferOutput;
            b.outputFlushInterval = outputFlushInterval;
            b.onOutput = onOutput;
            b.jvmOptions = List.copyOf(jvmOptions);
            b.javaExecutable = javaExecutable;
            b.classPath = classPath;
            b.startTimeout = startTimeout;
            b.classDataSharing = classDataSharing;
            b.archives = archives;
            return b;
        }

        String javaExecutable() {
            return javaExecutable != null ? javaExecutable
                    : Path.of(System.getProperty("java.home"), "bin", "java").toString();
        }

        String classPath() {
            return classPath != null ? classPath : System.getProperty("java.class.path");
        }

        ClassLoader loader() {
            ClassLoader l = Thread.currentThread().getContextClassLoader();
            return l != null ? l : MultiprocessPool.class.getClassLoader();
        }
    }
}
