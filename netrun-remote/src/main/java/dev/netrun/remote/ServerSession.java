package dev.netrun.remote;

import dev.netrun.pool.MultiprocessPool;
import dev.netrun.pool.OutputEntry;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.PoolListener;
import dev.netrun.pool.PoolNotStartedException;
import dev.netrun.pool.WorkerCrashedException;
import dev.netrun.pool.WorkerException;
import dev.netrun.pool.WorkerFunction;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.JavaSerializationCodec;
import dev.netrun.rpc.RpcException;
import io.grpc.Status;
import io.grpc.netty.shaded.io.netty.util.internal.ThreadExecutorMap;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The server side of one client's {@code Pool} stream: it creates the client's {@link MultiprocessPool} on the
 * first frame, then forwards frames to the pool and what the pool's workers send back, until the client
 * half-closes (a clean close), the call is cancelled or the connection is lost (the client vanished), or the
 * server closes. Whichever comes first closes the pool, once.
 *
 * <p><b>Threads.</b> gRPC calls {@link #onNext}, {@link #onCompleted} and {@link #onError} one at a time for a
 * call, directly on the transport's event loop (the server uses a direct executor: one thread hop less per
 * message), so they never block: starting the pool, closing it and flushing output run on the server's task
 * executor. The pool's reader threads call the {@link PoolListener} methods, concurrently; their frames go
 * through the {@link Outbox}.
 */
final class ServerSession implements StreamObserver<byte[]>, PoolListener {
    private static final System.Logger LOG = System.getLogger(ServerSession.class.getName());
    private static final Duration CANCELLED_CLOSE_TIMEOUT = Duration.ofSeconds(2);

    private final RemotePoolServer server;
    private final ServerCallStreamObserver<byte[]> responses;
    private final Outbox outbox;
    private final String name = "remote-session-" + RemotePoolServer.SESSION_IDS.incrementAndGet();
    /** Set once CREATE has been seen (on the gRPC thread). */
    private volatile boolean creating;
    /** Set once, when the pool has started (on a task thread), before CREATED is sent; read by any thread. */
    private volatile MultiprocessPool pool;
    /** Set by the first of: clean close, cancellation, server close. */
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile Duration closeTimeout = Duration.ofSeconds(5);
    /** The most bytes of one message to the client: the smaller of the server's and the client's limits. */
    private volatile int maxMessageSize;
    /** Messages processed since more were requested; gRPC thread only. */
    private int consumed;

    ServerSession(RemotePoolServer server, ServerCallStreamObserver<byte[]> responses) {
        this.server = server;
        this.responses = responses;
        this.maxMessageSize = server.options().maxMessageSize();
        this.outbox = new Outbox(responses, server.envelope(), maxMessageSize, e ->
                LOG.log(System.Logger.Level.DEBUG, "{0}: cannot write to the client: {1}", name, e.toString()),
                transportLoop());
        responses.setOnCancelHandler(() -> end(false, CANCELLED_CLOSE_TIMEOUT));
        responses.disableAutoRequest();
        responses.request(Wire.REQUEST_AHEAD);
        server.register(this);
        if (server.isClosed()) {
            serverClosing();
        }
    }

    /**
     * The event loop of this call's connection: the session is built on it (the server runs callbacks directly
     * on the transport). The outbox drains there, so replies that the pool's reader threads offer leave in
     * batches, without those threads doing gRPC's framing. {@code null} (drain on the offering thread) if the
     * transport is not netty's.
     */
    private static Executor transportLoop() {
        try {
            return ThreadExecutorMap.currentExecutor();
        } catch (LinkageError e) {
            return null;
        }
    }

    boolean hasPool() {
        MultiprocessPool p = pool;
        return p != null && p.isRunning();
    }

    List<Long> childPids() {
        List<Long> pids = new ArrayList<>();
        MultiprocessPool p = pool;
        if (p != null) {
            for (int i = 0; i < p.numProcesses(); i++) {
                try {
                    pids.add(p.pid(i));
                } catch (PoolException e) {
                    // closed meanwhile
                }
            }
        }
        return pids;
    }

    // ----------------------------------------------------------------------------------- client -> server

