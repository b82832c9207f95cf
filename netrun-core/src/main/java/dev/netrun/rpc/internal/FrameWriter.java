package dev.netrun.rpc.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes frames (see {@link Frames}) to a byte channel for many concurrent senders, coalescing their frames
 * into as few {@code write} calls as it can.
 *
 * <p>Not part of the public API: the package is {@code internal} and may change without notice.
 *
 * <p><b>Bursts.</b> A MESSAGE sent while a write is under way, or within {@link #BURST_NANOS} of the last
 * one, is queued for a flusher thread ({@code netrun-rpc-writer-<name>}, started on the first burst, ended by
 * {@link #stop()}) and {@code write} returns at once: a thread that sends many messages in a row pays one
 * system call per batch, not per message. A queued frame that fails to be written later makes every later
 * {@code write} fail.
 *
 * <p><b>Protocol (group commit).</b> A sender queues its frame under {@link #lock}. If no thread is writing,
 * it becomes the <em>leader</em>: it takes every queued frame (its own and any that arrived meanwhile),
 * releases the lock, copies them into one direct buffer and writes it, then retakes the lock, marks those
 * frames done and wakes the waiting senders. A sender that finds a leader at work waits until either its
 * frame is done (written by the leader) or the leader has gone, in which case it leads the next batch. So
 * a lone sender never waits for anybody, and under contention one {@code write} carries many frames. Each
 * {@link #write} returns only once its frame is in the channel (or has failed), which keeps the order of
 * each thread's frames and gives senders backpressure from the socket buffer. Encoding is the caller's job
 * and happens before, outside the lock.
 *
 * <p>The direct {@link #buffer} is touched only by the current leader ({@link #writing} is the hand-over,
 * published by the lock). A write failure is sticky: every frame queued or written later fails with it.
 * Once a SHUTDOWN frame is queued, further frames are refused with {@link ClosedChannelException}.
 *
 * <p>The leader clears its thread's interrupt status during the I/O (and restores it afterwards), because a
 * {@link java.nio.channels.InterruptibleChannel} closes itself when an interrupted thread writes to it. An
 * interrupt that arrives during a blocked write still closes the channel.
 */
public final class FrameWriter {

    /** One frame waiting to be written. Its completion fields are guarded by the writer's lock. */
    public static final class Frame {
        final byte type;
        final byte[] key;
        final byte[] data;
        boolean done;
        IOException failure;

        private Frame(byte type, byte[] key, byte[] data) {
            this.type = type;
            this.key = key;
            this.data = data;
        }

        /** @return the value of the frame's length prefix */
        public long length() {
            return type == Frames.MESSAGE ? Frames.messageLength(key.length, data.length) : 1;
        }
    }

    /**
     * @param key  the UTF-8 key, at most 65535 bytes
     * @param data the encoded payload
     * @return a MESSAGE frame
     */
    public static Frame message(byte[] key, byte[] data) {
        if (key.length > Frames.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key of " + key.length + " bytes > " + Frames.MAX_KEY_BYTES);
        }
        return new Frame(Frames.MESSAGE, key, data);
    }

    /** @return a SHUTDOWN frame */
    public static Frame shutdown() {
        return new Frame(Frames.SHUTDOWN, null, null);
    }

    /** Sends closer together than this after the last write are a burst: queued for the flusher thread. */
    static final long BURST_NANOS = 30_000;
    /** A burst sender waits while more than this many bytes are queued (backpressure). */
    static final long MAX_QUEUED_BYTES = 8L << 20;

    private final WritableByteChannel out;
    private final ByteBuffer buffer;
    private final String name;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition progress = lock.newCondition();
    /** Signals the flusher thread that frames are queued and nobody is writing. */
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Frame> queue = new ArrayDeque<>();
    private boolean writing;
    private IOException failure;
    private boolean shutdownQueued;
    private long queuedBytes;
    private long lastWriteEnd = System.nanoTime() - BURST_NANOS;
    private Thread flusher;
    private boolean stopped;

    /**
     * @param out        where frames go
     * @param bufferSize the size of the direct write buffer
     * @param name       names the flusher thread, {@code netrun-rpc-writer-<name>}
     */
    public FrameWriter(WritableByteChannel out, int bufferSize, String name) {
        this.out = out;
        this.buffer = ByteBuffer.allocateDirect(bufferSize);
        this.name = name;
    }

    /**
     * Writes a frame, waiting without bound for it to be written; see {@link #write(Frame, long)}.
     *
     * @param frame the frame
     * @throws IOException if writing failed, now or before
     */
    public void write(Frame frame) throws IOException {
        write(frame, Long.MAX_VALUE);
    }

    /**
     * Writes a frame. A MESSAGE sent in a burst (while another write is under way, or soon after the last
     * one) is queued for the flusher thread, which writes everything queued with one system call, and this
     * method returns at once (waiting only while more than {@link #MAX_QUEUED_BYTES} are queued). Otherwise,
     * and always for SHUTDOWN, it returns once the frame is written, writing it itself if nobody else is:
     * so a lone sender on a quiet channel pays no thread hop, and a stream of sends pays one system call per
     * batch instead of one per frame.
     *
     * @param frame         the frame
     * @param deadlineNanos a {@link System#nanoTime()} deadline, or {@code Long.MAX_VALUE} for none
     * @return {@code true} if the frame was written or queued; {@code false} if the deadline passed first and
     *         the frame was withdrawn
     * @throws IOException if writing failed, now or before; a queued frame that fails later fails every
     *                     later write
     */
    public boolean write(Frame frame, long deadlineNanos) throws IOException {
        List<Frame> batch;
        boolean interrupted = false;
        lock.lock();
        try {
            if (failure != null) {
                throw failure;
            }
            if (shutdownQueued) {
                throw new ClosedChannelException();
            }
            if (frame.type == Frames.SHUTDOWN) {
                shutdownQueued = true;
            }
            queue.add(frame);
            queuedBytes += frame.length();
            if (frame.type == Frames.MESSAGE && !stopped
                    && (writing || System.nanoTime() - lastWriteEnd < BURST_NANOS)) {
                wakeFlusher();
                while (queuedBytes > MAX_QUEUED_BYTES && !frame.done && failure == null) {
                    long left = deadlineNanos - System.nanoTime();
                    if (deadlineNanos != Long.MAX_VALUE && left <= 0) {
                        break; // over the limit but queued: it will be written
                    }
                    try {
                        progress.awaitNanos(deadlineNanos == Long.MAX_VALUE ? 1_000_000_000L : left);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (frame.done && frame.failure != null) {
                    throw frame.failure;
                }
                return true;
            }
            while (writing && !frame.done) {
                if (deadlineNanos == Long.MAX_VALUE) {
                    progress.awaitUninterruptibly();
                    continue;
                }
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0 && queue.remove(frame)) {
                    queuedBytes -= frame.length();
                    return false;
                }
                try {
                    // left <= 0 here means a leader already took the frame: wait for it to finish
                    progress.awaitNanos(Math.max(left, 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (frame.done) {
                if (frame.failure != null) {
                    throw frame.failure;
                }
                return true;
            }
            writing = true;
            batch = drain();
        } finally {
            lock.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        IOException error = writeOut(batch);
        if (error != null) {
            throw error;
        }
        return true;
    }

    /** Stops the flusher thread once it has written what is queued. Idempotent; never blocks. */
    public void stop() {
        lock.lock();
        try {
            stopped = true;
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for the flusher thread, if one was started, to end after {@link #stop()}.
     *
     * @return whether it has ended
     */
    public boolean awaitStopped(long deadlineNanos) throws InterruptedException {
        Thread t;
        lock.lock();
        try {
            t = flusher;
        } finally {
            lock.unlock();
        }
        if (t == null) {
            return true;
        }
        long left = deadlineNanos - System.nanoTime();
        if (left > 0) {
            java.util.concurrent.TimeUnit.NANOSECONDS.timedJoin(t, left);
        }
        return !t.isAlive();
    }

    /** Under the lock: takes every queued frame. */
    private List<Frame> drain() {
        List<Frame> batch = new ArrayList<>(queue);
        queue.clear();
        for (Frame f : batch) {
            queuedBytes -= f.length();
        }
        return batch;
    }

    /** Under the lock: makes sure the flusher thread runs and tells it there is work. */
    private void wakeFlusher() {
        if (flusher == null) {
            flusher = new Thread(this::flushLoop, "netrun-rpc-writer-" + name);
            flusher.setDaemon(true);
            flusher.start();
        }
        work.signal();
    }

    private void flushLoop() {
        while (true) {
            List<Frame> batch;
            lock.lock();
            try {
                while ((writing || queue.isEmpty()) && failure == null && !stopped) {
                    work.awaitUninterruptibly();
                }
                if (failure != null || queue.isEmpty() || writing) {
                    return; // failed, or stopped with nothing (ours) left to write
                }
                writing = true;
                batch = drain();
            } finally {
                lock.unlock();
            }
            writeOut(batch);
        }
    }

    /** Writes a batch taken by this thread as leader, then hands leadership back. */
    private IOException writeOut(List<Frame> batch) {
        IOException error = null;
        boolean wasInterrupted = Thread.interrupted();
        try {
            writeBatch(batch);
        } catch (IOException e) {
            error = e;
        } catch (RuntimeException | Error e) {
            error = new IOException("write failed: " + e, e);
        } finally {
            if (wasInterrupted) {
                Thread.currentThread().interrupt();
            }
        }

        lock.lock();
        try {
            for (Frame f : batch) {
                f.done = true;
                f.failure = error;
            }
            if (error != null) {
                failure = error;
                for (Frame f : queue) {
                    f.done = true;
                    f.failure = error;
                }
                queue.clear();
                queuedBytes = 0;
            }
            writing = false;
            lastWriteEnd = System.nanoTime();
            if (!queue.isEmpty() || error != null) {
                // frames queued in a burst meanwhile: the flusher takes them (or learns of the failure)
                if (flusher != null) {
                    work.signal();
                }
            }
            progress.signalAll();
        } finally {
            lock.unlock();
        }
        return error;
    }

    private void writeBatch(List<Frame> batch) throws IOException {
        ByteBuffer b = buffer;
        b.clear();
        for (Frame f : batch) {
            if (b.remaining() < Frames.MESSAGE_HEADER_BYTES) {
                flush(b);
            }
            b.putInt((int) f.length());
            b.put(f.type);
            if (f.type == Frames.MESSAGE) {
                b.putShort((short) f.key.length);
                put(b, f.key);
                put(b, f.data);
            }
        }
        flush(b);
    }

    private void put(ByteBuffer b, byte[] bytes) throws IOException {
        int off = 0;
        while (off < bytes.length) {
            if (!b.hasRemaining()) {
                flush(b);
            }
            int n = Math.min(b.remaining(), bytes.length - off);
            b.put(bytes, off, n);
            off += n;
        }
    }

    private void flush(ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            out.write(b);
        }
        b.clear();
    }
}
