package dev.netrun.rpc.internal;

import dev.netrun.rpc.Channel;
import dev.netrun.rpc.ChannelBrokenException;
import dev.netrun.rpc.ChannelClosedException;
import dev.netrun.rpc.Message;
import dev.netrun.rpc.RecvTimeoutException;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One end of an in-JVM channel: an unbounded inbox that the peer fills with {@link #deliver}, and a
 * {@link Sink} that takes what this end sends. {@code Channels.pair()} wires two of them together; the
 * in-process pools wire a worker's end straight into the pool so that nothing is copied or queued twice.
 *
 * <p>Not part of the public API: the package is {@code internal} and may change without notice.
 *
 * <p>Thread safety: all methods are safe from any thread. The inbox holds messages and, last, one terminal
 * signal (the peer closed or broke); a receiver that takes the signal puts it back so every other blocked
 * receiver wakes too. Nothing is ever queued behind a terminal signal, because the peer's end refuses to
 * send once it has closed.
 */
public final class LocalChannel implements Channel {

    /** Where the traffic of one end goes. Implementations must not block. */
    public interface Sink {
        /**
         * Delivers one message sent by this end.
         *
         * @throws ChannelClosedException if the receiving side is gone
         */
        void message(String key, Object data);

        /** This end was closed in an orderly way. Called once. */
        void closed();

        /** This end died unexpectedly. Called at most once, instead of {@link #closed()}. */
        void broken(Throwable cause);
    }

    private static final Object PEER_CLOSED = new Object();
    private static final Object LOCAL_CLOSED = new Object();

    private record Broken(Throwable cause) {
    }

    private final String name;
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /**
     * Held by {@code send} from its closed check until the message is handed to the sink, and by {@code close}
     * and {@code abort} while they end this side: a send racing a close either fails or lands before the
     * terminal signal, never behind it.
     */
    private final Object sendLock = new Object();
    private volatile Sink sink;
    /** null while the peer is alive; PEER_CLOSED or a Broken once its end arrived (read by send). */
    private volatile Object peerEnd;

    /**
     * @param name a name used in error messages, e.g. {@code "worker 3"}
     * @param sink where this end's messages go; may be set later with {@link #connect}
     */
    public LocalChannel(String name, Sink sink) {
        this.name = Objects.requireNonNull(name, "name");
        this.sink = sink;
    }

    /** Sets the sink of an end built without one. */
    public void connect(Sink sink) {
        this.sink = Objects.requireNonNull(sink, "sink");
    }

    /**
     * Puts a message from the peer into this end's inbox.
     *
     * @return {@code false} if this end is closed and the message was dropped
     */
    public boolean deliver(String key, Object data) {
        if (closed.get()) {
            return false;
        }
        inbox.offer(new Message(key, data));
        return true;
    }

    /** The peer closed: after the messages already in the inbox, receives throw ChannelClosedException. */
    public void deliverClose() {
        if (peerEnd == null) {
            peerEnd = PEER_CLOSED;
            inbox.offer(PEER_CLOSED);
        }
    }

    /** The peer died: after the messages already in the inbox, receives throw ChannelBrokenException. */
    public void deliverBroken(Throwable cause) {
        if (peerEnd == null) {
            Broken b = new Broken(cause);
            peerEnd = b;
            inbox.offer(b);
        }
    }

    /**
     * Ends this side abnormally, as if its owner died: the peer's receives throw
     * {@link ChannelBrokenException} once they have drained what was sent before. Idempotent.
     */
    public void abort(Throwable cause) {
        synchronized (sendLock) {
            if (closed.compareAndSet(false, true)) {
                inbox.clear();
                inbox.offer(LOCAL_CLOSED);
                Sink s = sink;
                if (s != null) {
                    s.broken(cause);
                }
            }
        }
    }

    @Override
    public void send(String key, Object data) {
        Objects.requireNonNull(key, "key");
        synchronized (sendLock) {
            if (closed.get()) {
                throw new ChannelClosedException("Cannot send on " + name + ": channel is closed");
            }
            Object end = peerEnd;
            if (end != null) {
                throw endException(end, "Cannot send on " + name);
            }
            sink.message(key, data);
        }
    }

    @Override
    public Message recv() {
        checkOpen();
        try {
            return unwrap(inbox.take());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChannelClosedException("Interrupted while receiving on " + name);
        }
    }

    @Override
    public Message recv(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        checkOpen();
        Object o;
        try {
            o = timeout.isNegative() || timeout.isZero()
                    ? inbox.poll()
                    : inbox.poll(saturatedNanos(timeout), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChannelClosedException("Interrupted while receiving on " + name);
        }
        if (o == null) {
            throw new RecvTimeoutException("No message on " + name + " within " + timeout.toMillis() + " ms");
        }
        return unwrap(o);
    }

    @Override
    public Optional<Message> tryRecv() {
        checkOpen();
        Object o = inbox.poll();
        return o == null ? Optional.empty() : Optional.of(unwrap(o));
    }

    @Override
    public void close() {
        synchronized (sendLock) {
            if (closed.compareAndSet(false, true)) {
                inbox.clear();
                inbox.offer(LOCAL_CLOSED); // wakes receivers blocked on this end
                Sink s = sink;
                if (s != null) {
                    s.closed();
                }
            }
        }
    }

    @Override
    public boolean isClosed() {
        return closed.get();
    }

    @Override
    public String toString() {
        return "LocalChannel[" + name + (closed.get() ? ", closed]" : "]");
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new ChannelClosedException("Channel " + name + " is closed");
        }
    }

    private Message unwrap(Object o) {
        if (o instanceof Message m) {
            return m;
        }
        inbox.offer(o); // a terminal signal: leave it for every other receiver
        if (o == LOCAL_CLOSED) {
            throw new ChannelClosedException("Channel " + name + " is closed");
        }
        throw endException(o, "Channel " + name);
    }

    private static RuntimeException endException(Object end, String what) {
        if (end instanceof Broken b) {
            return new ChannelBrokenException(what + ": peer vanished without closing", b.cause());
        }
        return new ChannelClosedException(what + ": peer closed the channel");
    }

    /** Converts a duration to nanoseconds, saturating instead of overflowing. */
    public static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }
}