    @Override
    public void onNext(byte[] batch) {
        if (++consumed >= Wire.REQUEST_AHEAD / 2) {
            responses.request(consumed);
            consumed = 0;
        }
        if (ended.get()) {
            return;
        }
        List<Object[]> frames;
        try {
            frames = Wire.decodeBatch(batch, server.envelope());
        } catch (CodecException e) {
            protocolError("undecodable batch: " + e.getMessage());
            return;
        }
        try {
            for (Object[] f : frames) {
                int type = (Integer) f[0];
                if (pool == null && type != Wire.CREATE) {
                    protocolError(creating ? "frames before the pool was created" : "the first frame must create a pool");
                    return;
                }
                switch (type) {
                    case Wire.CREATE -> create(f);
                    case Wire.SEND -> send((Integer) f[1], (String) f[2], (Wire.Slice) f[3]);
                    case Wire.FLUSH -> flush((Long) f[1], (Integer) f[2], (Long) f[3]);
                    case Wire.CLOSE -> closeTimeout = Duration.ofMillis(Math.max(0, Math.min(60_000, (Long) f[1])));
                    default -> {
                        protocolError("unknown frame type " + type);
                        return;
                    }
                }
                if (ended.get()) {
                    return;
                }
            }
        } catch (ClassCastException | ArrayIndexOutOfBoundsException | NullPointerException e) {
            protocolError("malformed frame: " + e);
        }
    }

    /** The client half-closed: its pool is done. Close it, then end the stream. */
    @Override
    public void onCompleted() {
        end(true, closeTimeout);
    }

    /** The call failed: cancelled by the client, or the connection is gone. */
    @Override
    public void onError(Throwable t) {
        end(false, CANCELLED_CLOSE_TIMEOUT);
    }

    private void create(Object[] f) {
        if (creating || pool != null) {
            protocolError("a stream creates one pool");
            return;
        }
        creating = true;
        String workerName = (String) f[1];
        int numProcesses = (Integer) f[2];
        int threadsPerProcess = (Integer) f[3];
        boolean redirectOutput = (Boolean) f[4];
        boolean bufferOutput = (Boolean) f[5];
        byte[] state = (byte[]) f[6];
        int clientLimit = (Integer) f[7];
        if (clientLimit < maxMessageSize) {
            maxMessageSize = Math.max(64 << 10, clientLimit);
            outbox.limit(maxMessageSize);
        }
        Class<? extends WorkerFunction> type = server.worker(workerName);
        if (type == null) {
            refuse("Unknown worker '" + workerName + "' on netrun server " + server.address()
                    + "; registered workers: " + server.registeredWorkers());
            return;
        }
        int max = server.options().maxProcesses();
        if (numProcesses < 1 || numProcesses > max) {
            refuse("numProcesses must be 1 to " + max + " on netrun server " + server.address() + ", was "
                    + numProcesses);
            return;
        }
        if (threadsPerProcess < 1 || threadsPerProcess > 1024) {
            refuse("threadsPerProcess must be 1 to 1024, was " + threadsPerProcess);
            return;
        }
        // Starting children takes a while: not on the transport thread. The client sends nothing else until it has
        // the answer, so nothing waits behind it.
        Runnable start = () -> startPool(type, workerName, numProcesses, threadsPerProcess, redirectOutput,
                bufferOutput, state);
        try {
            server.tasks().execute(start);
        } catch (RejectedExecutionException e) {
            refuse("netrun server " + server.address() + " is closing");
        }
    }

    private void startPool(Class<? extends WorkerFunction> type, String workerName, int numProcesses,
                           int threadsPerProcess, boolean redirectOutput, boolean bufferOutput, byte[] state) {
        MultiprocessPool p;
        Thread current = Thread.currentThread();
        ClassLoader previous = current.getContextClassLoader();
        // The pool decodes what its children send with the context loader: let it see the extra class path.
        current.setContextClassLoader(server.decodeLoader());
        try {
            WorkerFunction fn = state == null ? type.getConstructor().newInstance() : configured(type, state);
            p = MultiprocessPool.builder(fn).numProcesses(numProcesses).threadsPerProcess(threadsPerProcess)
                    .redirectOutput(redirectOutput).bufferOutput(bufferOutput)
                    .classPath(server.childClassPath()).build();
            p.setListener(this);
            p.start();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite ? ite.getCause() : e;
            refuse("Cannot create a pool of worker '" + workerName + "' (" + numProcesses + "x" + threadsPerProcess
                    + ") on netrun server " + server.address() + ": " + cause);
            return;
        } finally {
            current.setContextClassLoader(previous);
        }
        pool = p;
        if (ended.get() || server.isClosed()) {
            closePool(CANCELLED_CLOSE_TIMEOUT); // the client left, or the server closed, while the children started
            return;
        }
        LOG.log(System.Logger.Level.INFO, "{0}: started {1} of worker ''{2}''", name, p, workerName);
        outbox.offer(Wire.frame(Wire.CREATED, numProcesses, threadsPerProcess));
    }

