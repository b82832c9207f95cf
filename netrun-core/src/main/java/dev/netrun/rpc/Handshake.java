package dev.netrun.rpc;

import dev.netrun.rpc.internal.LocalChannel;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Authenticates a freshly connected socket with a shared secret before a {@link StreamChannel} is opened on
 * it. The listening side (a pool's parent JVM) generates a secret with {@link #newSecret()}, hands it to the
 * processes it trusts (for example its child JVMs, through their environment or standard input), and calls
 * {@link #accept} on every socket it accepts; each connecting process calls {@link #connect} first.
 *
 * <h2>Protocol</h2>
 * <pre>
 * connecting side:  "NRUN"  version:u8 (= 1)  secretLength:u16 (1..1024)  secret:byte[secretLength]
 * listening side:   "NRUN"  status:u8 (0 = accepted, 1 = refused), then on refusal it closes the socket
 * </pre>
 * The listening side compares secrets in constant time ({@link MessageDigest#isEqual}) and reads at most
 * {@value #MAX_SECRET_BYTES} bytes of secret. A connection that sends a wrong secret, bytes that are not a
 * handshake, or nothing within the timeout is refused: its socket is closed and {@code accept} throws
 * {@link HandshakeException}, so a listening loop catches it and goes on accepting others. Nothing after the
 * handshake is read, so a channel can be opened on the socket right away.
 *
 * <p><b>Thread safety and blocking.</b> Stateless: any number of handshakes may run at once, each on its own
 * socket. Both methods block for at most their timeout (plus scheduling delays); with a zero timeout, only an
 * answer that has already arrived counts. They leave the socket in blocking mode. Interrupting the calling
 * thread fails the handshake and closes the socket (the interrupt status is kept).
 */
public final class Handshake {

    /** The length of a secret made by {@link #newSecret()}: 32 bytes (256 bits). */
    public static final int SECRET_BYTES = 32;
    /** The longest secret accepted. */
    public static final int MAX_SECRET_BYTES = 1024;

    private static final byte[] MAGIC = {'N', 'R', 'U', 'N'};
    private static final byte VERSION = 1;
    private static final byte ACCEPTED = 0;
    private static final byte REFUSED = 1;
    private static final int WAITING = 0;
    private static final int DONE = 1;
    private static final int TIMED_OUT = 2;
    /** Created on first use: seeding a SecureRandom is slow, and a connecting child never needs one. */
    private static final class Random {
        static final SecureRandom INSTANCE = new SecureRandom();
    }

    private Handshake() {
    }

    /**
     * Returns a new random secret of {@value #SECRET_BYTES} bytes from a {@link SecureRandom}.
     *
     * @return a new secret
     */
    public static byte[] newSecret() {
        byte[] s = new byte[SECRET_BYTES];
        Random.INSTANCE.nextBytes(s);
        return s;
    }

    /**
     * The connecting side: sends {@code secret} and waits for the listening side to accept it.
     *
     * @param socket  a connected socket
     * @param secret  the shared secret, 1 to {@value #MAX_SECRET_BYTES} bytes
     * @param timeout the longest time to wait for the answer
     * @throws HandshakeException       if the peer refused the secret, closed the connection, answered with
     *                                  something that is not a handshake, or did not answer in time; the
     *                                  socket is closed
     * @throws IllegalArgumentException if the secret's length is out of range
     * @throws NullPointerException     if an argument is {@code null}
     */
    public static void connect(SocketChannel socket, byte[] secret, Duration timeout) {
        connect(List.of(Objects.requireNonNull(socket, "socket")), secret, timeout);
    }

    /**
     * The connecting side for several sockets to the same listener: sends {@code secret} on each, then waits
     * for each answer, so that the round trips overlap instead of adding up.
     *
     * @param sockets connected sockets (none: nothing to do)
     * @param secret  the shared secret, 1 to {@value #MAX_SECRET_BYTES} bytes
     * @param timeout the longest time to wait for all the answers
     * @throws HandshakeException       if any handshake failed (as for {@link #connect(SocketChannel, byte[],
     *                                  Duration)}); every socket is closed
     * @throws IllegalArgumentException if the secret's length is out of range
     * @throws NullPointerException     if an argument or a socket is {@code null}
     */
    public static void connect(List<SocketChannel> sockets, byte[] secret, Duration timeout) {
        Objects.requireNonNull(sockets, "sockets");
        List<String> peers = new ArrayList<>(sockets.size()); // named now: a closed socket has no peer to name
        for (SocketChannel s : sockets) {
            peers.add(peer(Objects.requireNonNull(s, "socket")));
        }
        checkSecret(secret);
        long deadline = deadline(timeout);
        if (sockets.isEmpty()) {
            return;
        }
        ByteBuffer hello = ByteBuffer.allocate(MAGIC.length + 1 + 2 + secret.length);
        hello.put(MAGIC).put(VERSION).putShort((short) secret.length).put(secret).flip();
        try {
            for (int i = 0; i < sockets.size(); i++) {
                try {
                    writeFully(sockets.get(i), hello.duplicate());
                } catch (IOException e) {
                    throw refuse(sockets.get(i), "Handshake with " + peers.get(i) + " failed: " + describe(e), e);
                }
            }
            awaitAnswers(sockets, peers, deadline, timeout);
        } catch (HandshakeException e) {
            for (SocketChannel socket : sockets) {
                closeQuietly(socket);
            }
            throw e;
        }
    }

    /**
     * Reads every answer with plain blocking reads, which a watchdog ends by closing the sockets when the
     * deadline passes. (A selector would do too, but setting one up costs a freshly started JVM several
     * milliseconds of network initialisation that a connecting child otherwise never needs.) With no time
     * left at all, only answers that have already arrived count.
     */
    private static void awaitAnswers(List<SocketChannel> sockets, List<String> peers, long deadline,
                                     Duration timeout) {
        if (deadline - System.nanoTime() <= 0) {
            for (int i = 0; i < sockets.size(); i++) {
                SocketChannel socket = sockets.get(i);
                ByteBuffer reply = ByteBuffer.allocate(MAGIC.length + 1);
                try {
                    socket.configureBlocking(false);
                    socket.read(reply);
                    socket.configureBlocking(true);
                } catch (IOException e) {
                    throw refuse(socket, "Handshake with " + peers.get(i) + " failed: " + describe(e), e);
                }
                if (reply.hasRemaining()) {
                    throw refuse(socket, noAnswer(peers.get(i), timeout, reply), null);
                }
                checkAnswer(socket, peers.get(i), reply);
            }
            return;
        }
        CountDownLatch answered = new CountDownLatch(1);
        AtomicInteger state = new AtomicInteger(WAITING); // decided once: DONE by this thread, or TIMED_OUT
        Thread watchdog = new Thread(() -> {
            try {
                if (!answered.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                        && state.compareAndSet(WAITING, TIMED_OUT)) {
                    for (SocketChannel socket : sockets) {
                        closeQuietly(socket); // wakes the blocked read
                    }
                }
            } catch (InterruptedException e) {
                // nobody interrupts this private thread
            }
        }, "netrun-handshake-timeout");
        watchdog.setDaemon(true);
        watchdog.start();
        try {
            for (int i = 0; i < sockets.size(); i++) {
                awaitAnswer(sockets.get(i), peers.get(i), state, timeout);
            }
            if (!state.compareAndSet(WAITING, DONE)) {
                throw new HandshakeException("Handshake with " + peers.get(0) + " failed: no complete handshake"
                        + " within " + timeout.toMillis() + " ms", null);
            }
        } finally {
            answered.countDown();
        }
    }

    private static String noAnswer(String peer, Duration timeout, ByteBuffer reply) {
        return "Handshake with " + peer + " failed: no complete handshake within " + timeout.toMillis()
                + " ms (got " + reply.position() + " of " + reply.capacity() + " bytes)";
    }

    private static void awaitAnswer(SocketChannel socket, String peer, AtomicInteger state, Duration timeout) {
        ByteBuffer reply = ByteBuffer.allocate(MAGIC.length + 1);
        try {
            socket.configureBlocking(true);
            while (reply.hasRemaining()) {
                if (socket.read(reply) < 0) {
                    throw new EOFException("end of stream after " + reply.position() + " handshake bytes");
                }
            }
        } catch (ClosedChannelException e) { // closed by the watchdog, an interrupt, or another thread
            if (state.get() == TIMED_OUT) {
                throw refuse(socket, noAnswer(peer, timeout, reply), e);
            }
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt(); // ClosedByInterruptException: keep the status
                throw refuse(socket, "Handshake with " + peer + " failed: interrupted", e);
            }
            throw refuse(socket, "Handshake with " + peer + " failed: the socket was closed", e);
        } catch (EOFException e) {
            throw refuse(socket, "Handshake with " + peer + " failed: the peer closed the connection"
                    + " (it refused our secret, or is not a netrun endpoint)", e);
        } catch (IOException e) {
            throw refuse(socket, "Handshake with " + peer + " failed: " + describe(e), e);
        }
        checkAnswer(socket, peer, reply);
    }

    private static String describe(IOException e) {
        if (e instanceof ClosedByInterruptException) {
            return "interrupted";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getName();
    }

    private static void checkAnswer(SocketChannel socket, String peer, ByteBuffer reply) {
        reply.flip();
        byte[] magic = new byte[MAGIC.length];
        reply.get(magic);
        byte status = reply.get();
        if (!Arrays.equals(magic, MAGIC)) {
            throw refuse(socket, "Handshake with " + peer + " failed: the peer is not a netrun endpoint", null);
        }
        if (status != ACCEPTED) {
            throw refuse(socket, "Handshake with " + peer + " failed: the peer refused our secret", null);
        }
    }

    /**
     * The listening side: reads the connecting side's secret, within {@code timeout}, and accepts the
     * connection if it equals {@code secret}. Otherwise refuses it: closes the socket and throws.
     *
     * @param socket  a freshly accepted socket
     * @param secret  the expected secret
     * @param timeout the longest time the connecting side may take to send its secret
     * @throws HandshakeException       if the connection was refused (the message says why: wrong secret, not
     *                                  a handshake, unsupported version, nothing in time, connection closed);
     *                                  the socket is closed
     * @throws IllegalArgumentException if the expected secret's length is out of range
     * @throws NullPointerException     if an argument is {@code null}
     */
    public static void accept(SocketChannel socket, byte[] secret, Duration timeout) {
        Objects.requireNonNull(socket, "socket");
        checkSecret(secret);
        long deadline = deadline(timeout);
        String from = peer(socket);
        ByteBuffer header = ByteBuffer.allocate(MAGIC.length + 1 + 2);
        byte[] received;
        try {
            readFully(socket, header, deadline, timeout);
            header.flip();
            byte[] magic = new byte[MAGIC.length];
            header.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw refuseWithReply(socket, "Refused connection from " + from + ": not a netrun handshake");
            }
            byte version = header.get();
            if (version != VERSION) {
                throw refuseWithReply(socket, "Refused connection from " + from + ": unsupported handshake version "
                        + (version & 0xFF) + " (expected " + VERSION + ")");
            }
            int length = header.getShort() & 0xFFFF;
            if (length == 0 || length > MAX_SECRET_BYTES) {
                throw refuseWithReply(socket, "Refused connection from " + from + ": invalid secret length " + length);
            }
            ByteBuffer s = ByteBuffer.allocate(length);
            readFully(socket, s, deadline, timeout);
            received = s.array();
        } catch (EOFException e) {
            throw refuse(socket, "Refused connection from " + from + ": it closed the connection during the handshake", e);
        } catch (IOException e) {
            throw refuse(socket, "Refused connection from " + from + ": " + e.getMessage(), e);
        }
        if (!MessageDigest.isEqual(received, secret)) {
            throw refuseWithReply(socket, "Refused connection from " + from + ": wrong secret");
        }
        try {
            writeFully(socket, reply(ACCEPTED));
        } catch (IOException e) {
            throw refuse(socket, "Handshake with " + from + " failed: " + e.getMessage(), e);
        }
    }

    private static void checkSecret(byte[] secret) {
        Objects.requireNonNull(secret, "secret");
        if (secret.length == 0 || secret.length > MAX_SECRET_BYTES) {
            throw new IllegalArgumentException("secret length " + secret.length + " is not in 1.." + MAX_SECRET_BYTES);
        }
    }

    private static long deadline(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        return System.nanoTime() + Math.max(0, LocalChannel.saturatedNanos(timeout));
    }

    private static ByteBuffer reply(byte status) {
        return ByteBuffer.allocate(MAGIC.length + 1).put(MAGIC).put(status).flip();
    }

    private static HandshakeException refuseWithReply(SocketChannel socket, String message) {
        try {
            socket.configureBlocking(false); // best effort: never block on a peer that does not read
            socket.write(reply(REFUSED));
        } catch (IOException e) {
            // it will see the connection close instead
        }
        return refuse(socket, message, null);
    }

    private static HandshakeException refuse(SocketChannel socket, String message, Throwable cause) {
        closeQuietly(socket);
        return new HandshakeException(message, cause);
    }

    private static void closeQuietly(SocketChannel socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing more to do
        }
    }

    private static void writeFully(SocketChannel socket, ByteBuffer b) throws IOException {
        socket.configureBlocking(true); // at most a few hundred bytes into a fresh socket: does not block
        while (b.hasRemaining()) {
            socket.write(b);
        }
    }

    /** Reads until {@code dst} is full or the deadline passes; leaves the socket in blocking mode. */
    private static void readFully(SocketChannel socket, ByteBuffer dst, long deadline, Duration timeout)
            throws IOException {
        socket.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            socket.register(selector, SelectionKey.OP_READ);
            while (dst.hasRemaining()) {
                int n = socket.read(dst);
                if (n < 0) {
                    throw new EOFException("end of stream after " + dst.position() + " handshake bytes");
                }
                if (n > 0) {
                    continue;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("no complete handshake within " + timeout.toMillis() + " ms (got "
                            + dst.position() + " of " + dst.capacity() + " bytes)");
                }
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left + 999_999)));
                selector.selectedKeys().clear();
                if (Thread.currentThread().isInterrupted()) {
                    throw new IOException("interrupted during the handshake");
                }
            }
        } finally {
            if (socket.isOpen()) {
                socket.configureBlocking(true); // the selector is closed, so the key is gone
            }
        }
    }

    private static String peer(SocketChannel socket) {
        try {
            Object a = socket.getRemoteAddress();
            return a == null || a.toString().isEmpty() ? "a local peer" : a.toString();
        } catch (IOException | RuntimeException e) {
            return "an unknown peer";
        }
    }
}
