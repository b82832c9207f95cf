package dev.netrun.remote;

import dev.netrun.pool.AbstractPool;
import dev.netrun.pool.OutputEntry;
import dev.netrun.pool.PoolAlreadyStartedException;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.PoolNotStartedException;
import dev.netrun.pool.ProcessOutput;
import dev.netrun.pool.WorkerCrashedException;
import dev.netrun.pool.WorkerException;
import dev.netrun.pool.WorkerFunction;
import dev.netrun.pool.WorkerTimeoutException;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.CompactCodec;
import dev.netrun.rpc.JavaSerializationCodec;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link dev.netrun.pool.Pool} whose workers run on a {@link RemotePoolServer}, in child JVMs of that server,
 * reached over gRPC. Worker ids, messages, failures and captured output behave as for a local
 * {@link dev.netrun.pool.MultiprocessPool}.
 *
 * <pre>{@code
 * try (RemotePoolClient pool = new RemotePoolClient("127.0.0.1:7070")) {
 *     pool.connect();                                  // fails fast if nobody answers
 *     pool.createPool("echo", 2, 1, true, true);       // 2 child JVMs on the server, 1 worker each
 *     pool.send(1, "ping", "x");
 *     WorkerMessage m = pool.recv(Duration.ofSeconds(5));
 *     List<OutputEntry> out = pool.flushStdout(0, Duration.ofSeconds(5));
 * }
 * }</pre>
 *
 * <p><b>Lifecycle.</b> {@link #connect()} opens the connection and checks that a netrun server answers (and
 * accepts the token); {@link #createPool} asks it for a pool and starts it: from then on the client is running
 * (see {@link dev.netrun.pool.Pool}). {@link #start()} does both with the pool given at construction, by default
 * the ExecutionManager's worker ({@value RemotePoolServer#EXEC_WORKER}) in 1 process of 1 thread: that is what
 * {@link RemotePoolConfig} uses. {@link #close()} closes the remote pool (the server ends its children) and the
 * connection; the client may be started again.
 *
 * <p><b>Failures.</b> No server at the address, a refused token or a TLS mismatch: {@code connect()} (and so
 * {@code createPool}/{@code start}) throws a {@link PoolException} naming the address within the connect
 * timeout. An unknown worker name: {@code createPool} throws a {@link PoolException} naming it. A worker that
 * throws or dies: {@code recv} reports {@link WorkerException}/{@link WorkerCrashedException} as for any pool.
 * The connection lost (the server killed, the network cut): every worker not already reported is reported as
 * a {@link WorkerCrashedException} whose reason says so, pending receivers wake with it, and sends throw it.
 *
 * <p><b>Data.</b> Message data is encoded by netrun's codec and must be {@code Serializable}; a value that
 * is not, or that exceeds the maximum message size, makes {@code send} throw a {@link CodecException} and
 * nothing is sent. The server decodes what it receives with an allow-list (JDK value types, {@code dev.netrun}
 * types and what its operator allowed); a message it refuses comes back from {@code recv} as a message of that
 * worker, with the same key, whose data is a {@link CodecException} saying why (the worker never saw it). This
 * client decodes what its server sends with any class of its own class loader, unless
 * {@link Options#withAllowedClasses} restricts it.
 *
 * <p>Thread-safe.
 */
public final class RemotePoolClient extends AbstractPool implements ProcessOutput {
    private static final System.Logger LOG = System.getLogger(RemotePoolClient.class.getName());
    /** How long a flush may take beyond its own timeout: the round trip to the server. */
    private static final Duration FLUSH_GRACE = Duration.ofSeconds(5);

    /** What to create on the server. */
    record Spec(String workerName, int numProcesses, int threadsPerProcess, boolean redirectOutput,
                boolean bufferOutput, WorkerFunction configured) {
        Spec {
            Objects.requireNonNull(workerName, "workerName");
            if (workerName.isBlank()) {
                throw new IllegalArgumentException("workerName is blank");
            }
            if (numProcesses < 1) {
                throw new IllegalArgumentException("numProcesses must be >= 1, was " + numProcesses);
            }
            if (threadsPerProcess < 1) {
                throw new IllegalArgumentException("threadsPerProcess must be >= 1, was " + threadsPerProcess);
            }
        }

        int numWorkers() {
            return Math.multiplyExact(numProcesses, threadsPerProcess);
        }
    }

    private final String address;
    private final String host;
    private final int port;
    private final Options options;
    private final Codec envelope;
    private final Codec valueCodec;

    /** Guards {@link #channel}, {@link #loop} and {@link #serverInfo}. */
    private final Object connection = new Object();
    private ManagedChannel channel;
    /** The connection's own event loop (one thread), on which its traffic is also delivered. */
    private EventLoopGroup loop;
    private ServerInfo serverInfo;
    /** Changed by createPool while stopped; read by start. */
    private volatile Spec spec;
    /** The current run's stream; replaced at each start. */
    private volatile Session session;

    /**
     * A client of the server at {@code address}, with default options.
     *
     * @param address {@code host:port}, e.g. {@code "127.0.0.1:7070"}
     * @throws IllegalArgumentException if the address is malformed
     */
    public RemotePoolClient(String address) {
        this(address, Options.defaults());
    }

    /**
     * @param address {@code host:port}, e.g. {@code "127.0.0.1:7070"}
     * @param options token, trusted certificate (TLS), timeouts, limits
     * @throws IllegalArgumentException if the address is malformed
     * @throws NullPointerException     if an argument is {@code null}
     */
    public RemotePoolClient(String address, Options options) {
        this(address, options, new Spec(RemotePoolServer.EXEC_WORKER, 1, 1, true, true, null));
    }

    RemotePoolClient(String address, Options options, Spec spec) {
        super("RemotePoolClient(" + address + ")", spec.numWorkers());
        Object[] hp = Wire.parseAddress(address);
        this.address = address;
        this.host = (String) hp[0];
        this.port = (Integer) hp[1];
        this.options = Objects.requireNonNull(options, "options");
        this.spec = spec;
        this.envelope = Wire.envelope(options.maxMessageSize);
        this.valueCodec = valueCodec(options);
    }

    /**
     * The codec of message data: trusting the server (any class of the caller's loader) unless the options
     * restrict it to an allow-list.
     */
    static Codec valueCodec(Options options) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = RemotePoolClient.class.getClassLoader();
        }
        JavaSerializationCodec.Limits limits = JavaSerializationCodec.Limits.DEFAULT.withMaxBytes(options.maxMessageSize);
        if (options.allowedClasses == null) {
            return new CompactCodec(JavaSerializationCodec.trusted(loader, limits));
        }
        List<String> patterns = new ArrayList<>();
        patterns.add(JavaSerializationCodec.JDK_VALUE_TYPES);
        patterns.add(Wire.NETRUN_TYPES);
        patterns.addAll(options.allowedClasses);
        return new CompactCodec(JavaSerializationCodec.allowList(loader, limits, patterns.toArray(new String[0])));
    }

    /** @return the server's address, as given */
    public String address() {
        return address;
    }

    /** @return the options of this client */
    public Options options() {
        return options;
    }

    /**
     * Connects to the server and checks that it is a netrun server that accepts this client (token, TLS).
     * Blocks at most the connect timeout. Harmless if already connected.
     *
     * @throws PoolException naming the address if nobody answers, the server refuses the client
     *                       (authentication), or it speaks another protocol
     */
    public void connect() {
        synchronized (connection) {
            if (channel != null && !channel.isShutdown()) {
                return;
            }
            EventLoopGroup l = new MultiThreadIoEventLoopGroup(1,
                    new DefaultThreadFactory("netrun-remote-client", true), NioIoHandler.newFactory());
            ManagedChannel ch;
            try {
                ch = buildChannel(l);
            } catch (RuntimeException e) {
                l.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                throw e;
            }
            try {
                serverInfo = ping(ch);
            } catch (RuntimeException e) {
                shutdown(ch, l);
                throw e;
            }
            channel = ch;
            loop = l;
        }
    }

    /** @return whether {@link #connect()} succeeded and the connection was not closed since */
    public boolean isConnected() {
        synchronized (connection) {
            return channel != null && !channel.isShutdown();
        }
    }

    /**
     * @return the worker names the server offers, as it said when this client connected
     * @throws IllegalStateException if the client is not connected
     */
    public List<String> serverWorkers() {
        synchronized (connection) {
            if (serverInfo == null) {
                throw new IllegalStateException(description() + " is not connected");
            }
            return serverInfo.workers;
        }
    }

    /**
     * Asks the server for a pool of {@code numProcesses} child JVMs with {@code threadsPerProcess} workers each,
     * running the worker registered as {@code workerName}, and starts it: returns once every worker is ready.
     * Connects first if needed.
     *
     * @param workerName        a name the server registered (see {@link RemotePoolServer#registerWorker})
     * @param numProcesses      child JVMs on the server, at least 1
     * @param threadsPerProcess workers in each, at least 1
     * @param redirectOutput    capture the children's output (else it goes to the server's console)
     * @param bufferOutput      keep captured output for {@link #flushStdout} (else it is dropped)
     * @throws IllegalArgumentException    if a size is below 1 or the name is blank
     * @throws PoolAlreadyStartedException if a pool is already running on this client
     * @throws PoolException               if the server cannot be reached, refuses the client, does not know the
     *                                     worker (the message names it) or cannot start the pool
     */
    public void createPool(String workerName, int numProcesses, int threadsPerProcess, boolean redirectOutput,
                           boolean bufferOutput) {
        Spec s = new Spec(workerName, numProcesses, threadsPerProcess, redirectOutput, bufferOutput, null);
        synchronized (this) {
            setNumWorkers(s.numWorkers()); // throws PoolAlreadyStartedException while running
            spec = s;
            start();
        }
    }

    /**
     * As {@link #createPool(String, int, int, boolean, boolean)} with output captured and kept.
     */
    public void createPool(String workerName, int numProcesses, int threadsPerProcess) {
        createPool(workerName, numProcesses, threadsPerProcess, true, true);
    }

    /** @return the worker name of the pool this client creates */
    public String workerName() {
        return spec.workerName();
    }

    @Override
    public int numProcesses() {
        return spec.numProcesses();
    }

    /** @return the number of workers in each child process */
    public int threadsPerProcess() {
        return spec.threadsPerProcess();
    }

    /**
     * {@inheritDoc}
     *
     * <p>The server asks its child process and waits at most {@code timeout}; this client waits that long plus
     * a round-trip allowance of 5 s. Entries keep stdout and stderr apart ({@link OutputEntry#isStdout()}).
     *
     * @throws PoolException if the connection to the server is lost meanwhile
     */
    @Override
    public List<OutputEntry> flushStdout(int processIdx, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        Session s = requireSession();
        checkProcessIdx(processIdx, s.spec);
        List<OutputEntry> out = s.flush(processIdx, timeout).get(processIdx);
        return out == null ? List.of() : out;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Waits as {@link #flushStdout} does.
     *
     * @throws PoolException if the connection to the server is lost meanwhile
     */
    @Override
    public Map<Integer, List<OutputEntry>> flushAllStdout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        return requireSession().flush(-1, timeout);
    }

    private void checkProcessIdx(int processIdx, Spec s) {
        if (processIdx < 0 || processIdx >= s.numProcesses()) {
            throw new IllegalArgumentException("Process index " + processIdx + " is out of range for "
                    + description() + ": valid indices are 0 to " + (s.numProcesses() - 1));
        }
    }

    private Session requireSession() {
        Session s = session;
        if (s == null || !isRunning()) {
            throw new PoolNotStartedException(description() + " is not started");
        }
        return s;
    }

    // ----------------------------------------------------------------------------------- AbstractPool

    @Override
    protected void doStart(Delivery delivery) {
        connect();
        ManagedChannel ch;
        int limit;
        Executor drainer;
        synchronized (connection) {
            ch = channel;
            limit = Math.min(options.maxMessageSize, serverInfo.maxMessageSize);
            drainer = loop.next(); // the connection's event loop: see Outbox
        }
        Spec s = spec;
        Session next = new Session(delivery, s, limit, drainer);
        try {
            next.open(ch);
            next.awaitCreated(options.createTimeout);
        } catch (RuntimeException | Error e) {
            next.cancel("creating the pool failed");
            disconnect();
            throw e;
        }
        session = next;
    }

    @Override
    protected void doSend(int workerId, String key, Object data) {
        session.send(workerId, key, data);
    }

    @Override
    protected void doClose(Duration timeout) {
        Session s = session;
        if (s != null) {
            s.close(timeout);
        }
    }

    /** Closes the connection, also one that {@link #connect()} opened without a pool ever being created. */
    @Override
    protected void doRelease() {
        disconnect();
    }

    // ----------------------------------------------------------------------------------- connection

    /**
     * Builds the channel on its own one-thread event loop, with a direct executor: what the server sends is
     * decoded and delivered on that thread, without a hop to gRPC's shared executor. Delivery is what a
     * {@link dev.netrun.pool.PoolListener} or {@code recv} sees, as with the reader threads of a local process pool;
     * the loop serves this connection only, so a slow listener delays nobody else.
     */
    private ManagedChannel buildChannel(EventLoopGroup l) {
        ChannelCredentials credentials;
        if (options.trustedCertificate == null) {
            credentials = InsecureChannelCredentials.create();
        } else {
            try {
                credentials = TlsChannelCredentials.newBuilder()
                        .trustManager(options.trustedCertificate.toFile()).build();
            } catch (IOException | RuntimeException e) {
                throw new PoolException("Cannot read the trusted certificate " + options.trustedCertificate + ": "
                        + e.getMessage(), e);
            }
        }
        NettyChannelBuilder b = NettyChannelBuilder.forAddress(new InetSocketAddress(host, port), credentials)
                .maxInboundMessageSize(options.maxMessageSize)
                .keepAliveTime(20, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .userAgent("netrun-remote")
                .eventLoopGroup(l)
                .channelType(NioSocketChannel.class)
                .directExecutor();
        if (options.token != null) {
            Metadata headers = new Metadata();
            headers.put(Wire.TOKEN, options.token);
            b.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        return b.build();
    }

    private ServerInfo ping(ManagedChannel ch) {
        byte[] reply;
        try {
            reply = ClientCalls.blockingUnaryCall(ch, Wire.PING,
                    CallOptions.DEFAULT.withDeadlineAfter(options.connectTimeout.toNanos(), TimeUnit.NANOSECONDS),
                    new byte[0]);
        } catch (StatusRuntimeException e) {
            throw failure(e.getStatus(), e);
        }
        try {
            Object[] info = (Object[]) envelope.decode(reply);
            int version = (Integer) info[0];
            if (version != Wire.PROTOCOL_VERSION) {
                throw new PoolException("The netrun server at " + address + " speaks protocol version " + version
                        + ", this client " + Wire.PROTOCOL_VERSION);
            }
            @SuppressWarnings("unchecked")
            List<String> workers = List.copyOf((List<String>) info[2]);
            return new ServerInfo((Integer) info[1], workers);
        } catch (CodecException | ClassCastException | ArrayIndexOutOfBoundsException e) {
            throw new PoolException("The server at " + address + " is not a netrun server: " + e.getMessage(), e);
        }
    }

    /** Maps a gRPC failure of connecting or creating to the one exception callers see. */
    private PoolException failure(Status status, Throwable cause) {
        String desc = describe(status);
        switch (status.getCode()) {
            case UNAUTHENTICATED:
                return new PoolException("Authentication failed at netrun server " + address + ": " + desc
                        + (options.token == null ? " (this client sent no token)" : ""), cause);
            case DEADLINE_EXCEEDED:
                return new PoolException("Cannot connect to netrun server at " + address + ": no answer within "
                        + options.connectTimeout.toMillis() + " ms", cause);
            case UNIMPLEMENTED:
                return new PoolException("The server at " + address + " is not a netrun server: " + desc, cause);
            case UNAVAILABLE: {
                String hint = options.trustedCertificate != null ? " (TLS is on: check the server certificate)"
                        : desc.contains("refused") || desc.contains("unresolved") ? ""
                        : " (if the server uses TLS, trust its certificate)";
                return new PoolException("Cannot connect to netrun server at " + address + ": " + desc + hint, cause);
            }
            default:
                return new PoolException("netrun server at " + address + " failed: " + status.getCode() + ": "
                        + desc, cause);
        }
    }

    /** @return the status's description and the message of its cause, whichever there are */
    private static String describe(Status status) {
        String d = status.getDescription();
        Throwable c = status.getCause();
        String cm = c == null ? null : c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
        if (d == null) {
            return cm != null ? cm : status.getCode().toString();
        }
        return cm == null || d.contains(cm) ? d : d + ": " + cm;
    }

    private void disconnect() {
        ManagedChannel ch;
        EventLoopGroup l;
        synchronized (connection) {
            ch = channel;
            l = loop;
            channel = null;
            loop = null;
            serverInfo = null;
        }
        if (ch != null) {
            shutdown(ch, l);
        }
    }

    private static void shutdown(ManagedChannel ch, EventLoopGroup l) {
        ch.shutdown();
        try {
            if (!ch.awaitTermination(2, TimeUnit.SECONDS)) {
                ch.shutdownNow();
                ch.awaitTermination(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            ch.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            l.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private record ServerInfo(int maxMessageSize, List<String> workers) {
    }

    // ----------------------------------------------------------------------------------- one stream

    /**
     * One start-to-close run: the {@code Pool} stream, its outbox, and the workers already reported dead.
     *
     * <p>gRPC calls {@link #onNext}, {@link #onError} and {@link #onCompleted} one at a time, on its executor;
     * {@link #send} and {@link #flush} run on callers' threads and only touch the outbox and concurrent maps.
     */
    private final class Session implements ClientResponseObserver<byte[], byte[]> {
        final Delivery delivery;
        final Spec spec;
        final int maxPayload;
        final AtomicBoolean[] reported;
        final CompletableFuture<Void> created = new CompletableFuture<>();
        final CompletableFuture<Void> ended = new CompletableFuture<>();
        final ConcurrentHashMap<Long, CompletableFuture<Map<Integer, List<OutputEntry>>>> flushes =
                new ConcurrentHashMap<>();
        final AtomicLong flushIds = new AtomicLong();
        ClientCallStreamObserver<byte[]> requests;
        Outbox outbox;
        volatile boolean closing;
        /** Messages processed since more were requested; gRPC thread only. */
        int consumed;
        /** Why the stream is gone, once it is (while the pool was running). */
        volatile String lost;

        final Executor drainer;

        Session(Delivery delivery, Spec spec, int maxMessageSize, Executor drainer) {
            this.delivery = delivery;
            this.drainer = drainer;
            this.spec = spec;
            this.maxPayload = maxMessageSize - Wire.FRAME_OVERHEAD;
            this.reported = new AtomicBoolean[spec.numWorkers()];
            for (int i = 0; i < reported.length; i++) {
                reported[i] = new AtomicBoolean();
            }
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
            this.requests = requestStream;
            requestStream.disableAutoRequestWithInitial(Wire.REQUEST_AHEAD);
            this.outbox = new Outbox(requestStream, envelope, maxPayload + Wire.FRAME_OVERHEAD,
                    e -> LOG.log(System.Logger.Level.DEBUG, "{0}: cannot write: {1}", description(), e.toString()),
                    drainer);
        }

        void open(ManagedChannel ch) {
            ClientCalls.asyncBidiStreamingCall(ch.newCall(Wire.POOL, CallOptions.DEFAULT), this);
            byte[] state = spec.configured() == null ? null : valueCodec.encode(spec.configured());
            outbox.offer(Wire.frame(Wire.CREATE, spec.workerName(), spec.numProcesses(), spec.threadsPerProcess(),
                    spec.redirectOutput(), spec.bufferOutput(), state, options.maxMessageSize));
        }

        void awaitCreated(Duration timeout) {
            try {
                created.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof PoolException pe ? pe
                        : new PoolException("Cannot create a pool on " + address + ": " + e.getCause(), e.getCause());
            } catch (TimeoutException e) {
                throw new PoolException("The netrun server at " + address + " did not create the pool within "
                        + timeout.toMillis() + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PoolException("Interrupted while creating a pool on " + address);
            }
        }

        void send(int workerId, String key, Object data) {
            String why = lost;
            if (why != null || reported[workerId].get()) {
                throw new WorkerCrashedException(workerId, why != null ? why
                        : "worker " + workerId + " of " + description() + " has ended");
            }
            byte[] payload = valueCodec.encode(data); // CodecException: nothing is sent
            if (payload.length > maxPayload) {
                throw new CodecException("Cannot send '" + key + "' to worker " + workerId + " of " + description()
                        + ": its data takes " + payload.length + " bytes, more than the maximum message size allows ("
                        + maxPayload + ")");
            }
            outbox.offer(Wire.frame(Wire.SEND, workerId, key, payload));
        }

        Map<Integer, List<OutputEntry>> flush(int processIdx, Duration timeout) {
            long id = flushIds.incrementAndGet();
            CompletableFuture<Map<Integer, List<OutputEntry>>> f = new CompletableFuture<>();
            flushes.put(id, f);
            try {
                String why = lost;
                if (why != null) {
                    throw new PoolException("Cannot flush the output of " + description() + ": " + why);
                }
                outbox.offer(Wire.frame(Wire.FLUSH, id, processIdx, Math.max(0, timeout.toMillis())));
                return f.get(timeout.plus(FLUSH_GRACE).toNanos(), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new PoolException(e.getCause().toString());
            } catch (TimeoutException e) {
                throw new WorkerTimeoutException("The netrun server at " + address + " did not flush the output of "
                        + (processIdx < 0 ? "its processes" : "process " + processIdx) + " within "
                        + timeout.plus(FLUSH_GRACE).toMillis() + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WorkerTimeoutException("Interrupted while flushing the output of " + description());
            } finally {
                flushes.remove(id);
            }
        }

        @Override
        public void onNext(byte[] batch) {
            if (++consumed >= Wire.REQUEST_AHEAD / 2) {
                requests.request(consumed);
                consumed = 0;
            }
            List<Object[]> frames;
            try {
                frames = Wire.decodeBatch(batch, envelope);
            } catch (CodecException e) {
                LOG.log(System.Logger.Level.ERROR, "{0}: undecodable batch from the server: {1}", description(), e);
                cancel("undecodable batch from the server: " + e.getMessage());
                return;
            }
            for (Object[] f : frames) {
                frame(f);
            }
        }

        private void frame(Object[] f) {
            int type = (Integer) f[0];
            switch (type) {
                case Wire.CREATED -> created.complete(null);
                case Wire.POOL_ERROR -> created.completeExceptionally(new PoolException((String) f[1]));
                case Wire.MESSAGE -> {
                    Object data;
                    try {
                        data = ((Wire.Slice) f[3]).decode(valueCodec);
                    } catch (CodecException e) {
                        data = e; // as a StreamChannel does: the receiver gets the failure in place of the data
                    }
                    delivery.message((Integer) f[1], (String) f[2], data);
                }
                case Wire.UNDECODABLE -> delivery.message((Integer) f[1], (String) f[2],
                        new CodecException((String) f[3]));
                case Wire.WORKER_FAILED -> {
                    int workerId = (Integer) f[1];
                    reported[workerId].set(true);
                    delivery.failure(new WorkerException(workerId, (String) f[2], (String) f[3], (String) f[4], null));
                }
                case Wire.WORKER_CRASHED -> {
                    int workerId = (Integer) f[1];
                    reported[workerId].set(true);
                    @SuppressWarnings("unchecked")
                    Map<String, Object> details = new LinkedHashMap<>((Map<String, Object>) f[2]);
                    details.put(WorkerCrashedException.REASON, details.get(WorkerCrashedException.REASON)
                            + " on netrun server " + address);
                    details.put("server", address);
                    delivery.failure(new WorkerCrashedException(workerId, details, null));
                }
                case Wire.FLUSHED -> flushed(f);
                default -> LOG.log(System.Logger.Level.WARNING, "{0}: unknown frame type {1}", description(), type);
            }
        }

        private void flushed(Object[] f) {
            CompletableFuture<Map<Integer, List<OutputEntry>>> future = flushes.get((Long) f[1]);
            if (future == null) {
                return; // the caller gave up
            }
            if (f[3] == null) {
                try {
                    @SuppressWarnings("unchecked")
                    Map<Integer, List<OutputEntry>> out = (Map<Integer, List<OutputEntry>>) envelope.decode((byte[]) f[2]);
                    Map<Integer, List<OutputEntry>> copy = new LinkedHashMap<>();
                    out.forEach((k, v) -> copy.put(k, List.copyOf(v)));
                    future.complete(Collections.unmodifiableMap(copy));
                } catch (CodecException | ClassCastException e) {
                    future.completeExceptionally(new PoolException("Undecodable output from " + address + ": " + e, e));
                }
                return;
            }
            String cls = (String) f[3];
            String msg = (String) f[4];
            RuntimeException e;
            if (cls.equals(WorkerTimeoutException.class.getName())) {
                e = new WorkerTimeoutException(msg);
            } else if (cls.equals(IllegalArgumentException.class.getName())) {
                e = new IllegalArgumentException(msg);
            } else if (cls.equals(PoolNotStartedException.class.getName())) {
                e = new PoolNotStartedException(msg);
            } else {
                e = new PoolException("Flushing the output on " + address + " failed: " + cls + ": " + msg);
            }
            future.completeExceptionally(e);
        }

        @Override
        public void onError(Throwable t) {
            Status status = Status.fromThrowable(t);
            if (!created.isDone()) {
                created.completeExceptionally(failure(status, t));
            } else if (!closing) {
                lose("lost the connection to netrun server " + address + ": " + status.getCode() + ": "
                        + describe(status), t);
            }
            ended.complete(null);
        }

        @Override
        public void onCompleted() {
            if (!created.isDone()) {
                created.completeExceptionally(new PoolException("The netrun server at " + address
                        + " ended the stream without creating the pool"));
            } else if (!closing) {
                lose("netrun server " + address + " ended the pool", null);
            }
            ended.complete(null);
        }

        /** Reports every worker not yet reported as crashed, once, and fails waiting flushes. */
        private void lose(String why, Throwable cause) {
            lost = why;
            for (int i = 0; i < reported.length; i++) {
                if (reported[i].compareAndSet(false, true)) {
                    delivery.failure(new WorkerCrashedException(i, Map.of(WorkerCrashedException.REASON, why,
                            "server", address), cause));
                }
            }
            PoolException e = new PoolException("Cannot flush the output of " + description() + ": " + why, cause);
            flushes.values().forEach(f -> f.completeExceptionally(e));
        }

        /** Ends the stream cleanly: the server closes the pool, then completes; cancels it past the timeout. */
        void close(Duration timeout) {
            closing = true;
            if (lost == null && !outbox.isDone()) {
                outbox.offer(Wire.frame(Wire.CLOSE, Math.max(0, timeout.toMillis())));
                outbox.end();
                try {
                    ended.get(timeout.plus(Duration.ofSeconds(2)).toNanos(), TimeUnit.NANOSECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    LOG.log(System.Logger.Level.DEBUG, "{0}: the server did not confirm the close", description());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            cancel("the pool is closed");
            PoolNotStartedException e = new PoolNotStartedException(description() + " was closed");
            flushes.values().forEach(f -> f.completeExceptionally(e));
        }

        void cancel(String why) {
            closing = true;
            ClientCallStreamObserver<byte[]> r = requests;
            if (r != null && !ended.isDone()) {
                try {
                    r.cancel(why, null);
                } catch (RuntimeException e) {
                    // already over
                }
            }
        }
    }

    /**
     * How a {@link RemotePoolClient} reaches its server. Immutable; each {@code with} method validates its value
     * and returns a copy.
     *
     * <pre>{@code
     * Options.defaults().withToken("s3cret").withTrustedCertificate(Path.of("server-cert.pem"))
     * }</pre>
     */
    public static final class Options {
        /** How long {@code connect()} waits for the server to answer, unless configured. */
        public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
        /** How long {@code createPool()} waits for the server to start the children, unless configured. */
        public static final Duration DEFAULT_CREATE_TIMEOUT = Duration.ofSeconds(120);

        private static final Options DEFAULTS = new Options(null, null, DEFAULT_CONNECT_TIMEOUT,
                DEFAULT_CREATE_TIMEOUT, RemotePoolServer.Options.DEFAULT_MAX_MESSAGE_SIZE, null);

        private final String token;
        private final Path trustedCertificate;
        private final Duration connectTimeout;
        private final Duration createTimeout;
        private final int maxMessageSize;
        private final List<String> allowedClasses;

        private Options(String token, Path trustedCertificate, Duration connectTimeout, Duration createTimeout,
                        int maxMessageSize, List<String> allowedClasses) {
            this.token = token;
            this.trustedCertificate = trustedCertificate;
            this.connectTimeout = connectTimeout;
            this.createTimeout = createTimeout;
            this.maxMessageSize = maxMessageSize;
            this.allowedClasses = allowedClasses;
        }

        /** @return no token, plain text, 5 s to connect, 120 s to create a pool, 16 MiB messages */
        public static Options defaults() {
            return DEFAULTS;
        }

        /**
         * @param token the server's shared token, or {@code null} to send none
         * @throws IllegalArgumentException if it is blank or not printable ASCII
         */
        public Options withToken(String token) {
            if (token != null && (token.isBlank() || !token.chars().allMatch(c -> c >= 0x20 && c < 0x7f))) {
                throw new IllegalArgumentException("token must be non-blank printable ASCII");
            }
            return new Options(token, trustedCertificate, connectTimeout, createTimeout, maxMessageSize,
                    allowedClasses);
        }

        /**
         * Connects over TLS, trusting the server certificate (or a CA certificate) in this PEM file.
         *
         * @param pem the certificate, or {@code null} for plain text
         * @throws IllegalArgumentException if the file is not readable
         */
        public Options withTrustedCertificate(Path pem) {
            if (pem != null && !Files.isReadable(pem)) {
                throw new IllegalArgumentException("Trusted certificate not readable: " + pem);
            }
            return new Options(token, pem, connectTimeout, createTimeout, maxMessageSize, allowedClasses);
        }

        /**
         * @param connectTimeout how long {@code connect()} waits for the server, positive
         * @throws IllegalArgumentException if it is not positive
         */
        public Options withConnectTimeout(Duration connectTimeout) {
            return new Options(token, trustedCertificate, positive(connectTimeout, "connectTimeout"), createTimeout,
                    maxMessageSize, allowedClasses);
        }

        /**
         * @param createTimeout how long {@code createPool()} waits for the server to start the pool, positive
         * @throws IllegalArgumentException if it is not positive
         */
        public Options withCreateTimeout(Duration createTimeout) {
            return new Options(token, trustedCertificate, connectTimeout, positive(createTimeout, "createTimeout"),
                    maxMessageSize, allowedClasses);
        }

        /**
         * @param maxMessageSize the most bytes of one message, both ways (the server's own limit applies too), at
         *                       least 64 KiB
         * @throws IllegalArgumentException if it is below 64 KiB
         */
        public Options withMaxMessageSize(int maxMessageSize) {
            if (maxMessageSize < 64 << 10) {
                throw new IllegalArgumentException("maxMessageSize must be >= 65536, was " + maxMessageSize);
            }
            return new Options(token, trustedCertificate, connectTimeout, createTimeout, maxMessageSize,
                    allowedClasses);
        }

        /**
         * Restricts what this client decodes from its server to JDK value types, {@code dev.netrun} types and
         * these patterns (by default it decodes any class of its loader: it trusts the server it chose).
         *
         * @param patterns {@link java.io.ObjectInputFilter.Config#createFilter} patterns, e.g. {@code "com.acme.**"}
         * @throws IllegalArgumentException if a pattern is malformed
         */
        public Options withAllowedClasses(String... patterns) {
            List<String> list = List.of(patterns);
            JavaSerializationCodec.allowList(Options.class.getClassLoader(), patterns); // validates
            return new Options(token, trustedCertificate, connectTimeout, createTimeout, maxMessageSize, list);
        }

        private static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
            return d;
        }

        /** @return whether a token is sent */
        public boolean hasToken() {
            return token != null;
        }

        /** @return the trusted certificate, or {@code null} for plain text */
        public Path trustedCertificate() {
            return trustedCertificate;
        }

        /** @return how long {@code connect()} waits */
        public Duration connectTimeout() {
            return connectTimeout;
        }

        /** @return how long {@code createPool()} waits */
        public Duration createTimeout() {
            return createTimeout;
        }

        /** @return the most bytes of one message */
        public int maxMessageSize() {
            return maxMessageSize;
        }

        /** @return the decoding allow-list patterns, or {@code null} when the server is trusted */
        public List<String> allowedClasses() {
            return allowedClasses;
        }

        @Override
        public String toString() {
            return "Options[token=" + (token == null ? "none" : "****") + ", tls=" + (trustedCertificate != null)
                    + ", connectTimeout=" + connectTimeout.toMillis() + "ms, createTimeout=" + createTimeout.toMillis()
                    + "ms, maxMessageSize=" + maxMessageSize + ", allowedClasses=" + allowedClasses + "]";
        }
    }
}