    /**
     * Decodes a configured instance of the registered class that the client sent, admitting exactly that class
     * and JDK value types: the client chooses settings, never the class.
     */
    private WorkerFunction configured(Class<? extends WorkerFunction> type, byte[] state) {
        if (!Serializable.class.isAssignableFrom(type)) {
            throw new IllegalArgumentException("worker class " + type.getName() + " takes no settings");
        }
        Object o = new dev.netrun.rpc.CompactCodec(JavaSerializationCodec.allowList(type.getClassLoader(),
                JavaSerializationCodec.JDK_VALUE_TYPES, type.getName())).decode(state);
        if (o == null || o.getClass() != type) {
            throw new IllegalArgumentException("the worker settings are not a " + type.getName());
        }
        return (WorkerFunction) o;
    }

    private void send(int workerId, String key, Wire.Slice payload) {
        MultiprocessPool p = pool;
        if (workerId < 0 || workerId >= p.numWorkers()) {
            protocolError("worker id " + workerId + " out of range");
            return;
        }
        Object data;
        try {
            data = payload.decode(server.valueCodec());
        } catch (CodecException e) {
            outbox.offer(Wire.frame(Wire.UNDECODABLE, workerId, key, "netrun server " + server.address()
                    + " refused the message '" + key + "' for worker " + workerId + ": " + e.getMessage()));
            return;
        }
        try {
            p.send(workerId, key, data);
        } catch (WorkerCrashedException | PoolNotStartedException e) {
            // the worker died (already reported to the client) or the pool is closing
        } catch (RpcException e) {
            outbox.offer(Wire.frame(Wire.UNDECODABLE, workerId, key, "netrun server " + server.address()
                    + " could not pass the message '" + key + "' to worker " + workerId + ": " + e.getMessage()));
        }
    }

    private void flush(long requestId, int processIdx, long timeoutMillis) {
        MultiprocessPool p = pool;
        Duration timeout = Duration.ofMillis(Math.max(0, Math.min(timeoutMillis, 600_000)));
        Runnable task = () -> {
            Object[] reply;
            try {
                Map<Integer, List<OutputEntry>> out = processIdx < 0 ? p.flushAllStdout(timeout)
                        : Map.of(processIdx, p.flushStdout(processIdx, timeout));
                byte[] encoded = server.envelope().encode(new LinkedHashMap<>(out));
                if (encoded.length > maxMessageSize - Wire.FRAME_OVERHEAD) {
                    reply = Wire.frame(Wire.FLUSHED, requestId, null, PoolException.class.getName(),
                            "the captured output (" + encoded.length + " bytes) exceeds the maximum message size "
                                    + maxMessageSize + "; it is lost");
                } else {
                    reply = Wire.frame(Wire.FLUSHED, requestId, encoded, null, null);
                }
            } catch (RuntimeException e) {
                reply = Wire.frame(Wire.FLUSHED, requestId, null, e.getClass().getName(), e.getMessage());
            }
            outbox.offer(reply);
        };
        try {
            server.tasks().execute(task);
        } catch (RejectedExecutionException e) {
            outbox.offer(Wire.frame(Wire.FLUSHED, requestId, null, PoolNotStartedException.class.getName(),
                    "netrun server " + server.address() + " is closing"));
        }
    }

    // ----------------------------------------------------------------------------------- pool -> client

