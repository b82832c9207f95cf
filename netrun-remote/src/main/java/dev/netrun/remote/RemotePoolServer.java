package dev.netrun.remote;

import dev.netrun.exec.ExecWorker;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.WorkerFunction;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CompactCodec;
import dev.netrun.rpc.JavaSerializationCodec;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.InetSocketAddress;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hosts worker pools for {@link RemotePoolClient}s over gRPC. Each client stream asks for one pool
 * ({@code createPool(workerName, numProcesses, threadsPerProcess, redirectOutput, bufferOutput)}); the server
 * runs it as a {@link dev.netrun.pool.MultiprocessPool} of child JVMs and forwards messages, worker errors,
 * crashes and captured output between the client and the children until the client closes it or goes away.
 *
 * <pre>{@code
 * try (RemotePoolServer server = new RemotePoolServer("127.0.0.1", 7070,
 *         RemotePoolServer.Options.defaults().withToken(secret))) {
 *     server.registerWorker("echo", EchoWorker.class);
 *     server.start();
 *     server.awaitTermination();
 * }
 * }</pre>
 *
 * <p><b>Workers</b> are registered by name; a client can only run registered classes. The ExecutionManager's
 * worker is registered by default as {@value #EXEC_WORKER}, so a {@link RemotePoolConfig} works against any
 * server. A registered class must be public with a public no-arg constructor, and be on the class path of the
 * children: the server's own class path plus {@link Options#withClassPath}.
 *
 * <p><b>Security.</b> By default the server listens on {@code 127.0.0.1} only. {@link Options#withToken}
 * requires every call to carry that token (refused calls never reach a pool); {@link Options#withTls} encrypts
 * the connection and proves the server's identity. What clients send is decoded with an allow-list: JDK value
 * types, netrun's own types (packages {@code dev.netrun.exec}, {@code .pool}, {@code .rpc}) and
 * {@link Options#withAllowedClasses}; the ExecutionManager's jobs carry
 * their functions, arguments and results as opaque bytes that only the child JVM decodes. gRPC refuses
 * messages above {@link Options#withMaxMessageSize}. A token and TLS do not sandbox jobs: whoever may connect
 * may run code in the children, as the server's user.
 *
 * <p><b>Ownership.</b> The server owns every pool and child JVM it starts. A client that closes its pool, or
 * that vanishes (its stream is cancelled or its connection lost), has that pool closed and its children ended.
 * {@link #close()} ends them all.
 *
 * <p>Thread-safe.
 */
public final class RemotePoolServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RemotePoolServer.class.getName());

    /** The name under which the ExecutionManager's worker ({@link ExecWorker}) is registered by default. */
    public static final String EXEC_WORKER = "netrun.exec";
    /** The host a server binds unless told otherwise: loopback only. */
    public static final String DEFAULT_HOST = "127.0.0.1";

    private final String host;
    private final int requestedPort;
    private final Options options;
    private final Map<String, Class<? extends WorkerFunction>> workers = new ConcurrentHashMap<>();
    private final Set<ServerSession> sessions = ConcurrentHashMap.newKeySet();
    private final Object lifecycle = new Object();
    private final CountDownLatch terminated = new CountDownLatch(1);
    /** Guarded by lifecycle. */
    private Server server;
    /** Guarded by lifecycle. */
    private boolean closed;
    private volatile int boundPort = -1;
    /** Blocking work of sessions: pool closes and flushes. Created at start. */
    private volatile ExecutorService tasks;
    private final Codec envelope;
    private final Codec valueCodec;
    private final ClassLoader decodeLoader;
    private final String childClassPath;

    /**
     * A server on {@value #DEFAULT_HOST} with default options.
     *
     * @param port the port, or 0 for a free one (see {@link #port()} after {@link #start()})
     * @throws IllegalArgumentException if the port is out of range
     */
    public RemotePoolServer(int port) {
        this(DEFAULT_HOST, port, Options.defaults());
    }

    /**
     * A server with default options.
     *
     * @param host the interface to bind, e.g. {@code "127.0.0.1"} or {@code "0.0.0.0"} for every interface
     * @param port the port, or 0 for a free one
     * @throws IllegalArgumentException if the host is blank or the port out of range
     */
    public RemotePoolServer(String host, int port) {
        this(host, port, Options.defaults());
    }

    /**
     * @param host    the interface to bind, e.g. {@code "127.0.0.1"} or {@code "0.0.0.0"} for every interface
     * @param port    the port, or 0 for a free one
     * @param options token, TLS, class path of the children, limits
     * @throws IllegalArgumentException if the host is blank, the port out of range, or the class path malformed
     * @throws NullPointerException     if an argument is {@code null}
     */
    public RemotePoolServer(String host, int port, Options options) {
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host is blank");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0 to 65535, was " + port);
        }
        this.host = host;
        this.requestedPort = port;
        this.options = Objects.requireNonNull(options, "options");
        this.envelope = Wire.envelope(options.maxMessageSize);
        this.decodeLoader = decodeLoader(options.classPath);
        List<String> patterns = new ArrayList<>();
        patterns.add(JavaSerializationCodec.JDK_VALUE_TYPES);
        patterns.add(Wire.NETRUN_TYPES);
        patterns.addAll(options.allowedClasses);
        this.valueCodec = new CompactCodec(JavaSerializationCodec.allowList(decodeLoader,
                JavaSerializationCodec.Limits.DEFAULT.withMaxBytes(options.maxMessageSize),
                patterns.toArray(new String[0])));
        String own = System.getProperty("java.class.path", "");
        this.childClassPath = options.classPath == null ? own
                : own.isEmpty() ? options.classPath : own + File.pathSeparator + options.classPath;
        workers.put(EXEC_WORKER, ExecWorker.class);
    }

    private static ClassLoader decodeLoader(String classPath) {
        ClassLoader own = RemotePoolServer.class.getClassLoader();
        if (classPath == null) {
            return own;
        }
        List<URL> urls = new ArrayList<>();
        for (String entry : classPath.split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            try {
                urls.add(Path.of(entry).toAbsolutePath().toUri().toURL());
            } catch (MalformedURLException | RuntimeException e) {
                throw new IllegalArgumentException("Bad class path entry '" + entry + "': " + e.getMessage(), e);
            }
        }
        return new URLClassLoader("netrun-remote-classpath", urls.toArray(new URL[0]), own);
    }

    /**
     * Registers a worker class under a name that clients ask for. Registering a name again replaces it; pools
     * already running keep their class.
     *
     * @param name the name clients use, not blank
     * @param type a public class with a public no-arg constructor
     * @throws IllegalArgumentException if the name is blank or the class cannot be built in a child JVM
     * @throws NullPointerException     if an argument is {@code null}
     */
    public void registerWorker(String name, Class<? extends WorkerFunction> type) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        if (name.isBlank()) {
            throw new IllegalArgumentException("Worker name is blank");
        }
        if (!WorkerFunction.class.isAssignableFrom(type) || type.isInterface()
                || Modifier.isAbstract(type.getModifiers())) {
            throw new IllegalArgumentException("Worker class " + type.getName() + " is not a concrete WorkerFunction");
        }
        boolean ok = Modifier.isPublic(type.getModifiers()) && !type.isAnonymousClass() && !type.isSynthetic()
                && (type.getEnclosingClass() == null || Modifier.isStatic(type.getModifiers()));
        try {
            ok &= Modifier.isPublic(type.getConstructor().getModifiers());
        } catch (NoSuchMethodException e) {
            ok = false;
        }
        if (!ok) {
            throw new IllegalArgumentException("Worker class " + type.getName() + " cannot be built in a child JVM:"
                    + " it must be a public top-level (or static nested) class with a public no-arg constructor");
        }
        workers.put(name, type);
    }

    /** @return the names clients may ask for, sorted; a snapshot, including {@value #EXEC_WORKER} */
    public Set<String> registeredWorkers() {
        return Collections.unmodifiableSet(new TreeSet<>(workers.keySet()));
    }

    /**
     * Starts listening. Returns once the server accepts connections.
     *
     * @throws IllegalStateException if the server was already started or closed
     * @throws PoolException         if it cannot listen (port taken, bad TLS files), naming the address
     */
    public void start() {
        synchronized (lifecycle) {
            if (closed) {
                throw new IllegalStateException("RemotePoolServer is closed");
            }
            if (server != null) {
                throw new IllegalStateException("RemotePoolServer is already started on " + address());
            }
            ServerCredentials credentials;
            try {
                credentials = options.tlsCertificate == null ? InsecureServerCredentials.create()
                        : TlsServerCredentials.create(options.tlsCertificate.toFile(), options.tlsPrivateKey.toFile());
            } catch (IOException | RuntimeException e) {
                throw new PoolException("Cannot read the TLS certificate or key (" + options.tlsCertificate + ", "
                        + options.tlsPrivateKey + "): " + e.getMessage(), e);
            }
            ExecutorService t = Executors.newCachedThreadPool(r -> {
                Thread th = new Thread(r, "netrun-remote-server-task");
                th.setDaemon(true);
                return th;
            });
            ServerServiceDefinition service = ServerServiceDefinition.builder(Wire.SERVICE)
                    .addMethod(Wire.PING, ServerCalls.asyncUnaryCall((request, response) -> {
                        response.onNext(envelope.encode(new Object[]{Wire.PROTOCOL_VERSION, options.maxMessageSize,
                                new ArrayList<>(registeredWorkers())}));
                        response.onCompleted();
                    }))
                    .addMethod(Wire.POOL, ServerCalls.asyncBidiStreamingCall(responses -> new ServerSession(this,
                            (io.grpc.stub.ServerCallStreamObserver<byte[]>) responses)))
                    .build();
            if (options.token != null) {
                service = ServerInterceptors.intercept(service, new TokenCheck(options.token));
            }
            Server s = NettyServerBuilder.forAddress(new InetSocketAddress(host, requestedPort), credentials)
                    .maxInboundMessageSize(options.maxMessageSize)
                    .keepAliveTime(30, TimeUnit.SECONDS)
                    .keepAliveTimeout(10, TimeUnit.SECONDS)
                    .permitKeepAliveTime(5, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    .directExecutor() // sessions never block in gRPC callbacks: see ServerSession
                    .addService(service)
                    .build();
            try {
                s.start();
            } catch (IOException | RuntimeException e) {
                t.shutdownNow();
                throw new PoolException("Cannot listen on " + host + ":" + requestedPort + ": " + e.getMessage(), e);
            }
            tasks = t;
            server = s;
            boundPort = s.getPort();
        }
    }

    /** @return the port the server listens on once started; before that, the port it was given (0 = any) */
    public int port() {
        int p = boundPort;
        return p >= 0 ? p : requestedPort;
    }

    /** @return the host (interface) the server binds */
    public String host() {
        return host;
    }

    /** @return {@code host:port}, with the real port once started */
    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port();
    }

    /** @return whether the server was started and not closed */
    public boolean isRunning() {
        synchronized (lifecycle) {
            return server != null && !closed;
        }
    }

    /** @return the options the server was built with */
    public Options options() {
        return options;
    }

    /**
     * Stops accepting calls, closes every pool (ending its child JVMs) and ends every client's stream: their
     * pending work fails with {@link dev.netrun.pool.WorkerCrashedException}. Idempotent; bounded (a few
     * seconds per pool, pools closed in parallel).
     */
    @Override
    public void close() {
        Server s;
        ExecutorService t;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            s = server;
            t = tasks;
        }
        try {
            if (s != null) {
                s.shutdown();
                List<Thread> closers = new ArrayList<>();
                for (ServerSession session : sessions) {
                    Thread th = new Thread(() -> session.serverClosing(), "netrun-remote-server-close");
                    th.setDaemon(true);
                    th.start();
                    closers.add(th);
                }
                for (Thread th : closers) {
                    th.join(15_000);
                }
                if (!s.awaitTermination(2, TimeUnit.SECONDS)) {
                    s.shutdownNow();
                    s.awaitTermination(2, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (s != null) {
                s.shutdownNow();
            }
        } finally {
            if (t != null) {
                t.shutdownNow();
            }
            if (decodeLoader instanceof URLClassLoader u) {
                try {
                    u.close();
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.DEBUG, "closing the class loader failed", e);
                }
            }
            terminated.countDown();
        }
    }

    /**
     * Blocks until {@link #close()} has finished (for a command that serves until it is stopped).
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    /**
     * Blocks until {@link #close()} has finished or {@code timeout} passed.
     *
     * @return whether the server is closed
     * @throws InterruptedException if interrupted while waiting
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public String toString() {
        return "RemotePoolServer[" + address() + (isRunning() ? ", running, " + livePools() + " pools" : "") + "]";
    }

    // ------------------------------------------------------------------------------ for sessions and tests

    /** @return the number of pools running for clients right now */
    int livePools() {
        int n = 0;
        for (ServerSession s : sessions) {
            if (s.hasPool()) {
                n++;
            }
        }
        return n;
    }

    /** @return the process ids of every child JVM of every running pool */
    List<Long> childPids() {
        List<Long> pids = new ArrayList<>();
        for (ServerSession s : sessions) {
            pids.addAll(s.childPids());
        }
        return pids;
    }

    Class<? extends WorkerFunction> worker(String name) {
        return workers.get(name);
    }

    void register(ServerSession s) {
        sessions.add(s);
    }

    void unregister(ServerSession s) {
        sessions.remove(s);
    }

    Codec envelope() {
        return envelope;
    }

    Codec valueCodec() {
        return valueCodec;
    }

    ClassLoader decodeLoader() {
        return decodeLoader;
    }

    String childClassPath() {
        return childClassPath;
    }

    ExecutorService tasks() {
        return tasks;
    }

    boolean isClosed() {
        synchronized (lifecycle) {
            return closed;
        }
    }

    /** Refuses every call that does not carry the server's token; runs before any handler. */
    private static final class TokenCheck implements ServerInterceptor {
        private final byte[] expected;

        TokenCheck(String token) {
            this.expected = digest(token);
        }

        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                           ServerCallHandler<Q, A> next) {
            String got = headers.get(Wire.TOKEN);
            String refusal = got == null ? "this netrun server requires a token and none was sent"
                    : !MessageDigest.isEqual(expected, digest(got)) ? "the token is wrong" : null;
            if (refusal == null) {
                return next.startCall(call, headers);
            }
            LOG.log(System.Logger.Level.WARNING, "refused a call from {0}: {1}",
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), refusal);
            call.close(Status.UNAUTHENTICATED.withDescription(refusal), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }

        /** Compared as digests, so the comparison takes the same time whatever the lengths. */
        private static byte[] digest(String token) {
            try {
                return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * What a {@link RemotePoolServer} is built with. Immutable; each {@code with} method validates its value and
     * returns a copy.
     *
     * <pre>{@code
     * Options.defaults().withToken("s3cret").withTls(Path.of("cert.pem"), Path.of("key.pem"))
     *        .withClassPath("/opt/jobs/jobs.jar")
     * }</pre>
     */
    public static final class Options {
        /** gRPC's own default is 4 MiB; netrun's messages carry whole job arguments and results. */
        public static final int DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;
        /** The most child JVMs one client may ask for, unless configured. */
        public static final int DEFAULT_MAX_PROCESSES = 64;

        private static final Options DEFAULTS = new Options(null, null, null, null, DEFAULT_MAX_MESSAGE_SIZE,
                List.of(), DEFAULT_MAX_PROCESSES);

        private final String token;
        private final Path tlsCertificate;
        private final Path tlsPrivateKey;
        private final String classPath;
        private final int maxMessageSize;
        private final List<String> allowedClasses;
        private final int maxProcesses;

        private Options(String token, Path tlsCertificate, Path tlsPrivateKey, String classPath, int maxMessageSize,
                        List<String> allowedClasses, int maxProcesses) {
            this.token = token;
            this.tlsCertificate = tlsCertificate;
            this.tlsPrivateKey = tlsPrivateKey;
            this.classPath = classPath;
            this.maxMessageSize = maxMessageSize;
            this.allowedClasses = allowedClasses;
            this.maxProcesses = maxProcesses;
        }

        /** @return no token, no TLS, no extra class path, 16 MiB messages, at most 64 processes per pool */
        public static Options defaults() {
            return DEFAULTS;
        }

        /**
         * @param token the shared secret every client must send, or {@code null} for none
         * @throws IllegalArgumentException if the token is blank or not printable ASCII (it travels as call
         *                                  metadata)
         */
        public Options withToken(String token) {
            if (token != null) {
                if (token.isBlank()) {
                    throw new IllegalArgumentException("token is blank");
                }
                if (!token.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                    throw new IllegalArgumentException("token must be printable ASCII");
                }
            }
            return new Options(token, tlsCertificate, tlsPrivateKey, classPath, maxMessageSize, allowedClasses,
                    maxProcesses);
        }

        /**
         * Serves over TLS.
         *
         * @param certificatePem the server's certificate chain, PEM
         * @param privateKeyPem  its private key, PKCS#8 PEM (unencrypted)
         * @throws IllegalArgumentException if a file does not exist
         * @throws NullPointerException     if an argument is {@code null}
         */
        public Options withTls(Path certificatePem, Path privateKeyPem) {
            Objects.requireNonNull(certificatePem, "certificatePem");
            Objects.requireNonNull(privateKeyPem, "privateKeyPem");
            if (!Files.isReadable(certificatePem)) {
                throw new IllegalArgumentException("TLS certificate not readable: " + certificatePem);
            }
            if (!Files.isReadable(privateKeyPem)) {
                throw new IllegalArgumentException("TLS private key not readable: " + privateKeyPem);
            }
            return new Options(token, certificatePem, privateKeyPem, classPath, maxMessageSize, allowedClasses,
                    maxProcesses);
        }

        /**
         * @param classPath entries added to the child JVMs' class path (after the server's own), in the platform's
         *                  class path syntax; {@code null} for none. Jobs' classes go here.
         */
        public Options withClassPath(String classPath) {
            return new Options(token, tlsCertificate, tlsPrivateKey,
                    classPath == null || classPath.isBlank() ? null : classPath, maxMessageSize, allowedClasses,
                    maxProcesses);
        }

        /**
         * @param maxMessageSize the most bytes of one gRPC message the server accepts (and of one payload it
         *                       decodes), at least 64 KiB
         * @throws IllegalArgumentException if it is below 64 KiB
         */
        public Options withMaxMessageSize(int maxMessageSize) {
            if (maxMessageSize < 64 << 10) {
                throw new IllegalArgumentException("maxMessageSize must be >= 65536, was " + maxMessageSize);
            }
            return new Options(token, tlsCertificate, tlsPrivateKey, classPath, maxMessageSize, allowedClasses,
                    maxProcesses);
        }

        /**
         * Admits more classes when decoding what clients send to raw pools, beyond JDK value types and
         * netrun's own types (ExecutionManager jobs never need this: their values stay encoded).
         *
         * @param patterns {@link java.io.ObjectInputFilter.Config#createFilter} patterns, e.g. {@code "com.acme.**"}
         * @throws IllegalArgumentException if a pattern is malformed
         */
        public Options withAllowedClasses(String... patterns) {
            List<String> list = List.of(patterns);
            JavaSerializationCodec.allowList(Options.class.getClassLoader(), patterns); // validates
            return new Options(token, tlsCertificate, tlsPrivateKey, classPath, maxMessageSize, list, maxProcesses);
        }

        /**
         * @param maxProcesses the most child JVMs one client may ask for in one pool, at least 1
         * @throws IllegalArgumentException if it is below 1
         */
        public Options withMaxProcesses(int maxProcesses) {
            if (maxProcesses < 1) {
                throw new IllegalArgumentException("maxProcesses must be >= 1, was " + maxProcesses);
            }
            return new Options(token, tlsCertificate, tlsPrivateKey, classPath, maxMessageSize, allowedClasses,
                    maxProcesses);
        }

        /** @return whether clients must send a token */
        public boolean requiresToken() {
            return token != null;
        }

        /** @return the TLS certificate, or {@code null} when serving in plain text */
        public Path tlsCertificate() {
            return tlsCertificate;
        }

        /** @return the extra class path of the children, or {@code null} */
        public String classPath() {
            return classPath;
        }

        /** @return the most bytes of one message */
        public int maxMessageSize() {
            return maxMessageSize;
        }

        /** @return the extra decoding patterns */
        public List<String> allowedClasses() {
            return allowedClasses;
        }

        /** @return the most child JVMs of one pool */
        public int maxProcesses() {
            return maxProcesses;
        }

        @Override
        public String toString() {
            return "Options[token=" + (token == null ? "none" : "****") + ", tls=" + (tlsCertificate != null)
                    + ", classPath=" + classPath + ", maxMessageSize=" + maxMessageSize + ", allowedClasses="
                    + allowedClasses + ", maxProcesses=" + maxProcesses + "]";
        }
    }

    /** Numbers sessions for thread and log names. */
    static final AtomicInteger SESSION_IDS = new AtomicInteger();
}
