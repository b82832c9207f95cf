package dev.netrun.rpc.internal;

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
import java.util.concurrent.atomic.AtomicReference;

/**
 * The receiving half of a channel end: an unbounded queue of messages followed, last, by at most one
 * terminal signal, plus this end's own closed flag. Shared by {@link LocalChannel} and
 * {@link dev.netrun.rpc.StreamChannel} so that both implement the {@link dev.netrun.rpc.Channel} receive
 * contract with the same code.
 *
 * <p>Not part of the public API: the package is {@code internal} and may change without notice.
 *
 * <p><b>Protocol.</b> A producer (the peer, or a reader thread) {@link #offer}s messages, then signals the
 * end of the stream once, with {@link #peerClosed()} or {@link #peerBroken}; the first signal wins and
 * later ones are ignored. A receiver that takes a terminal signal puts it back, so every other receiver
 * blocked on the queue wakes and sees it too. {@link #close()} (this end closed) drops everything queued
 * and queues its own terminal. Producers must not offer messages after their terminal signal; nothing is
 * ever delivered behind a terminal because {@link #offer} refuses once this end is closed and producers
 * stop after signalling the peer's end.
 *
 * <p>A producer may also queue a one-shot {@linkplain #offerFailure failure}: the receiver that takes it
 * throws it once (it is not put back), then the channel goes on. {@code StreamChannel} uses this for a
 * message whose frame was intact but whose data could not be decoded.
 *
 * <p><b>Thread safety.</b> All methods are safe from any thread.
 */
public final class Inbox {

    private static final Object LOCAL_CLOSED = new Object();
    private static final Object PEER_CLOSED = new Object();

    private record Broken(String reason, Throwable cause) {
    }

    private static final String VANISHED = "peer vanished without closing";

    private record Failure(RuntimeException exception) {
    }

    private final String name;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** null while the peer is alive; PEER_CLOSED or a Broken once its end arrived. First writer wins. */
    private final AtomicReference<Object> peerEnd = new AtomicReference<>();

    /** @param name the channel's name, used in exception messages */
    public Inbox(String name) {
        this.name = Objects.requireNonNull(name, "name");
    }

    /** @return the channel name given at construction */
    public String name() {
        return name;
    }

    /**
     * Queues a message from the peer.
     *
     * @param message the message
     * @return {@code false} if this end is closed and the message was dropped
     */
    public boolean offer(Message message) {
        if (closed.get()) {
            return false;
        }
        queue.offer(message);
        return true;
    }

    /**
     * Queues an exception that the receiver taking it throws once, in the place of one message.
     *
     * @param failure the exception to throw
     * @return {@code false} if this end is closed and the failure was dropped
     */
    public boolean offerFailure(RuntimeException failure) {
        Objects.requireNonNull(failure, "failure");
        if (closed.get()) {
            return false;
        }
        queue.offer(new Failure(failure));
        return true;
    }

    /**
     * The peer closed in an orderly way: after the messages already queued, receives throw
     * {@link ChannelClosedException}. Ignored if the peer's end was already signalled.
     *
     * @return whether this call recorded the peer's end (it was the first signal)
     */
    public boolean peerClosed() {
        if (peerEnd.compareAndSet(null, PEER_CLOSED)) {
            queue.offer(PEER_CLOSED);
            return true;
        }
        return false;
    }

    /**
     * The peer vanished: after the messages already queued, receives throw {@link ChannelBrokenException}
     * with {@code cause}. Ignored if the peer's end was already signalled.
     *
     * @param cause the underlying failure, or {@code null}
     * @return whether this call recorded the peer's end (it was the first signal)
     */
    public boolean peerBroken(Throwable cause) {
        return peerBroken(VANISHED, cause);
    }

    /**
     * As {@link #peerBroken(Throwable)}, with the reason that exception messages give instead of
     * {@code "peer vanished without closing"}.
     *
     * @param reason what broke, e.g. {@code "malformed frame: ..."}
     * @param cause  the underlying failure, or {@code null}
     * @return whether this call recorded the peer's end
     */
    public boolean peerBroken(String reason, Throwable cause) {
        Broken b = new Broken(Objects.requireNonNull(reason, "reason"), cause);
        if (peerEnd.compareAndSet(null, b)) {
            queue.offer(b);
            return true;
        }
        return false;
    }

