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

    private final WritableByteChannel out;
    /** Only the leader touches it. */
    private final ByteBuffer buffer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition progress = lock.newCondition();
    /** Frames waiting for a leader. Guarded by lock. */
    private final ArrayDeque<Frame> queue = new ArrayDeque<>();
    /** Whether a leader is writing. Guarded by lock. */
    private boolean writing;
    /** The first write failure; sticky. Guarded by lock. */
    private IOException failure;
    /** Whether a SHUTDOWN frame was queued. Guarded by lock. */
    private boolean shutdownQueued;

    /**
     * @param out        where frames go; in blocking mode
     * @param bufferSize the size of the direct write buffer
     */
    public FrameWriter(WritableByteChannel out, int bufferSize) {
        this.out = out;
        this.buffer = ByteBuffer.allocateDirect(bufferSize);
    }

    /**
     * Writes a frame, blocking until it is in the channel. Safe from any thread.
     *
     * @param frame the frame
     * @throws IOException            if the write failed, or an earlier one did
     * @throws ClosedChannelException if a SHUTDOWN frame was written before
     */
    public void write(Frame frame) throws IOException {
        write(frame, Long.MAX_VALUE);
    }

    /**
     * Writes a frame, waiting for other senders at most until {@code deadlineNanos} (a {@link System#nanoTime()}
     * value, or {@code Long.MAX_VALUE} for no limit). Once this thread is writing, the write itself is not
     * limited: the caller closes the channel to stop it. Waiting is not interruptible; the interrupt status is
     * kept.
     *
     * @param frame         the frame
     * @param deadlineNanos when to give up waiting for other senders
     * @return {@code true} if the frame was written, {@code false} if the deadline passed first and the frame
     *         was withdrawn unwritten
     * @throws IOException as {@link #write(Frame)}
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
            while (writing && !frame.done) {
                if (deadlineNanos == Long.MAX_VALUE) {
                    progress.awaitUninterruptibly();
                    continue;
                }
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0 && queue.remove(frame)) {
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
            batch = new ArrayList<>(queue);
            queue.clear();
        } finally {
            lock.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

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
            }
            writing = false;
            progress.signalAll();
        } finally {
            lock.unlock();
        }
        if (error != null) {
            throw error;
        }
        return true;
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
