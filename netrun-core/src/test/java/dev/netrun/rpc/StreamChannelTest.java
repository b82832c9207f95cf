package dev.netrun.rpc;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * {@link StreamChannel} over real sockets (loopback TCP and Unix domain sockets). Every wait is bounded; the
 * tests synchronise on messages, futures and latches, never on sleeps.
 */
@Timeout(30)
class StreamChannelTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final JavaSerializationCodec CODEC =
            JavaSerializationCodec.trusted(StreamChannelTest.class.getClassLoader());

    record Point(int x, int y) implements Serializable {
    }

    private final List<StreamChannel> channels = new CopyOnWriteArrayList<>();
    private final List<SocketChannel> rawSockets = new CopyOnWriteArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown() throws Exception {
        for (StreamChannel c : channels) {
            c.close();
        }
        for (SocketChannel s : rawSockets) {
            s.close();
        }
        for (StreamChannel c : channels) {
            assertThat(c.awaitTermination(WAIT)).as("%s terminated", c).isTrue();
        }
        pool.shutdownNow();
        assertThat(pool.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    }

    // ---- fixtures ----

    /** Two connected channels; [0] on the connecting socket, [1] on the accepted one. */
    private StreamChannel[] pair(Transport t) {
        return pair(t, UnaryOperator.identity(), UnaryOperator.identity());
    }

    private StreamChannel[] pair(Transport t, UnaryOperator<StreamChannel.Builder> left,
                                 UnaryOperator<StreamChannel.Builder> right) {
        SocketChannel[] s = t.pair();
        String base = "t" + SEQ.incrementAndGet();
        StreamChannel a = track(left.apply(StreamChannel.builder(s[0], CODEC).name(base + "-a")).open());
        StreamChannel b = track(right.apply(StreamChannel.builder(s[1], CODEC).name(base + "-b")).open());
        return new StreamChannel[] {a, b};
    }

    /** A channel whose peer is a raw socket the test writes bytes onto. */
    private record Raw(StreamChannel channel, SocketChannel peer) {
        void write(byte[] bytes) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                peer.write(b);
            }
        }
    }

    private Raw raw(Transport t) {
        return raw(t, UnaryOperator.identity());
    }

    private Raw raw(Transport t, UnaryOperator<StreamChannel.Builder> config) {
        SocketChannel[] s = t.pair();
        rawSockets.add(s[1]);
        StreamChannel c = track(config.apply(StreamChannel.builder(s[0], CODEC).name("t" + SEQ.incrementAndGet() + "-raw"))
                .open());
        return new Raw(c, s[1]);
    }

    private StreamChannel track(StreamChannel c) {
        channels.add(c);
        return c;
    }

    static byte[] frame(int length, int type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).putInt(length).put((byte) type).put(body).array();
    }

    static byte[] messageFrame(String key, Object value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] d = CODEC.encode(value);
        ByteBuffer body = ByteBuffer.allocate(2 + k.length + d.length).putShort((short) k.length).put(k).put(d);
        return frame(1 + body.capacity(), 1, body.array());
    }

    private static long threadsOf(StreamChannel c) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("netrun-rpc-") && t.getName().endsWith("-" + c.name()))
                .count();
    }

    private static Message recv(Channel c) {
        return c.recv(WAIT);
    }

    // ---- messaging ----

    @ParameterizedTest
    @EnumSource(Transport.class)
    void messagesArriveInOrderInBothDirections(Transport t) {
        StreamChannel[] ch = pair(t);
        for (int i = 0; i < 100; i++) {
            ch[0].send("up", i);
            ch[1].send("down", "m" + i);
        }
        for (int i = 0; i < 100; i++) {
            assertThat(recv(ch[1])).isEqualTo(new Message("up", i));
            assertThat(recv(ch[0])).isEqualTo(new Message("down", "m" + i));
        }
        assertThat(ch[0].tryRecv()).isEmpty();
        assertThat(ch[1].tryRecv()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void concurrentSendersLoseNothingAndKeepEachSendersOrder(Transport t) throws Exception {
        StreamChannel[] ch = pair(t);
        int senders = 4;
        int perSender = 2_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            String key = "sender-" + s;
            futures.add(pool.submit(() -> {
                start.await();
                for (int i = 0; i < perSender; i++) {
                    ch[0].send(key, i);
                }
                return null;
            }));
        }
        start.countDown();
        Map<String, Integer> next = new HashMap<>();
        for (int n = 0; n < senders * perSender; n++) {
            Message m = recv(ch[1]);
            int expected = next.getOrDefault(m.key(), 0);
            assertThat(m.data()).as("next message of %s", m.key()).isEqualTo(expected);
            next.put(m.key(), expected + 1);
        }
        for (Future<?> f : futures) {
            f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        assertThat(next).hasSize(senders).allSatisfy((k, v) -> assertThat(v).isEqualTo(perSender));
        assertThat(ch[1].tryRecv()).isEmpty();
    }

    @Test
    void nullDataUnicodeKeysAndEmptyKeysTravel() {
        StreamChannel[] ch = pair(Transport.TCP);
        ch[0].send("ключ ✓", null);
        ch[0].send("", List.of(new Point(1, 2)));

        assertThat(recv(ch[1])).isEqualTo(new Message("ключ ✓", null));
        assertThat(recv(ch[1])).isEqualTo(new Message("", List.of(new Point(1, 2))));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void largeMessagesTravelIntact(Transport t) {
        StreamChannel[] ch = pair(t);
        byte[] big = new byte[5 << 20];
        new Random(1).nextBytes(big);
        String text = "x".repeat(300_000);

        ch[0].send("big", big);
        ch[0].send("text", text);
        ch[0].send("small", 1);

        assertThat((byte[]) recv(ch[1]).data()).isEqualTo(big);
        assertThat(recv(ch[1]).data()).isEqualTo(text);
        assertThat(recv(ch[1]).data()).isEqualTo(1);
    }

    @Test
    void recvTimeoutThrowsAndTheChannelStaysUsable() {
        StreamChannel[] ch = pair(Transport.TCP);

        assertThatThrownBy(() -> ch[1].recv(Duration.ofMillis(50))).isInstanceOf(RecvTimeoutException.class)
                .hasMessageContaining("within 50 ms");
        assertThatThrownBy(() -> ch[1].recv(Duration.ZERO)).isInstanceOf(RecvTimeoutException.class);
        assertThatThrownBy(() -> ch[1].recv(Duration.ofSeconds(-1))).isInstanceOf(RecvTimeoutException.class);
        ch[0].send("k", "after");
        assertThat(recv(ch[1])).isEqualTo(new Message("k", "after"));
        assertThat(ch[1].isClosed()).isFalse();
    }

    @Test
    void tryRecvReturnsEmptyUntilAMessageArrives() {
        StreamChannel[] ch = pair(Transport.TCP);
        assertThat(ch[1].tryRecv()).isEmpty();

        ch[0].send("k", 7);

        AtomicReference<Message> got = new AtomicReference<>();
        await().atMost(WAIT).until(() -> {
            Optional<Message> m = ch[1].tryRecv();
            m.ifPresent(got::set);
            return m.isPresent();
        });
        assertThat(got.get()).isEqualTo(new Message("k", 7));
        assertThat(ch[1].tryRecv()).isEmpty();
    }

    @Test
    void aSenderWithItsInterruptFlagSetStillSendsAndKeepsTheFlag() throws Exception {
        StreamChannel[] ch = pair(Transport.TCP);
        Future<Boolean> f = pool.submit(() -> {
            Thread.currentThread().interrupt();
            ch[0].send("k", "while interrupted");
            return Thread.currentThread().isInterrupted();
        });
        assertThat(f.get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(recv(ch[1])).isEqualTo(new Message("k", "while interrupted"));
        ch[0].send("k", "still open");
        assertThat(recv(ch[1]).data()).isEqualTo("still open");
    }

    @Test
    void anInterruptedReceiverGetsClosedExceptionAndKeepsTheFlag() throws Exception {
        StreamChannel[] ch = pair(Transport.TCP);
        Future<Throwable> f = pool.submit(() -> {
            Thread.currentThread().interrupt();
            try {
                ch[1].recv();
                return null;
            } catch (RuntimeException e) {
                return Thread.currentThread().isInterrupted() ? e : new AssertionError("flag lost", e);
            }
        });
        assertThat(f.get(5, TimeUnit.SECONDS)).isInstanceOf(ChannelClosedException.class);
        ch[0].send("k", 1);
        assertThat(recv(ch[1]).data()).isEqualTo(1);
    }

    // ---- codec failures concern one message ----

    @Test
    void aValueThatCannotBeEncodedFailsOnlyThatSend() {
        StreamChannel[] ch = pair(Transport.TCP);

        assertThatThrownBy(() -> ch[0].send("k", new Thread(() -> { })))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("java.lang.Thread");
        ch[0].send("k", "next");
        assertThat(recv(ch[1])).isEqualTo(new Message("k", "next"));
    }

    @Test
    void dataTheReceiverMayNotDecodeFailsOnlyThatMessage() {
        JavaSerializationCodec strict = JavaSerializationCodec.allowList(getClass().getClassLoader(),
                JavaSerializationCodec.JDK_VALUE_TYPES);
        SocketChannel[] s = Transport.TCP.pair();
        StreamChannel a = track(StreamChannel.builder(s[0], CODEC).name("t" + SEQ.incrementAndGet() + "-a").open());
        StreamChannel b = track(StreamChannel.builder(s[1], strict).name("t" + SEQ.incrementAndGet() + "-b").open());

        a.send("point", new Point(1, 2));
        a.send("ok", List.of("fine"));

        assertThatThrownBy(() -> recv(b))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("'point'")
                .hasMessageContaining(Point.class.getName() + " is not allowed");
        assertThat(recv(b)).isEqualTo(new Message("ok", List.of("fine")));
        assertThat(b.isClosed()).isFalse();
    }

    // ---- frame and key limits ----

    @Test
    void anOversizedMessageIsRefusedBeforeAnythingIsSent() {
        StreamChannel[] ch = pair(Transport.TCP, b -> b.maxFrameSize(1024), UnaryOperator.identity());

        assertThatThrownBy(() -> ch[0].send("big", new byte[2000]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("message 'big' needs a frame of")
                .hasMessageEndingWith("exceeds the limit of 1024");
        ch[0].send("small", new byte[10]);
        assertThat(recv(ch[1]).key()).isEqualTo("small");
    }

    @Test
    void aKeyLongerThan65535BytesIsRefused() {
        StreamChannel[] ch = pair(Transport.TCP);
        assertThatThrownBy(() -> ch[0].send("k".repeat(70_000), 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("key of 70000 UTF-8 bytes exceeds 65535");
        ch[0].send("k".repeat(65_535), 1);
        assertThat(recv(ch[1]).key()).hasSize(65_535);
    }

    @Test
    void aFrameAboveTheReceiversLimitBreaksTheChannel() {
        StreamChannel[] ch = pair(Transport.TCP, UnaryOperator.identity(), b -> b.maxFrameSize(1024));
        ch[0].send("before", 1);
        ch[0].send("big", new byte[4000]);

        assertThat(recv(ch[1]).key()).isEqualTo("before");
        assertThatThrownBy(() -> recv(ch[1]))
                .isInstanceOf(ChannelBrokenException.class)
                .hasMessageContaining("exceeds the limit of 1024");
    }

    // ---- orderly close ----

    @ParameterizedTest
    @EnumSource(Transport.class)
    void closingMakesThePeerDrainThenThrowClosed(Transport t) throws Exception {
        StreamChannel[] ch = pair(t);
        for (int i = 0; i < 3; i++) {
            ch[0].send("k", i);
        }
        ch[0].close();

        for (int i = 0; i < 3; i++) {
            assertThat(recv(ch[1]).data()).isEqualTo(i);
        }
        assertThatThrownBy(() -> recv(ch[1])).isInstanceOf(ChannelClosedException.class)
                .hasMessageContaining("peer closed");
        assertThatThrownBy(() -> recv(ch[1])).isInstanceOf(ChannelClosedException.class);
        assertThatThrownBy(ch[1]::tryRecv).isInstanceOf(ChannelClosedException.class);
        assertThatThrownBy(() -> ch[1].send("k", 1)).isInstanceOf(ChannelClosedException.class);
        assertThat(ch[0].awaitTermination(WAIT)).isTrue();
        assertThat(ch[1].awaitTermination(WAIT)).isTrue();
    }

    @Test
    void everyOperationOnAClosedEndThrowsClosedAndCloseIsIdempotent() {
        StreamChannel[] ch = pair(Transport.TCP);
        ch[0].send("k", 1);
        ch[0].close();
        ch[0].close();

        assertThat(ch[0].isClosed()).isTrue();
        assertThatThrownBy(() -> ch[0].send("k", 1)).isInstanceOf(ChannelClosedException.class);
        assertThatThrownBy(ch[0]::recv).isInstanceOf(ChannelClosedException.class);
        assertThatThrownBy(() -> ch[0].recv(WAIT)).isInstanceOf(ChannelClosedException.class);
        assertThatThrownBy(ch[0]::tryRecv).isInstanceOf(ChannelClosedException.class);
        assertThatThrownBy(() -> ch[0].send(null, 1)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void closeWakesAReceiverBlockedOnTheSameEnd() {
        StreamChannel[] ch = pair(Transport.TCP);
        CompletableFuture<Message> blocked = CompletableFuture.supplyAsync(ch[0]::recv, pool);

        ch[0].close();

        assertThatThrownBy(() -> blocked.get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(ChannelClosedException.class);
    }

    @Test
    void thePeersCloseWakesAReceiverBlockedWithoutTimeout() {
        StreamChannel[] ch = pair(Transport.UNIX);
        CompletableFuture<Message> blocked = CompletableFuture.supplyAsync(ch[1]::recv, pool);

        ch[0].close();

        assertThatThrownBy(() -> blocked.get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(ChannelClosedException.class);
        assertThat(ch[1].isClosed()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void bothEndsClosingAtOnceEndCleanly(Transport t) throws Exception {
        StreamChannel[] ch = pair(t);
        ch[0].send("k", 1);
        ch[1].send("k", 2);
        CountDownLatch go = new CountDownLatch(1);
        Future<?> closeA = pool.submit(() -> {
            go.await();
            ch[0].close();
            return null;
        });
        go.countDown();
        ch[1].close();
        closeA.get(5, TimeUnit.SECONDS);

        assertThat(ch[0].awaitTermination(WAIT)).isTrue();
        assertThat(ch[1].awaitTermination(WAIT)).isTrue();
        assertThat(ch[0].isClosed()).isTrue();
        assertThat(ch[1].isClosed()).isTrue();
    }

    @Test
    void closeDoesNotBlockWhileASenderIsStuckOnAPeerThatDoesNotRead() throws Exception {
        Raw r = raw(Transport.TCP, b -> b.closeTimeout(Duration.ofMillis(300)));
        CountDownLatch sentOne = new CountDownLatch(1);
        byte[] chunk = new byte[1 << 20];
        Future<Throwable> sender = pool.submit(() -> {
            try {
                for (int i = 0; i < 256; i++) { // 256 MiB: far more than any socket buffer holds
                    r.channel().send("chunk", chunk);
                    sentOne.countDown();
                }
                return null;
            } catch (RuntimeException e) {
                return e;
            }
        });
        assertThat(sentOne.await(5, TimeUnit.SECONDS)).isTrue();

        assertTimeoutPreemptively(Duration.ofSeconds(1), () -> r.channel().close());

        assertThat(sender.get(5, TimeUnit.SECONDS)).isInstanceOf(ChannelClosedException.class);
        assertThat(r.channel().awaitTermination(WAIT)).isTrue();
        assertThat(threadsOf(r.channel())).isZero();
    }

    // ---- broken connections ----

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aPeerThatVanishesBreaksTheChannelAfterItsMessagesAreDrained(Transport t) throws Exception {
        Raw r = raw(t);
        r.write(messageFrame("k", 1));
        r.write(messageFrame("k", 2));
        r.peer().close();

        assertThat(recv(r.channel()).data()).isEqualTo(1);
        assertThat(recv(r.channel()).data()).isEqualTo(2);
        assertThatThrownBy(() -> recv(r.channel())).isInstanceOf(ChannelBrokenException.class)
                .hasMessageContaining("peer vanished without closing");
        assertThatThrownBy(() -> recv(r.channel())).isInstanceOf(ChannelBrokenException.class);
        assertThatThrownBy(() -> r.channel().send("k", 1)).isInstanceOf(ChannelBrokenException.class);
        assertThat(r.channel().isClosed()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aPeerKilledWithUnreadDataBreaksSendsAndReceives(Transport t) throws Exception {
        // Like a process killed while data for it was in flight: closing with unread data resets the connection.
        Raw r = raw(t);
        r.channel().send("unread", new byte[10_000]);
        r.peer().close();

        RuntimeException sendFailure = null;
        for (int i = 0; i < 10_000 && sendFailure == null; i++) {
            try {
                r.channel().send("k", i);
            } catch (RuntimeException e) {
                sendFailure = e;
            }
        }
        assertThat(sendFailure).isInstanceOf(ChannelBrokenException.class);
        assertThatThrownBy(() -> recv(r.channel())).isInstanceOf(ChannelBrokenException.class);
        assertThat(r.channel().awaitTermination(WAIT)).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void closingTheSocketUnderAChannelBreaksBothEnds(Transport t) throws Exception {
        SocketChannel[] s = t.pair();
        String base = "t" + SEQ.incrementAndGet();
        StreamChannel a = track(StreamChannel.builder(s[0], CODEC).name(base + "-a").open());
        StreamChannel b = track(StreamChannel.builder(s[1], CODEC).name(base + "-b").open());

        s[0].close();

        assertThatThrownBy(() -> recv(b)).isInstanceOf(ChannelBrokenException.class);
        assertThatThrownBy(() -> recv(a)).isInstanceOf(ChannelBrokenException.class)
                .hasMessageContaining("socket was closed under the channel");
        assertThatThrownBy(() -> b.send("k", 1)).isInstanceOf(ChannelBrokenException.class);
    }

    static Stream<Arguments> malformedStreams() {
        return Stream.of(
                Arguments.of("a huge length prefix", frame(Integer.MAX_VALUE, 1, new byte[0]), false,
                        "malformed frame from peer: frame of 2147483647 bytes exceeds the limit of 67108864"),
                Arguments.of("an all-ones length prefix", new byte[] {-1, -1, -1, -1, 1}, false,
                        "frame of 4294967295 bytes exceeds the limit of 67108864"),
                Arguments.of("a zero length", frame(0, 1, new byte[0]), false, "invalid frame length 0"),
                Arguments.of("an unknown frame type", frame(1, 9, new byte[0]), false, "unknown frame type 9"),
                Arguments.of("a key longer than its frame", frame(5, 1, new byte[] {0, 100, 'a', 'b'}), false,
                        "key of 100 bytes does not fit"),
                Arguments.of("a message without key length", frame(1, 1, new byte[0]), false, "has no key length"),
                Arguments.of("a SHUTDOWN with a body", frame(2, 2, new byte[] {0}), false, "SHUTDOWN frame with a body"),
                Arguments.of("a truncated body", frame(1000, 1, new byte[] {0, 1, 'k', 1, 2}), true,
                        "truncated frame: end of stream after 5 of 999 body bytes"),
                Arguments.of("a truncated header", new byte[] {0, 0, 0}, true,
                        "truncated frame: end of stream after 3 of 5 header bytes"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedStreams")
    void malformedBytesBreakTheChannelQuickly(String what, byte[] bytes, boolean thenClose, String expected)
            throws Exception {
        Raw r = raw(Transport.TCP);
        r.write(messageFrame("good", "first"));
        r.write(bytes);
        if (thenClose) {
            r.peer().close();
        }

        assertThat(recv(r.channel())).isEqualTo(new Message("good", "first"));
        assertThatThrownBy(() -> recv(r.channel())).isInstanceOf(ChannelBrokenException.class)
                .hasMessageContaining(expected);
        assertThat(r.channel().awaitTermination(WAIT)).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void randomGarbageBreaksTheChannel(Transport t) throws Exception {
        for (long seed = 1; seed <= 20; seed++) {
            Raw r = raw(t);
            byte[] garbage = new byte[4096];
            new Random(seed).nextBytes(garbage);
            r.write(garbage);
            r.peer().close();

            // Garbage may happen to frame an undecodable message before it breaks; it must break in the end.
            RuntimeException end = null;
            for (int i = 0; i < 1000 && end == null; i++) {
                try {
                    recv(r.channel());
                } catch (CodecException e) {
                    // one undecodable message: keep going
                } catch (RuntimeException e) {
                    end = e;
                }
            }
            assertThat(end).as("seed %d", seed).isInstanceOf(ChannelBrokenException.class);
            assertThat(r.channel().awaitTermination(WAIT)).isTrue();
        }
    }

    // ---- threads ----

    @ParameterizedTest
    @EnumSource(Transport.class)
    void noThreadOutlivesAClosedChannel(Transport t) throws Exception {
        StreamChannel[] ch = pair(t);
        ch[0].send("k", 1);
        assertThat(recv(ch[1]).data()).isEqualTo(1);
        assertThat(threadsOf(ch[0])).isEqualTo(1);
        assertThat(threadsOf(ch[1])).isEqualTo(1);

        ch[0].close();
        ch[1].close();

        await().atMost(WAIT).until(() -> threadsOf(ch[0]) + threadsOf(ch[1]) == 0);
        assertThat(ch[0].awaitTermination(Duration.ZERO)).isTrue();
    }

    @Test
    void theReaderEndsWhenTheConnectionBreaksWithoutClose() throws Exception {
        Raw r = raw(Transport.TCP);
        r.peer().close();

        assertThat(r.channel().awaitTermination(WAIT)).isTrue();
        assertThat(threadsOf(r.channel())).isZero();
    }

    @Test
    void threadsEndWithinTheCloseTimeoutEvenIfThePeerNeverAnswers() throws Exception {
        Raw r = raw(Transport.UNIX, b -> b.closeTimeout(Duration.ofMillis(200)));
        r.channel().close();

        assertThat(r.channel().awaitTermination(WAIT)).isTrue();
        assertThat(threadsOf(r.channel())).isZero();
        assertThat(r.peer().isOpen()).isTrue(); // the peer never did anything
    }

    // ---- listener ----

    private static final class Recorder implements StreamChannel.Listener {
        final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
        final List<String> threads = new CopyOnWriteArrayList<>();
        final BlockingQueue<CodecException> undecodable = new LinkedBlockingQueue<>();
        final AtomicInteger ends = new AtomicInteger();
        final CompletableFuture<RpcException> end = new CompletableFuture<>();

        @Override
        public void onMessage(Message message) {
            threads.add(Thread.currentThread().getName());
            if (message.key().equals("throw")) {
                throw new IllegalStateException("listener bug");
            }
            messages.add(message);
        }

        @Override
        public void onUndecodable(String key, CodecException failure) {
            undecodable.add(failure);
        }

        @Override
        public void onEnd(RpcException reason) {
            ends.incrementAndGet();
            end.complete(reason);
        }
    }

    @Test
    void aListenerGetsMessagesOnTheReaderThreadAndTheEndOnce() throws Exception {
        Recorder rec = new Recorder();
        StreamChannel[] ch = pair(Transport.TCP, UnaryOperator.identity(), b -> b.listener(rec));
        ch[0].send("k", 1);
        ch[0].send("throw", 2); // a listener that throws does not stop the channel
        ch[0].send("k", 3);

        assertThat(rec.messages.poll(5, TimeUnit.SECONDS)).isEqualTo(new Message("k", 1));
        assertThat(rec.messages.poll(5, TimeUnit.SECONDS)).isEqualTo(new Message("k", 3));
        assertThat(rec.threads).containsOnly("netrun-rpc-reader-" + ch[1].name());
        assertThatThrownBy(ch[1]::recv).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(ch[1]::tryRecv).isInstanceOf(IllegalStateException.class);

        ch[0].close();

        assertThat(rec.end.get(5, TimeUnit.SECONDS)).isInstanceOf(ChannelClosedException.class)
                .hasMessageContaining("peer closed");
        assertThat(ch[1].awaitTermination(WAIT)).isTrue();
        assertThat(rec.ends.get()).isEqualTo(1);
        assertThatThrownBy(() -> ch[1].send("k", 1)).isInstanceOf(ChannelClosedException.class);
    }

    @Test
    void aListenerLearnsOfABrokenConnection() throws Exception {
        Recorder rec = new Recorder();
        Raw r = raw(Transport.TCP, b -> b.listener(rec));
        r.write(messageFrame("k", "last"));
        r.peer().close();

        assertThat(rec.end.get(5, TimeUnit.SECONDS)).isInstanceOf(ChannelBrokenException.class)
                .hasMessageContaining("peer vanished");
        assertThat(rec.messages).containsExactly(new Message("k", "last"));
        assertThat(r.channel().awaitTermination(WAIT)).isTrue();
        assertThat(rec.ends.get()).isEqualTo(1);
    }

    @Test
    void aListenerIsToldOfUndecodableDataAndTheChannelGoesOn() throws Exception {
        Recorder rec = new Recorder();
        JavaSerializationCodec strict = JavaSerializationCodec.allowList(getClass().getClassLoader(),
                JavaSerializationCodec.JDK_VALUE_TYPES);
        SocketChannel[] s = Transport.UNIX.pair();
        StreamChannel a = track(StreamChannel.builder(s[0], CODEC).name("t" + SEQ.incrementAndGet() + "-a").open());
        track(StreamChannel.builder(s[1], strict).name("t" + SEQ.incrementAndGet() + "-b").listener(rec).open());

        a.send("point", new Point(1, 2));
        a.send("ok", 5);

        assertThat(rec.undecodable.poll(5, TimeUnit.SECONDS)).hasMessageContaining("'point'");
        assertThat(rec.messages.poll(5, TimeUnit.SECONDS)).isEqualTo(new Message("ok", 5));
    }

    @Test
    void aListenerIsToldOfTheEndWhenThisEndCloses() throws Exception {
        Recorder rec = new Recorder();
        StreamChannel[] ch = pair(Transport.TCP, b -> b.listener(rec), UnaryOperator.identity());
        ch[0].close();

        assertThat(rec.end.get(5, TimeUnit.SECONDS)).isInstanceOf(ChannelClosedException.class);
        assertThat(ch[0].awaitTermination(WAIT)).isTrue();
        assertThat(rec.ends.get()).isEqualTo(1);
    }

    // ---- builder ----

    @Test
    void theBuilderValidatesItsArguments() throws Exception {
        SocketChannel[] s = Transport.TCP.pair();
        rawSockets.add(s[0]);
        rawSockets.add(s[1]);
        StreamChannel.Builder b = StreamChannel.builder(s[0], CODEC);

        assertThatThrownBy(() -> b.maxFrameSize(8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxFrameSize < 16: 8");
        assertThatThrownBy(() -> b.name("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.closeTimeout(Duration.ofMillis(-1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StreamChannel.builder(null, CODEC)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> StreamChannel.builder(s[0], null)).isInstanceOf(NullPointerException.class);
        try (SocketChannel unconnected = SocketChannel.open()) {
            assertThatThrownBy(() -> StreamChannel.builder(unconnected, CODEC).open())
                    .isInstanceOf(IllegalArgumentException.class);
        }

        track(b.name("t" + SEQ.incrementAndGet() + "-once").open());
        assertThatThrownBy(b::open).isInstanceOf(IllegalStateException.class);
    }
}
