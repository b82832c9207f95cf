package dev.netrun.rpc;

import java.time.Duration;
import java.util.Optional;

/**
 * A bidirectional, ordered stream of {@link Message}s between two ends.
 *
 * <p><b>Thread safety.</b> Every method may be called from any thread; several threads may send and receive
 * at once. Messages sent by one thread arrive in the order that thread sent them.
 *
 * <p><b>Lifecycle.</b> {@link #close()} sends a shutdown signal to the peer behind every message already
 * sent: the peer receives those messages first, then its receives throw {@link ChannelClosedException}.
 * After {@code close()}, every operation on this end throws {@code ChannelClosedException}; messages not yet
 * received are dropped. A peer that vanishes without closing (a process killed, a socket cut) makes this
 * end's receives throw {@link ChannelBrokenException} instead.
 *
 * <p><b>Happens-before.</b> Actions of a thread before {@code send} happen-before the receiving thread's
 * actions after the matching {@code recv} returns.
 */
public interface Channel extends AutoCloseable {

    /**
     * Sends a message to the peer. Never blocks for the peer to receive it.
     *
     * @param key  the message key, not {@code null}; keys beginning with {@code "__"} are reserved
     * @param data the payload, may be {@code null}; channels that cross a process boundary require it to be
     *             serializable by their codec
     * @throws NullPointerException   if {@code key} is {@code null}
     * @throws ChannelClosedException if this end, or the peer, is closed
     * @throws ChannelBrokenException if the peer vanished
     */
    void send(String key, Object data);

    /**
     * Receives the next message, blocking until one arrives or the channel ends. Interrupting the waiting
     * thread makes this method throw {@link ChannelClosedException} with the interrupt status set again.
     *
     * @return the next message
     * @throws ChannelClosedException if this end is closed, or the peer closed after its last message
     * @throws ChannelBrokenException if the peer vanished
     */
    Message recv();

    /**
     * Receives the next message, waiting at most {@code timeout}.
     *
     * @param timeout the longest time to wait; zero or negative means do not wait
     * @return the next message
     * @throws RecvTimeoutException   if no message arrived in time; nothing is consumed and the channel stays
     *                                usable
     * @throws ChannelClosedException if this end is closed, or the peer closed after its last message
     * @throws ChannelBrokenException if the peer vanished
     * @throws NullPointerException   if {@code timeout} is {@code null}
     */
    Message recv(Duration timeout);

    /**
     * Receives the next message if one is already waiting. Never blocks and never throws a timeout.
     *
     * @return the next message, or empty if none is waiting
     * @throws ChannelClosedException if this end is closed, or the peer closed after its last message
     * @throws ChannelBrokenException if the peer vanished
     */
    Optional<Message> tryRecv();

    /**
     * Closes this end and signals the peer. Idempotent: closing a closed channel has no further effect.
     * Threads blocked in {@code recv} on this end wake with {@link ChannelClosedException}. Never blocks.
     */
    @Override
    void close();

    /** @return whether {@link #close()} was called on this end (or the channel broke) */
    boolean isClosed();
}
