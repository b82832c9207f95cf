package dev.netrun.rpc;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

@Timeout(30)
class HandshakeTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final JavaSerializationCodec CODEC = JavaSerializationCodec.trusted(HandshakeTest.class.getClassLoader());

    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    }

    private static void write(SocketChannel s, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            s.write(b);
        }
    }

    private static byte[] hello(int version, byte[] secret) {
        return ByteBuffer.allocate(7 + secret.length).put("NRUN".getBytes(StandardCharsets.US_ASCII))
                .put((byte) version).putShort((short) secret.length).put(secret).array();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void theRightSecretIsAcceptedAndAChannelWorksRightAfter(Transport t) throws Exception {
        byte[] secret = Handshake.newSecret();
        try (Transport.Listener l = t.listen()) {
            Future<StreamChannel> server = pool.submit(() -> {
                SocketChannel s = l.server.accept();
                Handshake.accept(s, secret, WAIT);
                return StreamChannel.builder(s, CODEC).name("hs-server-" + t).open();
            });
            SocketChannel c = l.connect();
            Handshake.connect(c, secret, WAIT);
            StreamChannel client = StreamChannel.builder(c, CODEC).name("hs-client-" + t).open();
            client.send("hello", 1); // sent right after the handshake: nothing may be lost or misread
            StreamChannel s = server.get(5, TimeUnit.SECONDS);
            try {
                assertThat(s.recv(WAIT)).isEqualTo(new Message("hello", 1));
                s.send("back", 2);
                assertThat(client.recv(WAIT)).isEqualTo(new Message("back", 2));
            } finally {
                client.close();
                s.close();
                assertThat(client.awaitTermination(WAIT)).isTrue();
                assertThat(s.awaitTermination(WAIT)).isTrue();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aListenerRefusesBadConnectionsAndKeepsAcceptingOthers(Transport t) throws Exception {
        byte[] secret = Handshake.newSecret();
        byte[] wrong = secret.clone();
        wrong[0] ^= 1;
        BlockingQueue<String> outcomes = new LinkedBlockingQueue<>();
        try (Transport.Listener l = t.listen()) {
            Future<?> server = pool.submit(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    SocketChannel s = l.server.accept();
                    try {
                        Handshake.accept(s, secret, Duration.ofMillis(300));
                        outcomes.add("accepted");
                        s.close();
                    } catch (HandshakeException e) {
                        assertThat(s.isOpen()).isFalse();
                        outcomes.add(e.getMessage());
                    }
                }
                return null;
            });

            try (SocketChannel c = l.connect()) {
                assertThatThrownBy(() -> Handshake.connect(c, wrong, WAIT))
                        .isInstanceOf(HandshakeException.class).hasMessageContaining("refused our secret");
                assertThat(c.isOpen()).isFalse();
            }
            assertThat(outcomes.poll(5, TimeUnit.SECONDS)).endsWith(": wrong secret");

            try (SocketChannel c = l.connect()) {
                write(c, hello(1, Arrays.copyOf(secret, secret.length + 1))); // a longer secret, same prefix
                assertThat(outcomes.poll(5, TimeUnit.SECONDS)).endsWith(": wrong secret");
            }

            try (SocketChannel c = l.connect()) {
                write(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(outcomes.poll(5, TimeUnit.SECONDS)).endsWith(": not a netrun handshake");
            }

            try (SocketChannel c = l.connect()) {
                write(c, hello(2, secret));
                assertThat(outcomes.poll(5, TimeUnit.SECONDS)).endsWith(": unsupported handshake version 2 (expected 1)");
            }

            try (SocketChannel c = l.connect()) {
                write(c, hello(1, new byte[0]));
                assertThat(outcomes.poll(5, TimeUnit.SECONDS)).endsWith(": invalid secret length 0");
            }

            try (SocketChannel c = l.connect()) {
                // says nothing: refused when the timeout passes
                assertThat(outcomes.poll(5, TimeUnit.SECONDS)).contains("no complete handshake within 300 ms");
                assertThat(c.read(ByteBuffer.allocate(1))).isEqualTo(-1); // and the connection is closed
            }

            try (SocketChannel c = l.connect()) {
                write(c, "NRU".getBytes(StandardCharsets.US_ASCII));
            } // hangs up halfway
            assertThat(outcomes.poll(5, TimeUnit.SECONDS)).contains("closed the connection during the handshake");

            try (SocketChannel c = l.connect()) {
                Handshake.connect(c, secret, WAIT);
                assertThat(outcomes.poll(5, TimeUnit.SECONDS)).isEqualTo("accepted");
            }
            server.cancel(true);
            l.server.close(); // wakes accept()
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void severalSocketsHandshakeAtOnceAndAllOrNoneSucceed(Transport t) throws Exception {
        byte[] secret = Handshake.newSecret();
        byte[] wrong = secret.clone();
        wrong[0] ^= 1;
        try (Transport.Listener l = t.listen()) {
            Future<?> server = pool.submit(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    SocketChannel s = l.server.accept();
                    pool.submit(() -> {
                        try {
                            Handshake.accept(s, secret, WAIT);
                        } catch (HandshakeException e) {
                            // refused: the socket is closed
                        }
                    });
                }
                return null;
            });
            SocketChannel a = l.connect();
            SocketChannel b = l.connect();
            SocketChannel c = l.connect();
            Handshake.connect(java.util.List.of(a, b, c), secret, WAIT);
            assertThat(java.util.List.of(a, b, c)).allMatch(SocketChannel::isOpen);
            a.close();
            b.close();
            c.close();

            SocketChannel d = l.connect();
            SocketChannel e = l.connect();
            assertThatThrownBy(() -> Handshake.connect(java.util.List.of(d, e), wrong, WAIT))
                    .isInstanceOf(HandshakeException.class).hasMessageContaining("refused our secret");
            assertThat(d.isOpen()).isFalse();
            assertThat(e.isOpen()).isFalse(); // all or none: the other socket is closed too
            server.cancel(true);
            l.server.close();
        }
    }

    @Test
    void connectGivesUpWhenThePeerNeverAnswers() throws Exception {
        try (Transport.Listener l = Transport.TCP.listen(); SocketChannel c = l.connect();
             SocketChannel mute = l.server.accept()) {
            assertThatThrownBy(() -> Handshake.connect(c, Handshake.newSecret(), Duration.ofMillis(200)))
                    .isInstanceOf(HandshakeException.class)
                    .hasMessageContaining("no complete handshake within 200 ms");
            assertThat(c.isOpen()).isFalse();
            assertThat(mute.isOpen()).isTrue();
        }
    }

    @Test
    void severalSocketsGiveUpTogetherWhenThePeerNeverAnswersAndNameIt() throws Exception {
        try (Transport.Listener l = Transport.TCP.listen(); SocketChannel a = l.connect(); SocketChannel b = l.connect();
             SocketChannel muteA = l.server.accept(); SocketChannel muteB = l.server.accept()) {
            String peer = String.valueOf(a.getRemoteAddress());
            assertThatThrownBy(() -> Handshake.connect(java.util.List.of(a, b), Handshake.newSecret(),
                    Duration.ofMillis(200)))
                    .isInstanceOf(HandshakeException.class)
                    .hasMessageContaining("Handshake with " + peer)
                    .hasMessageContaining("no complete handshake within 200 ms");
            assertThat(a.isOpen()).isFalse();
            assertThat(b.isOpen()).isFalse();
            assertThat(muteA.isOpen()).isTrue();
        }
    }

    @Test
    void aZeroTimeoutCountsOnlyAnAnswerThatHasAlreadyArrived() throws Exception {
        byte[] secret = Handshake.newSecret();
        try (Transport.Listener l = Transport.TCP.listen()) {
            try (SocketChannel c = l.connect(); SocketChannel mute = l.server.accept()) {
                assertThatThrownBy(() -> Handshake.connect(c, secret, Duration.ZERO))
                        .isInstanceOf(HandshakeException.class)
                        .hasMessageContaining("no complete handshake within 0 ms (got 0 of 5 bytes)");
            }
            try (SocketChannel c = l.connect(); SocketChannel s = l.server.accept()) {
                write(s, new byte[]{'N', 'R', 'U', 'N', 0}); // accepted, before it is even asked
                await("the answer to arrive").atMost(WAIT).until(() -> {
                    try (java.nio.channels.Selector sel = java.nio.channels.Selector.open()) {
                        c.configureBlocking(false);
                        c.register(sel, java.nio.channels.SelectionKey.OP_READ);
                        return sel.selectNow() == 1;
                    }
                });
                Handshake.connect(c, secret, Duration.ZERO);
                assertThat(c.isOpen()).isTrue();
                assertThat(c.isBlocking()).as("left in blocking mode, as documented").isTrue();
            }
        }
    }

    @Test
    void anInterruptedConnectFailsClosesTheSocketAndKeepsTheInterrupt() throws Exception {
        try (Transport.Listener l = Transport.UNIX.listen(); SocketChannel c = l.connect();
             SocketChannel mute = l.server.accept()) {
            Future<Throwable> outcome = pool.submit(() -> {
                Thread.currentThread().interrupt();
                try {
                    Handshake.connect(c, Handshake.newSecret(), WAIT);
                    return null;
                } catch (HandshakeException e) {
                    return Thread.currentThread().isInterrupted() ? e : new AssertionError("interrupt lost", e);
                }
            });
            assertThat(outcome.get(5, TimeUnit.SECONDS)).isInstanceOf(HandshakeException.class)
                    .hasMessageContaining("interrupted");
            assertThat(c.isOpen()).isFalse();
        }
    }

    @Test
    void connectFailsClearlyWhenThePeerIsNotANetrunEndpoint() throws Exception {
        try (Transport.Listener l = Transport.UNIX.listen(); SocketChannel c = l.connect();
             SocketChannel other = l.server.accept()) {
            write(other, "HTTP/1.1 400 Bad Request\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThatThrownBy(() -> Handshake.connect(c, Handshake.newSecret(), WAIT))
                    .isInstanceOf(HandshakeException.class)
                    .hasMessageContaining("the peer is not a netrun endpoint");
        }
    }

    @Test
    void secretsAreRandomAndValidated() throws Exception {
        byte[] a = Handshake.newSecret();
        byte[] b = Handshake.newSecret();
        assertThat(a).hasSize(Handshake.SECRET_BYTES);
        assertThat(a).isNotEqualTo(b);
        try (Transport.Listener l = Transport.TCP.listen(); SocketChannel c = l.connect()) {
            assertThatThrownBy(() -> Handshake.connect(c, new byte[0], WAIT))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("secret length 0 is not in 1..1024");
            assertThatThrownBy(() -> Handshake.accept(c, new byte[1025], WAIT))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> Handshake.connect(c, a, null)).isInstanceOf(NullPointerException.class);
        }
    }
}
