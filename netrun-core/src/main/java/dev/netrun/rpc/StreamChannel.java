package dev.netrun.rpc;

import dev.netrun.rpc.internal.FrameReader;
import dev.netrun.rpc.internal.FrameWriter;
import dev.netrun.rpc.internal.Frames;
import dev.netrun.rpc.internal.Inbox;
import dev.netrun.rpc.internal.LocalChannel;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link Channel} over a connected {@link SocketChannel}: loopback TCP or a Unix domain socket
 * ({@link java.net.UnixDomainSocketAddress}). Messages travel as length-prefixed binary frames; payloads are
 * encoded by a {@link Codec}. Both ends of a connection must be {@code StreamChannel}s with compatible
 * codecs. Built with {@link #builder(SocketChannel, Codec)}.
 *
 * <h2>Frame format</h2>
 * Integers are big-endian. {@code length} counts the bytes after itself.
 * <pre>
 * frame    = length:u32  type:u8  body
 * MESSAGE  (type 1): keyLength:u16  key:UTF-8[keyLength]  data:codec bytes[length - 3 - keyLength]
 * SHUTDOWN (type 2): empty; the sender closed its end and sends nothing more
 * </pre>
 * A length of zero or above {@linkplain Builder#maxFrameSize the limit} (default 64 MiB), an unknown type, a
 * key that does not fit its frame, or an end of stream inside a frame breaks the channel: receives throw
 * {@link ChannelBrokenException} naming the violation, e.g. {@code "frame of 2147483647 bytes exceeds the
 * limit of 67108864"}. No frame is ever allocated before its length is checked, and a body's array grows
 * only as its bytes arrive. An end of stream between frames without a SHUTDOWN is a peer that vanished
 * ({@code ChannelBrokenException}).
 *
 * <h2>Threads</h2>
 * Each channel owns one daemon reader thread, {@code netrun-rpc-reader-<name>}, that decodes frames into an
 * unbounded inbox (or hands them to a {@link Listener}). While closing, a second daemon thread,
 * {@code netrun-rpc-closer-<name>}, runs the close handshake described below. The first burst of sends starts
 * a third, {@code netrun-rpc-writer-<name>}, that writes queued frames in batches. All end within the close
 * timeout after {@link #close()}, or as soon as the connection ends; no thread outlives the channel
 * ({@link #awaitTermination} waits for them).
 *
 * <p><b>Sending.</b> {@link #send} encodes on the caller's thread, outside any lock, then writes the frame.
 * A send on a quiet channel writes at once on the caller's thread; a send in a burst (while a write is under
 * way, or within tens of microseconds of the last one) is queued for the writer thread, which writes all
 * queued frames with one system call, and returns at once: if such a frame later fails to be written, the
 * connection is broken and later sends and receives report it. Otherwise concurrent senders are coalesced: one of them writes every frame queued so far with one system call while
 * the others wait for their frame to be written; a lone sender writes at once. {@code send} returns when
 * its frame is in the socket's buffer: it blocks only while that buffer is full (the peer is not reading
 * fast enough). Messages sent by one thread arrive in the order it sent them. The caller's interrupt status
 * is left alone, but note that interrupting a thread while it is blocked writing to a {@code SocketChannel}
 * closes the socket (a JDK rule), which breaks the channel.
 *
 * <p><b>Closing.</b> {@link #close()} never blocks. It wakes local receivers, then (on the closer thread)
 * writes a SHUTDOWN frame behind every message already sent, shuts down output, and keeps reading, and
 * discarding, until the peer's own end of stream, so that no unread data makes the socket reset the
 * connection; after the close timeout (default 2 s) it closes the socket anyway. A peer that receives the
 * SHUTDOWN delivers the messages before it, then its receives throw {@link ChannelClosedException}, its
 * sends throw {@code ChannelClosedException}, and it closes its socket and stops its reader.
 *
 * <p><b>Data that cannot be decoded.</b> If a frame is intact but its data cannot be decoded (for instance a
 * class refused by the codec's filter), the channel stays usable: the receive that would have returned the
 * message throws a {@link CodecException} naming the key and the reason instead, and the next receive
 * returns the next message. A value that cannot be encoded makes {@code send} throw {@code CodecException}
 * and nothing is sent.
 *
 * <p><b>Socket ownership.</b> The channel owns the socket from {@link Builder#open()} on: it switches it to
 * blocking mode, sets {@code TCP_NODELAY} on TCP, and closes it when the channel ends. Closing the socket
 * directly instead of the channel breaks both ends ({@code ChannelBrokenException}).
 *
 * <p><b>Memory.</b> The inbox is unbounded, like that of {@link Channels#pair()}: a receiver that falls
 * behind holds the decoded messages in memory. The reader never stops reading, so two ends that both send
 * without receiving cannot deadlock on full socket buffers.
 *
 * <p><b>Thread safety.</b> All methods are safe from any thread. A received message is a decoded copy; the
 * reader thread's decoding of it happens-before the return of the receive (or the listener call) that hands
 * it over.
 */
public final class StreamChannel implements Channel {

    /** The default limit of one frame: 64 MiB. */
    public static final int DEFAULT_MAX_FRAME_SIZE = 64 << 20;
    /** The default bound on the close handshake: 2 seconds. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(2);

    /** The logger, looked up on first use: finding the logging backend costs a child JVM ~20 ms at start. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(StreamChannel.class.getName());
    }
    private static final int BUFFER_SIZE = 64 * 1024;
    /** Deserializing deeply nested values recurses; give the reader room for the codec's depth limit. */
    private static final long READER_STACK_SIZE = 4L << 20;
    private static final int MIN_FRAME_SIZE = 16;

    /**
     * Receives a channel's traffic push-style on its reader thread, instead of through {@link #recv()}. For
     * owners (such as a pool) that route messages themselves and want to save a thread hop.
     *
     * <p>All three methods are called on the channel's reader thread, one at a time, in frame order; they
     * should return quickly, because the channel reads nothing while one runs. A {@code RuntimeException}
     * thrown by {@code onMessage} or {@code onUndecodable} is logged and the channel goes on; an {@code Error}
     * breaks the channel. A listener may call {@link StreamChannel#send} and {@link StreamChannel#close()}, but
     * must not wait for {@link StreamChannel#awaitTermination}, which waits for this very thread.
     */
    public interface Listener {
        /**
         * A message arrived.
         *
         * @param message the message
         */
        void onMessage(Message message);

        /**
         * A message arrived whose data could not be decoded; the channel goes on.
         *
         * @param key     the message's key
         * @param failure why, naming the key
         */
        void onUndecodable(String key, CodecException failure);

        /**
         * The channel ended; called exactly once, after the last other call, as the reader thread's last act.
         *
         * @param reason a {@link ChannelClosedException} if the peer closed (after its last message) or this
         *               end was closed; a {@link ChannelBrokenException} if the peer vanished or sent bytes
         *               that are not valid frames
         */
        void onEnd(RpcException reason);
    }

    /**
     * Creates a builder for a channel over {@code socket}.
     *
     * @param socket a connected socket; the channel takes ownership of it
     * @param codec  encodes and decodes payloads
     * @return a new builder
     * @throws NullPointerException if an argument is {@code null}
     */
    public static Builder builder(SocketChannel socket, Codec codec) {
        return new Builder(socket, codec);
    }

    /**
     * Configures and opens a {@link StreamChannel}. Not thread-safe; {@link #open()} may be called once.
     */
    public static final class Builder {
        private final SocketChannel socket;
        private final Codec codec;
        private String name;
        private int maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
        private Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
        private Listener listener;
        private boolean opened;

        private Builder(SocketChannel socket, Codec codec) {
            this.socket = Objects.requireNonNull(socket, "socket");
            this.codec = Objects.requireNonNull(codec, "codec");
        }

        /**
         * @param name the channel's name, used in thread names and messages; default: the socket's remote
         *             address
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is empty
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty()) {
                throw new IllegalArgumentException("name is empty");
            }
            this.name = name;
            return this;
        }

        /**
         * @param maxFrameSize the largest frame (its length prefix) this end sends or accepts; the peer should
         *                     use the same. Default {@link #DEFAULT_MAX_FRAME_SIZE}
         * @return this builder
         * @throws IllegalArgumentException if {@code maxFrameSize < 16}
         */
        public Builder maxFrameSize(int maxFrameSize) {
            if (maxFrameSize < MIN_FRAME_SIZE) {
                throw new IllegalArgumentException("maxFrameSize < " + MIN_FRAME_SIZE + ": " + maxFrameSize);
            }
            this.maxFrameSize = maxFrameSize;
            return this;
        }

        /**
         * @param closeTimeout how long the close handshake may wait for pending writes and for the peer's end
         *                     of stream before the socket is closed anyway; default {@link #DEFAULT_CLOSE_TIMEOUT}
         * @return this builder
         * @throws IllegalArgumentException if it is negative
         */
        public Builder closeTimeout(Duration closeTimeout) {
            Objects.requireNonNull(closeTimeout, "closeTimeout");
            if (closeTimeout.isNegative()) {
                throw new IllegalArgumentException("closeTimeout < 0: " + closeTimeout);
            }
            this.closeTimeout = closeTimeout;
            return this;
        }

        /**
         * Delivers incoming traffic to {@code listener} on the reader thread instead of the inbox; the
         * channel's receive methods then throw {@link IllegalStateException}. The channel never shuts down or
         * otherwise manages the listener.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder listener(Listener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Opens the channel: takes ownership of the socket, switches it to blocking mode and starts the
         * reader thread. Does not block.
         *
         * @return the open channel
         * @throws IllegalStateException    if this builder already opened a channel
         * @throws IllegalArgumentException if the socket is not open and connected
         * @throws ChannelBrokenException   if the socket cannot be configured
         */
        public StreamChannel open() {
            if (opened) {
                throw new IllegalStateException("this builder already opened a channel");
            }
            if (!socket.isOpen() || !socket.isConnected()) {
                throw new IllegalArgumentException("socket is not open and connected: " + socket);
            }
            opened = true;
            String n = name;
            if (n == null) {
                try {
                    n = String.valueOf(socket.getRemoteAddress());
                } catch (IOException e) {
                    n = "socket";
                }
            }
            try {
                socket.configureBlocking(true);
                // asking for supportedOptions() would load the platform's extended socket options: slow at start-up
                if (!(socket.getLocalAddress() instanceof UnixDomainSocketAddress)) {
                    socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
                }
            } catch (IOException e) {
                closeQuietly(socket);
                throw new ChannelBrokenException("Cannot open channel " + n + ": " + e, e);
            }
            StreamChannel ch = new StreamChannel(this, n);
            ch.reader.start();
            return ch;
        }
    }

    private final String name;
    private final SocketChannel socket;
    private final Codec codec;
    private final int maxFrameSize;
    private final long closeTimeoutNanos;
    private final Listener listener;
    private final Inbox inbox;
    private final FrameWriter writer;
    private final Thread reader;
    /** Counted down as the reader thread's last act (after onEnd). */
    private final CountDownLatch readerDone = new CountDownLatch(1);
    /** Whether the connection ended abnormally. Written by the reader thread. */
    private volatile boolean broken;
    /** The closer thread, if close() started one. */
    private volatile Thread closer;
    private final AtomicBoolean socketClosed = new AtomicBoolean();

    private StreamChannel(Builder b, String name) {
        this.name = name;
        this.socket = b.socket;
        this.codec = b.codec;
        this.maxFrameSize = b.maxFrameSize;
        this.closeTimeoutNanos = LocalChannel.saturatedNanos(b.closeTimeout);
        this.listener = b.listener;
        this.inbox = new Inbox(name);
        this.writer = new FrameWriter(socket, BUFFER_SIZE, name);
        this.reader = new Thread(null, this::readLoop, "netrun-rpc-reader-" + name, READER_STACK_SIZE, false);
        this.reader.setDaemon(true);
    }

    /** @return the channel's name */
    public String name() {
        return name;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Encodes {@code data} with the codec on the calling thread, then writes one frame. Blocks while the
     * socket's send buffer is full; never waits for the peer to receive.
     *
     * @throws CodecException           if {@code data} cannot be encoded; nothing was sent
     * @throws IllegalArgumentException if the key is longer than 65535 UTF-8 bytes, or the frame would exceed
     *                                  the frame limit; nothing was sent
     * @throws NullPointerException     if {@code key} is {@code null}
     * @throws ChannelClosedException   if this end, or the peer, is closed
     * @throws ChannelBrokenException   if the peer vanished
     */
    @Override
    public void send(String key, Object data) {
        Objects.requireNonNull(key, "key");
        inbox.checkCanSend("Cannot send on " + name);
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        if (k.length > Frames.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key of " + k.length + " UTF-8 bytes exceeds " + Frames.MAX_KEY_BYTES);
        }
        byte[] d = codec.encode(data);
        long length = Frames.messageLength(k.length, d.length);
        if (length > maxFrameSize) {
            throw new IllegalArgumentException("message '" + key + "' needs a frame of " + length
                    + " bytes, which exceeds the limit of " + maxFrameSize);
        }
        try {
            writer.write(FrameWriter.message(k, d));
        } catch (IOException e) {
            throw sendFailure(e);
        }
    }

    /**
     * {@inheritDoc}
     *
     * @throws CodecException         if the next message's data could not be decoded; that message is consumed
     *                                and the channel stays usable
     * @throws IllegalStateException  if the channel was built with a {@link Listener}
     * @throws ChannelClosedException if this end is closed, or the peer closed after its last message
     * @throws ChannelBrokenException if the peer vanished, or sent bytes that are not valid frames
     */
    @Override
    public Message recv() {
        checkNoListener();
        return inbox.take();
    }

    /**
     * {@inheritDoc}
     *
     * @throws CodecException         if the next message's data could not be decoded; that message is consumed
     *                                and the channel stays usable
     * @throws IllegalStateException  if the channel was built with a {@link Listener}
     * @throws ChannelClosedException if this end is closed, or the peer closed after its last message
     * @throws ChannelBrokenException if the peer vanished, or sent bytes that are not valid frames
     * @throws RecvTimeoutException   if no message arrived in time; nothing is consumed and the channel stays
     *                                usable
     * @throws NullPointerException   if {@code timeout} is {@code null}
     */
    @Override
    public Message recv(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        checkNoListener();
        return inbox.poll(timeout);
    }

    /**
     * {@inheritDoc}
     *
     * @throws CodecException         if the next message's data could not be decoded; that message is consumed
     *                                and the channel stays usable
     * @throws IllegalStateException  if the channel was built with a {@link Listener}
     * @throws ChannelClosedException if this end is closed, or the peer closed after its last message
     * @throws ChannelBrokenException if the peer vanished, or sent bytes that are not valid frames
     */
    @Override
    public Optional<Message> tryRecv() {
        checkNoListener();
        return inbox.tryTake();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Returns at once; the SHUTDOWN frame is written, and the socket closed, by a short-lived closer thread
     * within the close timeout (see the class description). Use {@link #awaitTermination} to wait for it.
     */
    @Override
    public void close() {
        if (!inbox.close()) {
            return;
        }
        Log.LOG.log(System.Logger.Level.DEBUG, "closing channel {0}", name);
        if (readerDone.getCount() == 0) {
            closeSocket(); // the connection already ended: nothing to tell the peer
            return;
        }
        Thread t = new Thread(this::closeSequence, "netrun-rpc-closer-" + name);
        t.setDaemon(true);
        closer = t;
        t.start();
    }

    /** {@return whether {@link #close()} was called on this end or the connection broke} */
    @Override
    public boolean isClosed() {
        return inbox.isClosed() || broken;
    }

    /**
     * Waits until the channel's threads have ended (died): the reader, which ends after the connection ended
     * and after the {@link Listener#onEnd} call, the closer, if {@link #close()} started one, and the writer,
     * if a burst started one. Returns at once
     * if they have. Must not be called by a {@link Listener}.
     *
     * @param timeout the longest time to wait
     * @return {@code true} if the threads ended, {@code false} if the timeout elapsed first
     * @throws InterruptedException if interrupted while waiting
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, LocalChannel.saturatedNanos(timeout));
        return join(reader, deadline) && join(closer, deadline) && writer.awaitStopped(deadline);
    }

    private static boolean join(Thread t, long deadline) throws InterruptedException {
        if (t == null) {
            return true;
        }
        long left = deadline - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.timedJoin(t, left);
        }
        return !t.isAlive();
    }

    @Override
    public String toString() {
        return "StreamChannel[" + name + (broken ? ", broken]" : inbox.isClosed() ? ", closed]" : "]");
    }

    private void checkNoListener() {
        if (listener != null) {
            throw new IllegalStateException("channel " + name + " delivers its messages to a listener");
        }
    }

    /**
     * Maps a failed write. The connection is gone, but why (the peer's SHUTDOWN may still sit unread in our
     * receive buffer, or the peer died) is known only once the reader reaches the end of the stream; so wait
     * for it, bounded by the close timeout, then report the peer's end.
     */
    private RuntimeException sendFailure(IOException e) {
        String what = "Cannot send on " + name;
        if (inbox.isClosed()) {
            return new ChannelClosedException(what + ": channel is closed");
        }
        if (Thread.currentThread() != reader) {
            try {
                if (!readerDone.await(closeTimeoutNanos, TimeUnit.NANOSECONDS)) {
                    closeSocket(); // the reader still reads from a socket we cannot write to: end it
                    readerDone.await(closeTimeoutNanos, TimeUnit.NANOSECONDS);
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
        RuntimeException end = inbox.peerEndException(what);
        if (end != null) {
            return end;
        }
        if (inbox.isClosed()) {
            return new ChannelClosedException(what + ": channel is closed");
        }
        return new ChannelBrokenException(what + ": write failed (" + e + ")", e);
    }

    /** Runs on the reader thread for the channel's whole life. */
    private void readLoop() {
        RpcException end = null;
        FrameReader frames = new FrameReader(socket, BUFFER_SIZE, maxFrameSize);
        try {
            while (true) {
                int type = frames.next();
                if (type == Frames.MESSAGE) {
                    if (inbox.isClosed()) {
                        frames.skipBody(); // closing: drain until the peer's end, deliver nothing
                    } else {
                        deliver(frames.readBody());
                    }
                } else if (type == Frames.SHUTDOWN) {
                    end = endClosed("peer closed the channel");
                    break;
                } else { // EOF between frames
                    end = inbox.isClosed() ? endClosed(null)
                            : endBroken("peer vanished without closing (end of stream without SHUTDOWN)", null);
                    break;
                }
            }
        } catch (FrameReader.MalformedFrameException e) {
            end = endBroken("malformed frame from peer: " + e.getMessage(), e);
        } catch (EOFException e) {
            end = endBroken("peer vanished without closing (" + e.getMessage() + ")", e);
        } catch (ClosedChannelException e) { // includes AsynchronousCloseException
            end = inbox.isClosed() ? endClosed(null) : endBroken("the socket was closed under the channel", e);
        } catch (IOException e) {
            end = endBroken("peer vanished without closing (" + e + ")", e);
        } catch (Throwable t) { // an Error while decoding, e.g. OutOfMemoryError: fail loudly, end cleanly
            Log.LOG.log(System.Logger.Level.ERROR, "reader of channel " + name + " failed", t);
            end = endBroken("reader failed: " + t, t);
        } finally {
            closeSocket();
            if (listener != null) {
                try {
                    listener.onEnd(end != null ? end : new ChannelClosedException("Channel " + name + " ended"));
                } catch (RuntimeException | Error e) {
                    Log.LOG.log(System.Logger.Level.WARNING, "listener of channel " + name + " failed in onEnd", e);
                }
            }
            readerDone.countDown();
        }
    }

    private void deliver(byte[] body) throws FrameReader.MalformedFrameException {
        int keyLength = ((body[0] & 0xFF) << 8) | (body[1] & 0xFF);
        if (2 + keyLength > body.length) {
            throw new FrameReader.MalformedFrameException("key of " + keyLength + " bytes does not fit in a "
                    + (body.length + 1) + "-byte frame");
        }
        String key = new String(body, 2, keyLength, StandardCharsets.UTF_8);
        int offset = 2 + keyLength;
        Object data;
        try {
            data = codec.decode(body, offset, body.length - offset);
        } catch (RuntimeException e) {
            CodecException failure = new CodecException("Cannot decode the data of message '" + key + "' on "
                    + name + ": " + e.getMessage(), e);
            if (listener == null) {
                inbox.offerFailure(failure);
            } else {
                try {
                    listener.onUndecodable(key, failure);
                } catch (RuntimeException le) {
                    Log.LOG.log(System.Logger.Level.WARNING, "listener of channel " + name + " failed in onUndecodable", le);
                }
            }
            return;
        }
        Message m = new Message(key, data);
        if (listener == null) {
            inbox.offer(m);
        } else if (!inbox.isClosed()) {
            try {
                listener.onMessage(m);
            } catch (RuntimeException le) {
                Log.LOG.log(System.Logger.Level.WARNING, "listener of channel " + name + " failed in onMessage", le);
            }
        }
    }

    private RpcException endClosed(String peerReason) {
        if (peerReason != null && !inbox.isClosed()) {
            inbox.peerClosed();
            Log.LOG.log(System.Logger.Level.DEBUG, "channel {0}: {1}", name, peerReason);
            return new ChannelClosedException("Channel " + name + ": " + peerReason);
        }
        return new ChannelClosedException("Channel " + name + " is closed");
    }

    private RpcException endBroken(String reason, Throwable cause) {
        if (inbox.isClosed()) {
            // We were closing anyway; how the peer went away no longer matters.
            return new ChannelClosedException("Channel " + name + " is closed");
        }
        broken = true;
        inbox.peerBroken(reason, cause);
        Log.LOG.log(System.Logger.Level.DEBUG, "channel {0} broke: {1}", name, reason);
        return new ChannelBrokenException("Channel " + name + ": " + reason, cause);
    }

    /** Runs on the closer thread: the close handshake, bounded by the close timeout. */
    private void closeSequence() {
        long deadline = System.nanoTime() + closeTimeoutNanos;
        try {
            if (writer.write(FrameWriter.shutdown(), deadline)) {
                socket.shutdownOutput();
            }
        } catch (IOException e) {
            // the connection is already gone; the reader sees it too
        }
        try {
            if (!readerDone.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                Log.LOG.log(System.Logger.Level.DEBUG, "channel {0}: peer did not end its stream within the close"
                        + " timeout; closing the socket", name);
            }
            closeSocket();
            readerDone.await(Math.max(closeTimeoutNanos, TimeUnit.SECONDS.toNanos(1)), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            closeSocket();
        }
    }

    private void closeSocket() {
        writer.stop();
        if (socketClosed.compareAndSet(false, true)) {
            closeQuietly(socket);
        }
    }

    private static void closeQuietly(SocketChannel s) {
        try {
            s.close();
        } catch (IOException e) {
            Log.LOG.log(System.Logger.Level.DEBUG, "closing socket failed", e);
        }
    }
}
