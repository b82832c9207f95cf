package dev.netrun.rpc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.Serializable;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.net.URL;
import java.net.URLClassLoader;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CodecTest {

    record Point(int x, int y) implements Serializable {
    }

    record Box(String label, List<Point> points, Map<String, Object> extra) implements Serializable {
    }

    record Holder(Object value) implements Serializable {
    }

    enum Color { RED, GREEN }

    static final class NotSerializable {
    }

    static final class Node implements Serializable {
        private static final long serialVersionUID = 1L;
        Node next;
    }

    interface Greeter {
        String greet(String name);
    }

    record FixedGreeting(String greeting) implements InvocationHandler, Serializable {
        @Override
        public Object invoke(Object proxy, Method method, Object[] args) {
            return greeting + ", " + args[0];
        }
    }

    private static final ClassLoader LOADER = CodecTest.class.getClassLoader();
    private final JavaSerializationCodec codec = JavaSerializationCodec.trusted(LOADER);

    private Object roundTrip(Codec c, Object value) {
        return c.decode(c.encode(value));
    }

    static Stream<Object> plainValues() {
        return Stream.of("hello", "", "ünïcødé ✓", 42, -7L, 3.5, true, 'c', (byte) 1, new BigDecimal("1.25"),
                new int[] {1, 2, 3}, new byte[100_000], new String[] {"a", null}, Color.GREEN,
                UUID.fromString("123e4567-e89b-12d3-a456-426614174000"), Instant.ofEpochSecond(1_700_000_000));
    }

    @ParameterizedTest
    @MethodSource("plainValues")
    void plainValuesRoundTrip(Object value) {
        assertThat(roundTrip(codec, value)).isEqualTo(value);
    }

    @Test
    void nullRoundTrips() {
        assertThat(roundTrip(codec, null)).isNull();
    }

    @Test
    void recordsCollectionsAndNestedValuesRoundTrip() {
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("nested", List.of(Map.of("k", new ArrayList<>(List.of(1, 2))), new TreeSet<>(List.of("b", "a"))));
        extra.put("color", Color.RED);
        extra.put("none", null);
        Box box = new Box("box", List.of(new Point(1, 2), new Point(3, 4)), extra);

        Object back = roundTrip(codec, box);

        assertThat(back).isEqualTo(box);
        assertThat(((Box) back).extra().keySet()).containsExactly("nested", "color", "none");
    }

    @Test
    void sharedReferencesAndCyclesSurvive() {
        Point p = new Point(1, 1);
        Node a = new Node();
        a.next = a;

        List<?> back = (List<?>) roundTrip(codec, new ArrayList<>(List.of(p, p, a)));

        assertThat(back.get(0)).isSameAs(back.get(1));
        Node n = (Node) back.get(2);
        assertThat(n.next).isSameAs(n);
    }

    @Test
    @SuppressWarnings("unchecked")
    void serializableLambdaRoundTrips() {
        Function<Integer, Integer> inc = (Function<Integer, Integer> & Serializable) x -> x + 1;
        int k = 10;
        Function<Integer, Integer> addK = (Function<Integer, Integer> & Serializable) x -> x + k;

        assertThat(((Function<Integer, Integer>) roundTrip(codec, inc)).apply(1)).isEqualTo(2);
        assertThat(((Function<Integer, Integer>) roundTrip(codec, addK)).apply(1)).isEqualTo(11);
    }

    @Test
    void classObjectsIncludingPrimitivesRoundTrip() {
        List<Class<?>> classes = List.of(int.class, void.class, String.class, int[].class, Point.class);
        assertThat(roundTrip(codec, classes)).isEqualTo(classes);
    }

    @Test
    void serializableProxiesRoundTrip() {
        Greeter g = (Greeter) Proxy.newProxyInstance(LOADER, new Class<?>[] {Greeter.class, Serializable.class},
                new FixedGreeting("hello"));

        Greeter back = (Greeter) roundTrip(codec, g);

        assertThat(Proxy.isProxyClass(back.getClass())).isTrue();
        assertThat(back.greet("ada")).isEqualTo("hello, ada");
    }

    @Test
    void decodesARangeInsideALargerArray() {
        byte[] encoded = codec.encode(new Point(5, 6));
        byte[] framed = new byte[encoded.length + 10];
        System.arraycopy(encoded, 0, framed, 3, encoded.length);

        assertThat(codec.decode(framed, 3, encoded.length)).isEqualTo(new Point(5, 6));
    }

    @Test
    void theDefaultRangeDecodeCopiesTheRange() {
        Codec utf8 = new Codec() {
            @Override
            public byte[] encode(Object value) {
                return ((String) value).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }

            @Override
            public Object decode(byte[] bytes) {
                return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
            }
        };
        assertThat(utf8.decode("xxabcxx".getBytes(java.nio.charset.StandardCharsets.UTF_8), 2, 3)).isEqualTo("abc");
        assertThatThrownBy(() -> utf8.decode(new byte[2], 1, 5)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    // ---- encoding failures ----

    @Test
    void aNonSerializableValueIsNamed() {
        assertThatThrownBy(() -> codec.encode(new Thread(() -> { })))
                .isInstanceOf(CodecException.class)
                .hasMessage("Cannot encode java.lang.Thread: not serializable (path: root)");
    }

    @Test
    void aNonSerializableValueDeepInsideIsNamedWithItsPath() {
        Map<String, Object> extra = new HashMap<>();
        extra.put("owner", new Holder(List.of("x", new NotSerializable())));
        Box box = new Box("b", List.of(new Point(1, 2)), extra);

        assertThatThrownBy(() -> codec.encode(box))
                .isInstanceOf(CodecException.class)
                .hasMessage("Cannot encode " + NotSerializable.class.getName()
                        + ": not serializable (path: root.extra[owner].value[1])");
    }

    @Test
    void aLambdaCapturingANonSerializableValueNamesIt() {
        NotSerializable captured = new NotSerializable();
        Supplier<Object> s = (Supplier<Object> & Serializable) () -> captured;

        assertThatThrownBy(() -> codec.encode(s))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("Cannot encode " + NotSerializable.class.getName() + ": not serializable")
                .hasMessageContaining("captured[0]");
    }

    @Test
    void aNonSerializableLambdaIsReported() {
        Supplier<String> s = () -> "x";
        assertThatThrownBy(() -> codec.encode(List.of(s)))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("Lambda")
                .hasMessageContaining("not serializable");
    }

    // ---- decoding: filters and limits ----

    @Test
    void anAllowListRejectsAClassItDoesNotListAndNamesIt() {
        JavaSerializationCodec strict = JavaSerializationCodec.allowList(LOADER, JavaSerializationCodec.JDK_VALUE_TYPES);
        byte[] bytes = codec.encode(List.of("ok", new Point(1, 2)));

        assertThatThrownBy(() -> strict.decode(bytes))
                .isInstanceOf(CodecException.class)
                .hasMessage("Cannot decode: class " + Point.class.getName() + " is not allowed by the allow-list filter");
    }

    @Test
    void anAllowListAdmitsJdkValuesAndListedClasses() {
        JavaSerializationCodec strict = JavaSerializationCodec.allowList(LOADER,
                JavaSerializationCodec.JDK_VALUE_TYPES, "dev.netrun.rpc.CodecTest$*");
        Map<String, Object> extra = new HashMap<>(Map.of("c", Color.GREEN, "l", new ArrayList<>(List.of(1L, 2.0)),
                "when", Instant.ofEpochSecond(5), "im", Map.of("a", List.of(1, 2)), "arr", Arrays.asList(1, 2)));
        Box box = new Box("b", List.of(new Point(1, 2)), extra);

        assertThat(strict.decode(codec.encode(box))).isEqualTo(box);
    }

    @Test
    void anExplicitlyExcludedClassIsRejectedEvenIfAWiderPatternAllowsIt() {
        JavaSerializationCodec strict = JavaSerializationCodec.allowList(LOADER,
                "!dev.netrun.rpc.CodecTest$Point", JavaSerializationCodec.JDK_VALUE_TYPES, "dev.netrun.rpc.**");

        assertThat(strict.decode(codec.encode(new Holder("x")))).isEqualTo(new Holder("x"));
        assertThatThrownBy(() -> strict.decode(codec.encode(new Holder(new Point(1, 1)))))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining(Point.class.getName());
    }

    @Test
    @SuppressWarnings("unchecked")
    void lambdasThroughAnAllowListNeedSerializedLambdaAndTheCapturingClass() {
        Function<Integer, Integer> inc = (Function<Integer, Integer> & Serializable) x -> x + 1;
        byte[] bytes = codec.encode(inc);

        JavaSerializationCodec without = JavaSerializationCodec.allowList(LOADER, JavaSerializationCodec.JDK_VALUE_TYPES);
        assertThatThrownBy(() -> without.decode(bytes))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("java.lang.invoke.SerializedLambda");

        JavaSerializationCodec with = JavaSerializationCodec.allowList(LOADER, JavaSerializationCodec.JDK_VALUE_TYPES,
                "java.lang.invoke.SerializedLambda", CodecTest.class.getName());
        assertThat(((Function<Integer, Integer>) with.decode(bytes)).apply(41)).isEqualTo(42);
    }

    @Test
    void aMalformedPatternIsRefusedAtConstruction() {
        assertThatThrownBy(() -> JavaSerializationCodec.allowList(LOADER, "maxdepth=lots"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anEmptyAllowListRejectsEveryClass() {
        JavaSerializationCodec none = JavaSerializationCodec.allowList(LOADER);
        assertThat(none.decode(codec.encode("strings need no class"))).isEqualTo("strings need no class");
        assertThatThrownBy(() -> none.decode(codec.encode(1)))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("java.lang.Integer");
    }

    @Test
    void depthBeyondTheLimitIsRejected() {
        Object nested = "leaf";
        for (int i = 0; i < 50; i++) {
            nested = new Holder(nested);
        }
        byte[] bytes = codec.encode(nested);
        JavaSerializationCodec shallow = codec.withLimits(JavaSerializationCodec.Limits.DEFAULT.withMaxDepth(20));

        assertThatThrownBy(() -> shallow.decode(bytes))
                .isInstanceOf(CodecException.class)
                .hasMessage("Cannot decode: depth 21 exceeds maxDepth 20");
        assertThat(codec.decode(bytes)).isEqualTo(nested);
    }

    @Test
    void arraysBeyondTheLimitAreRejected() {
        JavaSerializationCodec small = codec.withLimits(JavaSerializationCodec.Limits.DEFAULT.withMaxArrayLength(100));

        assertThat(small.decode(codec.encode(new int[100]))).isEqualTo(new int[100]);
        assertThatThrownBy(() -> small.decode(codec.encode(new int[1000])))
                .isInstanceOf(CodecException.class)
                .hasMessage("Cannot decode: array of 1000 elements exceeds maxArrayLength 100");
    }

    @Test
    void referencesBeyondTheLimitAreRejected() {
        List<Point> points = new ArrayList<>();
        IntStream.range(0, 1000).forEach(i -> points.add(new Point(i, i)));
        JavaSerializationCodec few = codec.withLimits(JavaSerializationCodec.Limits.DEFAULT.withMaxRefs(100));

        assertThatThrownBy(() -> few.decode(codec.encode(points)))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("exceed maxRefs 100");
    }

    @Test
    void payloadsBeyondTheByteLimitAreRejectedBeforeDecoding() {
        JavaSerializationCodec tiny = codec.withLimits(JavaSerializationCodec.Limits.DEFAULT.withMaxBytes(1000));
        byte[] bytes = codec.encode("x".repeat(5000));

        assertThatThrownBy(() -> tiny.decode(bytes))
                .isInstanceOf(CodecException.class)
                .hasMessage("Cannot decode " + bytes.length + " bytes: exceeds maxBytes 1000");
    }

    @Test
    void limitsMustBePositive() {
        assertThatThrownBy(() -> new JavaSerializationCodec.Limits(0, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxDepth <= 0: 0");
        assertThatThrownBy(() -> JavaSerializationCodec.Limits.DEFAULT.withMaxBytes(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxBytes <= 0: -1");
    }

    // ---- decoding: malformed input and class loading ----

    @Test
    void malformedBytesGiveACodecException() {
        byte[] good = codec.encode(new Box("b", List.of(), Map.of()));

        assertThatThrownBy(() -> codec.decode(new byte[0])).isInstanceOf(CodecException.class)
                .hasMessageStartingWith("Cannot decode: malformed data");
        assertThatThrownBy(() -> codec.decode("not serialization at all".getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .isInstanceOf(CodecException.class).hasMessageStartingWith("Cannot decode: malformed data");
        assertThatThrownBy(() -> codec.decode(Arrays.copyOf(good, good.length / 2)))
                .isInstanceOf(CodecException.class).hasMessageStartingWith("Cannot decode: malformed data");
    }

    @Test
    void aClassTheLoaderCannotSeeIsReported() {
        JavaSerializationCodec platform = JavaSerializationCodec.trusted(ClassLoader.getPlatformClassLoader());

        assertThatThrownBy(() -> platform.decode(codec.encode(new Point(1, 2))))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("Cannot decode: class " + Point.class.getName() + " not found by ");
    }

    @Test
    void classesAreResolvedWithTheGivenLoader() throws Exception {
        URL testClasses = CodecTest.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader isolated = new URLClassLoader(new URL[] {testClasses}, ClassLoader.getPlatformClassLoader())) {
            Object back = JavaSerializationCodec.trusted(isolated).decode(codec.encode(new Point(1, 2)));

            assertThat(back.getClass().getName()).isEqualTo(Point.class.getName());
            assertThat(back.getClass().getClassLoader()).isSameAs(isolated);
            assertThat(back.toString()).isEqualTo("Point[x=1, y=2]");
        }
    }

    @Test
    void factoriesRejectNulls() {
        assertThatThrownBy(() -> JavaSerializationCodec.trusted(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> JavaSerializationCodec.allowList(LOADER, (String) null))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> codec.decode(null)).isInstanceOf(NullPointerException.class);
    }
}
