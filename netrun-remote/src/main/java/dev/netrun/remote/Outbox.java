package dev.netrun.remote;

import dev.netrun.rpc.Codec;
import io.grpc.stub.CallStreamObserver;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The one way frames leave one side of a {@code Pool} stream. gRPC's stream observer must not be called
 * from two threads at once, and frames come from many (callers of {@code send}, a pool's reader threads, flush
 * tasks): every frame is queued, and whichever thread finds the outbox idle drains it, packing what is queued
 * into batches (one gRPC message each) of at most {@code maxBatchBytes}.
 *
 * <p><b>Drain protocol.</b> {@code wip} counts drain requests. {@link #offer} queues, then increments; the
 * thread that moved it from 0 drains until the queue is empty, then subtracts the requests it has seen; if more
 * came meanwhile it drains again. So exactly one thread writes at a time, no frame is left behind, and nobody
 * waits: a sender whose frame is taken by the current drainer returns at once. A lone frame on an idle outbox
 * is written by its own sender, with no thread hop.
 *
 * <p><b>Flow control.</b> A drain stops while the call is not {@linkplain CallStreamObserver#isReady() ready} (gRPC
 * already holds enough unsent bytes for this stream); the call's on-ready handler resumes it. Frames offered
 * meanwhile wait in the queue and leave together, in few large messages: under load, batching happens by itself,
 * and memory is bounded by the queue rather than by gRPC's buffers. Once the end of the stream is queued,
 * readiness is no longer waited for.
 *
 * <p>{@link #end} and {@link #fail} queue the end of the stream after every frame offered before them. Once
 * the stream has ended, or a write failed (the call was cancelled), later frames are dropped: the stream's own
 * error handling reports the loss.
 */
final class Outbox {
    /** Marks a terminal entry of the queue: {@code {TERMINAL, null}} completes the stream, {@code {TERMINAL, t}} fails it. */
    private static final Object TERMINAL = new Object();
    /** Batches are cut at this size even when the message size limit is larger, to keep latency even. */
    private static final int TARGET_BATCH_BYTES = 1 << 20;

    private final CallStreamObserver<byte[]> out;
    /** Where drains run, or {@code null} for the offering thread. */
    private final Executor drainer;
    private final Codec envelope;
    /** Lowered by {@link #limit} once the peer's own limit is known. */
    private volatile int maxBatchBytes;
    private final Consumer<RuntimeException> onWriteFailure;
    private final ConcurrentLinkedQueue<Object[]> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger wip = new AtomicInteger();
    /** Written only by the draining thread; read by anyone. */
    private volatile boolean done;
    /** Set once the end of the stream is queued: from then on, drains no longer wait for readiness. */
    private volatile boolean ending;

    /**
     * Must be built while the call's on-ready handler can still be set: in {@code beforeStart} on a client, in
     * the service method on a server.
     *
     * @param out            the stream to write; called by one thread at a time
     * @param envelope       encodes the fields of control frames
     * @param maxMessageSize the most bytes of one gRPC message the peer accepts
     * @param onWriteFailure told once if a write throws (the call is gone); on the draining thread
     */
    Outbox(CallStreamObserver<byte[]> out, Codec envelope, int maxMessageSize,
           Consumer<RuntimeException> onWriteFailure) {
        this(out, envelope, maxMessageSize, onWriteFailure, null);
    }

    /**
     * As above, draining on {@code drainer} instead of on the offering thread: the offering thread only queues
     * and, if the outbox was idle, hands one drain to the drainer. With the transport's own event loop as the
     * drainer this costs no extra thread hop (gRPC hands writes to that loop anyway), takes the framing work off
     * the caller, and batches whatever callers offer while a drain is pending.
     */
    Outbox(CallStreamObserver<byte[]> out, Codec envelope, int maxMessageSize,
           Consumer<RuntimeException> onWriteFailure, Executor drainer) {
        this.out = out;
        this.drainer = drainer;
        out.setOnReadyHandler(this::resume);
        this.envelope = envelope;
        this.maxBatchBytes = Math.min(TARGET_BATCH_BYTES, Math.max(1, maxMessageSize - Wire.FRAME_OVERHEAD));
        this.onWriteFailure = onWriteFailure;
    }

    /** Lowers the size of batches to what a peer that accepts at most {@code maxMessageSize} bytes can take. */
    void limit(int maxMessageSize) {
        maxBatchBytes = Math.min(maxBatchBytes, Math.max(1, maxMessageSize - Wire.FRAME_OVERHEAD));
    }

    /** Queues a frame and returns; it is written by this thread or by the one already draining. */
    void offer(Object[] frame) {
        queue.add(frame);
        if (wip.getAndIncrement() == 0) {
            startDrain();
        }
    }

    private void startDrain() {
        if (drainer == null) {
            drain();
            return;
        }
        try {
            drainer.execute(this::drain);
        } catch (RejectedExecutionException e) {
            drain(); // the loop is shutting down: write here, or find the call gone
        }
    }

    /** Queues the end of the stream ({@code onCompleted}), after everything offered before. Harmless if repeated. */
    void end() {
        ending = true;
        offer(new Object[]{TERMINAL, null});
    }

    /** Queues the failure of the stream ({@code onError(error)}), after everything offered before. */
    void fail(Throwable error) {
        ending = true;
        offer(new Object[]{TERMINAL, error});
    }

    /** The call became ready again: drain what waited, unless a drain is already running. */
    private void resume() {
        if (!queue.isEmpty() && wip.getAndIncrement() == 0) {
            startDrain();
        }
    }

    /** @return whether the stream was ended or a write failed */
    boolean isDone() {
        return done;
    }

    private void drain() {
        int missed = 1;
        while (true) {
            List<Object[]> batch = new ArrayList<>();
            int bytes = 0;
            Object[] f;
            while ((f = queue.peek()) != null && (ending || done || out.isReady())) {
                if (f.length == 2 && f[0] == TERMINAL) {
                    queue.poll();
                    flush(batch);
                    batch.clear();
                    bytes = 0;
                    if (!done) {
                        done = true;
                        try {
                            if (f[1] == null) {
                                out.onCompleted();
                            } else {
                                out.onError((Throwable) f[1]);
                            }
                        } catch (RuntimeException e) {
                            // the call is already gone: nothing left to end
                        }
                    }
                    continue;
                }
                int size = Wire.sizeOf(f);
                if (!batch.isEmpty() && bytes + size > maxBatchBytes) {
                    flush(batch);
                    batch.clear();
                    bytes = 0;
                }
                queue.poll();
                batch.add(f);
                bytes += size;
            }
            flush(batch);
            missed = wip.addAndGet(-missed);
            if (missed == 0) {
                return;
            }
        }
    }

    private void flush(List<Object[]> batch) {
        if (batch.isEmpty() || done) {
            return;
        }
        try {
            out.onNext(Wire.encodeBatch(batch, envelope));
        } catch (RuntimeException e) {
            done = true;
            onWriteFailure.accept(e);
        }
    }
}
