package dev.netrun.rpc.internal;

import dev.netrun.rpc.Channel;
import dev.netrun.rpc.ChannelBrokenException;
import dev.netrun.rpc.ChannelClosedException;
import dev.netrun.rpc.Message;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * One end of an in-JVM channel: an unbounded inbox that the peer fills with {@link #deliver}, and a
 * {@link Sink} that takes what this end sends. {@code Channels.pair()} wires two of them together; the
 * in-process pools wire a worker's end straight into the pool so that nothing is copied or queued twice.
 *
 * <p>Not part of the public API: the package is {@code internal} and may change without notice.
 *
 * <p>Thread safety: all methods are safe from any thread. The receive side is an {@link Inbox} (shared with
 * {@code StreamChannel}): messages and, last, one terminal signal (the peer closed or broke); a receiver that
 * takes the signal puts it back so every other blocked receiver wakes too. Nothing is ever queued behind a
 * terminal signal, because the peer's end refuses to send once it has closed.
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

    private final String name;
    private final Inbox inbox;
    /**
     * Held by {@code send} from its closed check until the message is handed to the sink, and by {@code close}
     * and {@code abort} while they end this side: a send racing a close either fails or lands before the
     * terminal signal, never behind it.
     */
    private final Object sendLock = new Object();
    private volatile Sink sink;

    /**
     * @param name a name used in error messages, e.g. {@code "worker 3"}
     * @param sink where this end's messages go; may be set later with {@link #connect}
     */
    public LocalChannel(String name, Sink sink) {
        this.name = Objects.requireNonNull(name, "name");
        this.inbox = new Inbox(name);
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
        return inbox.offer(new Message(key, data));
    }

    /** The peer closed: after the messages already in the inbox, receives throw ChannelClosedException. */
    public void deliverClose() {
        inbox.peerClosed();
    }

    /** The peer died: after the messages already in the inbox, receives throw ChannelBrokenException. */
    public void deliverBroken(Throwable cause) {
        inbox.peerBroken(cause);
    }

    /**
     * Ends this side abnormally, as if its owner died: the peer's receives throw
     * {@link ChannelBrokenException} once they have drained what was sent before. Idempotent.
     */
    public void abort(Throwable cause) {
        synchronized (sendLock) {
            if (inbox.close()) {
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
            inbox.checkCanSend("Cannot send on " + name);
            sink.message(key, data);
        }
    }

    @Override
    public Message recv() {
        return inbox.take();
    }

    @Override
    public Message recv(Duration timeout) {
        return inbox.poll(timeout);
    }

    @Override
    public Optional<Message> tryRecv() {
        return inbox.tryTake();
    }

    @Override
    public void close() {
        synchronized (sendLock) {
            if (inbox.close()) {
                Sink s = sink;
                if (s != null) {
                    s.closed();
                }
            }
        }
    }

    @Override
    public boolean isClosed() {
        return inbox.isClosed();
    }

    @Override
    public String toString() {
        return "LocalChannel[" + name + (inbox.isClosed() ? ", closed]" : "]");
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