    @Override
    public void onMessage(int workerId, String key, Object data) {
        if (data instanceof CodecException e) {
            // the pool could not decode what the worker sent: say so, the client rebuilds the exception
            outbox.offer(Wire.frame(Wire.UNDECODABLE, workerId, key, e.getMessage()));
            return;
        }
        byte[] payload;
        try {
            payload = server.valueCodec().encode(data);
        } catch (CodecException e) {
            outbox.offer(Wire.frame(Wire.UNDECODABLE, workerId, key, "netrun server " + server.address()
                    + " could not encode the message '" + key + "' of worker " + workerId + ": " + e.getMessage()));
            return;
        }
        if (payload.length > maxMessageSize - Wire.FRAME_OVERHEAD) {
            outbox.offer(Wire.frame(Wire.UNDECODABLE, workerId, key, "the message '" + key + "' of worker "
                    + workerId + " (" + payload.length + " bytes) exceeds the maximum message size "
                    + maxMessageSize + " between netrun server " + server.address() + " and its client"));
            return;
        }
        outbox.offer(Wire.frame(Wire.MESSAGE, workerId, key, payload));
    }

    @Override
    public void onFailure(PoolException failure) {
        if (failure instanceof WorkerException we) {
            outbox.offer(Wire.frame(Wire.WORKER_FAILED, we.workerId(), we.remoteClassName(), we.remoteMessage(),
                    we.remoteStackTrace()));
        } else if (failure instanceof WorkerCrashedException wc) {
            Map<String, Object> details = new LinkedHashMap<>();
            wc.details().forEach((k, v) -> details.put(k, v instanceof Integer || v instanceof Long
                    || v instanceof Boolean || v instanceof String ? v : String.valueOf(v)));
            outbox.offer(Wire.frame(Wire.WORKER_CRASHED, wc.workerId(), details));
        } else {
            LOG.log(System.Logger.Level.WARNING, name + ": pool failure", failure);
        }
    }

    // ----------------------------------------------------------------------------------- endings

    /** Refuses the CREATE: the client's createPool throws with this message. */
    private void refuse(String why) {
        LOG.log(System.Logger.Level.INFO, "{0}: {1}", name, why);
        if (ended.compareAndSet(false, true)) {
            outbox.offer(Wire.frame(Wire.POOL_ERROR, why));
            outbox.end();
            server.unregister(this);
        }
    }

    private void protocolError(String why) {
        LOG.log(System.Logger.Level.WARNING, "{0}: protocol error: {1}", name, why);
        if (ended.compareAndSet(false, true)) {
            outbox.fail(new StatusRuntimeException(Status.INVALID_ARGUMENT.withDescription(
                    "netrun protocol error: " + why)));
            Runnable close = () -> {
                closePool(CANCELLED_CLOSE_TIMEOUT);
                server.unregister(this);
            };
            try {
                server.tasks().execute(close);
            } catch (RejectedExecutionException e) {
                close.run();
            }
        }
    }

    /**
     * Ends the session once: closes the pool off the gRPC thread (it blocks while children leave), then, for a
     * clean close, ends the stream so the client's close returns.
     */
    private void end(boolean clean, Duration timeout) {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        Runnable task = () -> {
            try {
                closePool(timeout);
            } finally {
                if (clean) {
                    outbox.end();
                }
                server.unregister(this);
            }
        };
        try {
            server.tasks().execute(task);
        } catch (RejectedExecutionException | NullPointerException e) {
            task.run();
        }
    }

    /** The server closes: fail the client's stream, then close the pool here (the caller waits). */
    void serverClosing() {
        if (!ended.compareAndSet(false, true)) {
            MultiprocessPool p = pool;
            if (p != null && p.isRunning()) {
                closePool(CANCELLED_CLOSE_TIMEOUT); // an end in progress: make sure it is finished
            }
            return;
        }
        // Tell the client first: its pending work fails now, not after the children have left.
        outbox.fail(new StatusRuntimeException(Status.UNAVAILABLE.withDescription(
                "netrun server " + server.address() + " is shutting down")));
        closePool(CANCELLED_CLOSE_TIMEOUT);
        server.unregister(this);
    }

    private void closePool(Duration timeout) {
        MultiprocessPool p = pool;
        if (p != null) {
            try {
                p.close(timeout);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, name + ": closing the pool failed", e);
            }
            LOG.log(System.Logger.Level.INFO, "{0}: closed {1}", name, p);
        }
    }
}