    /** @return whether the peer's end (closed or broken) has been signalled */
    public boolean peerEnded() {
        return peerEnd.get() != null;
    }

    /** @return whether the peer's end was signalled as broken */
    public boolean peerBroken() {
        return peerEnd.get() instanceof Broken;
    }

    /**
     * Closes this end: drops every queued message and wakes blocked receivers, which throw
     * {@link ChannelClosedException}. Idempotent.
     *
     * @return {@code true} for the call that closed it, {@code false} if it was already closed
     */
    public boolean close() {
        if (closed.compareAndSet(false, true)) {
            queue.clear();
            queue.offer(LOCAL_CLOSED); // wakes receivers blocked on this end
            return true;
        }
        return false;
    }

    /** @return whether {@link #close()} was called */
    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Throws the exception a send must throw now, if any: {@link ChannelClosedException} if this end or the
     * peer is closed, {@link ChannelBrokenException} if the peer vanished.
     *
     * @param what the start of the message, e.g. {@code "Cannot send on left"}
     */
    public void checkCanSend(String what) {
        if (closed.get()) {
            throw new ChannelClosedException(what + ": channel is closed");
        }
        Object end = peerEnd.get();
        if (end != null) {
            throw endException(end, what);
        }
    }

    /**
     * The exception describing the peer's end, or {@code null} while the peer is alive.
     *
     * @param what the start of the message
     * @return the exception, or {@code null}
     */
    public RuntimeException peerEndException(String what) {
        Object end = peerEnd.get();
        return end == null ? null : endException(end, what);
    }

    /** Throws {@link ChannelClosedException} if this end is closed. */
    public void checkOpen() {
        if (closed.get()) {
            throw new ChannelClosedException("Channel " + name + " is closed");
        }
    }

    /**
     * Takes the next message, blocking until one arrives or the channel ends.
     *
     * @return the message
     * @throws ChannelClosedException if this end is closed, the peer closed, or the thread was interrupted
     *                                (its interrupt status is set again)
     * @throws ChannelBrokenException if the peer vanished
     */
    public Message take() {
        checkOpen();
        try {
            return unwrap(queue.take());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChannelClosedException("Interrupted while receiving on " + name);
        }
    }

    /**
     * Takes the next message, waiting at most {@code timeout} (zero or negative: no wait).
     *
     * @param timeout the longest wait
     * @return the message
     * @throws RecvTimeoutException   if nothing arrived in time
     * @throws ChannelClosedException as {@link #take()}
     * @throws ChannelBrokenException as {@link #take()}
     */
    public Message poll(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        checkOpen();
        Object o;
        try {
            o = timeout.isNegative() || timeout.isZero()
                    ? queue.poll()
                    : queue.poll(LocalChannel.saturatedNanos(timeout), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChannelClosedException("Interrupted while receiving on " + name);
        }
        if (o == null) {
            throw new RecvTimeoutException("No message on " + name + " within " + timeout.toMillis() + " ms");
        }
        return unwrap(o);
    }

    /**
     * Takes the next message if one is waiting; never blocks.
     *
     * @return the message, or empty
     * @throws ChannelClosedException as {@link #take()}
     * @throws ChannelBrokenException as {@link #take()}
     */
    public Optional<Message> tryTake() {
        checkOpen();
        Object o = queue.poll();
        return o == null ? Optional.empty() : Optional.of(unwrap(o));
    }

    private Message unwrap(Object o) {
        if (o instanceof Message m) {
            return m;
        }
        if (o instanceof Failure f) {
            throw f.exception(); // one-shot: not put back
        }
        queue.offer(o); // a terminal signal: leave it for every other receiver
        if (o == LOCAL_CLOSED) {
            throw new ChannelClosedException("Channel " + name + " is closed");
        }
        throw endException(o, "Channel " + name);
    }

    private static RuntimeException endException(Object end, String what) {
        if (end instanceof Broken b) {
            return new ChannelBrokenException(what + ": " + b.reason(), b.cause());
        }
        return new ChannelClosedException(what + ": peer closed the channel");
    }
}
