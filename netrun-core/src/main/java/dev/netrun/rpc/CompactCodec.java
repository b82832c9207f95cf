package dev.netrun.rpc;

import java.io.ObjectInputFilter;
import java.io.Serializable;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A compact binary codec for the values netrun sends most: {@code null}, booleans, numbers, strings,
 * {@code Instant}s, byte arrays, {@code Object[]}, common lists and maps, and serializable records made of
 * those. Anything else is handed, inside the same payload, to a {@link JavaSerializationCodec}, so every
 * {@code Serializable} value (a serializable lambda included) still round-trips.
 *
 * <p>Why: JDK serialization writes class descriptors with every message and reflects its way through
 * each object; for the small request/reply messages of a job that costs several microseconds a message.
 * This codec writes a tag byte and the raw value ({@code netrun bench} shows the difference in its codec
 * rows).
 *
 * <p>Fidelity: lists decode as {@code ArrayList} (or an unmodifiable list when the original was
 * unmodifiable), maps as {@code HashMap}/{@code LinkedHashMap} (or an unmodifiable map keeping the
 * original's iteration order); exact classes only: a subclass of {@code ArrayList}, say, goes through JDK
 * serialization and keeps its class.
 *
 * <p>Security: a record is only rebuilt if its class passes the fallback codec's class filter, by its
 * canonical constructor (so its own validation runs, as with JDK serialization); every length is checked
 * against the bytes left, and nesting is limited, so malformed input fails with {@link CodecException},
 * never an {@code OutOfMemoryError}.
 *
 * <p>Thread-safe: encoders and decoders keep no shared mutable state besides concurrent caches.
 */
public final class CompactCodec implements Codec {
    private static final int NULL = 0;
    private static final int TRUE = 1;
    private static final int FALSE = 2;
    private static final int INT = 3;
    private static final int LONG = 4;
    private static final int DOUBLE = 5;
    private static final int STRING = 6;
    private static final int INSTANT = 7;
    private static final int BYTES = 8;
    private static final int OBJECT_ARRAY = 9;
    private static final int ARRAY_LIST = 10;
    private static final int UNMODIFIABLE_LIST = 11;
    private static final int HASH_MAP = 12;
    private static final int LINKED_HASH_MAP = 13;
    private static final int UNMODIFIABLE_MAP = 14;
    private static final int RECORD = 15;
    private static final int JAVA = 16;
    private static final int FLOAT = 17;
    private static final int SHORT = 18;
    private static final int BYTE = 19;
    private static final int CHAR = 20;

    private static final int MAX_DEPTH = 256;

    private static final Class<?> LIST_12 = List.of(1).getClass();
    private static final Class<?> LIST_N = List.of(1, 2, 3).getClass();
    private static final Class<?> LIST_EMPTY = List.of().getClass();
    private static final Class<?> UNMOD_LIST = Collections.unmodifiableList(new ArrayList<>()).getClass();
    private static final Class<?> UNMOD_RA_LIST = Collections.unmodifiableList(new ArrayList<>()).getClass();
    private static final Class<?> ARRAYS_LIST = Arrays.asList(1).getClass();
    private static final Class<?> MAP_1 = Map.of(1, 1).getClass();
    private static final Class<?> MAP_N = Map.of(1, 1, 2, 2).getClass();
    private static final Class<?> MAP_EMPTY = Map.of().getClass();
    private static final Class<?> UNMOD_MAP = Collections.unmodifiableMap(new HashMap<>()).getClass();

    private final JavaSerializationCodec fallback;
    private final ObjectInputFilter filter;
    private final ConcurrentHashMap<Class<?>, RecordShape> encodeShapes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RecordShape> decodeShapes = new ConcurrentHashMap<>();

    /**
     * @param fallback encodes and decodes what this codec has no compact form for; its class loader and
     *                 class filter also decide which record classes may be rebuilt
     */
    public CompactCodec(JavaSerializationCodec fallback) {
        this.fallback = Objects.requireNonNull(fallback, "fallback");
        this.filter = fallback.classFilter();
    }

    @Override
    public byte[] encode(Object value) {
        Out out = new Out();
        write(out, value, 0);
        return out.toByteArray();
    }

    @Override
    public Object decode(byte[] bytes) {
        return decode(bytes, 0, bytes.length);
    }

    @Override
    public Object decode(byte[] bytes, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        In in = new In(bytes, offset, offset + length);
        try {
            Object v = read(in, 0);
            if (in.pos != in.end) {
                throw new CodecException("Malformed payload: " + (in.end - in.pos) + " trailing byte(s)");
            }
            return v;
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new CodecException("Malformed payload: truncated", e);
        }
    }

    @Override
    public String toString() {
        return "CompactCodec[fallback=" + fallback + "]";
    }

    // ------------------------------------------------------------------------------------------ encoding

    private void write(Out out, Object v, int depth) {
        if (depth > MAX_DEPTH) {
            throw new CodecException("Cannot encode: nesting deeper than " + MAX_DEPTH);
        }
        if (v == null) {
            out.tag(NULL);
            return;
        }
        Class<?> c = v.getClass();
        if (c == String.class) {
            out.tag(STRING);
            out.string((String) v);
        } else if (c == Integer.class) {
            out.tag(INT);
            out.varLong(zigzag((Integer) v));
        } else if (c == Long.class) {
            out.tag(LONG);
            out.varLong(zigzag((Long) v));
        } else if (c == Boolean.class) {
            out.tag((Boolean) v ? TRUE : FALSE);
        } else if (c == Double.class) {
            out.tag(DOUBLE);
            out.fixed64(Double.doubleToRawLongBits((Double) v));
        } else if (c == Instant.class) {
            Instant i = (Instant) v;
            out.tag(INSTANT);
            out.varLong(zigzag(i.getEpochSecond()));
            out.varLong(i.getNano());
        } else if (c == Object[].class) {
            Object[] a = (Object[]) v;
            out.tag(OBJECT_ARRAY);
            out.varLong(a.length);
            for (Object o : a) {
                write(out, o, depth + 1);
            }
        } else if (c == byte[].class) {
            byte[] b = (byte[]) v;
            out.tag(BYTES);
            out.varLong(b.length);
            out.bytes(b, 0, b.length);
        } else if (c == ArrayList.class) {
            writeList(out, ARRAY_LIST, (List<?>) v, depth);
        } else if (c == LIST_12 || c == LIST_N || c == LIST_EMPTY || c == UNMOD_LIST || c == UNMOD_RA_LIST
                || c == ARRAYS_LIST) {
            writeList(out, c == ARRAYS_LIST ? ARRAY_LIST : UNMODIFIABLE_LIST, (List<?>) v, depth);
        } else if (c == HashMap.class) {
            writeMap(out, HASH_MAP, (Map<?, ?>) v, depth);
        } else if (c == LinkedHashMap.class) {
            writeMap(out, LINKED_HASH_MAP, (Map<?, ?>) v, depth);
        } else if (c == MAP_1 || c == MAP_N || c == MAP_EMPTY || c == UNMOD_MAP) {
            writeMap(out, UNMODIFIABLE_MAP, (Map<?, ?>) v, depth);
        } else if (c == Float.class) {
            out.tag(FLOAT);
            out.fixed64(Float.floatToRawIntBits((Float) v));
        } else if (c == Short.class) {
            out.tag(SHORT);
            out.varLong(zigzag((Short) v));
        } else if (c == Byte.class) {
            out.tag(BYTE);
            out.varLong(zigzag((Byte) v));
        } else if (c == Character.class) {
            out.tag(CHAR);
            out.varLong((Character) v);
        } else {
            RecordShape shape = c.isRecord() ? encodeShapes.computeIfAbsent(c, RecordShape::forEncoding) : null;
            if (shape != null && shape.compact) {
                out.tag(RECORD);
                out.string(c.getName());
                out.varLong(shape.getters.length);
                for (int i = 0; i < shape.getters.length; i++) {
                    write(out, shape.get(i, v), depth + 1);
                }
            } else {
                byte[] b = fallback.encode(v);
                out.tag(JAVA);
                out.varLong(b.length);
                out.bytes(b, 0, b.length);
            }
        }
    }

    private void writeList(Out out, int tag, List<?> l, int depth) {
        out.tag(tag);
        out.varLong(l.size());
        for (Object o : l) {
            write(out, o, depth + 1);
        }
    }

    private void writeMap(Out out, int tag, Map<?, ?> m, int depth) {
        out.tag(tag);
        out.varLong(m.size());
        for (Map.Entry<?, ?> e : m.entrySet()) {
            write(out, e.getKey(), depth + 1);
            write(out, e.getValue(), depth + 1);
        }
    }

    private static long zigzag(long v) {
        return (v << 1) ^ (v >> 63);
    }

    private static long unzigzag(long v) {
        return (v >>> 1) ^ -(v & 1);
    }

    // ------------------------------------------------------------------------------------------ decoding

    private Object read(In in, int depth) {
        if (depth > MAX_DEPTH) {
            throw new CodecException("Malformed payload: nesting deeper than " + MAX_DEPTH);
        }
        int tag = in.tag();
        switch (tag) {
            case NULL:
                return null;
            case TRUE:
                return Boolean.TRUE;
            case FALSE:
                return Boolean.FALSE;
            case INT: {
                long v = unzigzag(in.varLong());
                if (v != (int) v) {
                    throw new CodecException("Malformed payload: int out of range");
                }
                return (int) v;
            }
            case LONG:
                return unzigzag(in.varLong());
            case DOUBLE:
                return Double.longBitsToDouble(in.fixed64());
            case FLOAT:
                return Float.intBitsToFloat((int) in.fixed64());
            case SHORT:
                return (short) unzigzag(in.varLong());
            case BYTE:
                return (byte) unzigzag(in.varLong());
            case CHAR:
                return (char) in.varLong();
            case STRING:
                return in.string();
            case INSTANT: {
                long seconds = unzigzag(in.varLong());
                long nanos = in.varLong();
                try {
                    return Instant.ofEpochSecond(seconds, nanos);
                } catch (RuntimeException e) {
                    throw new CodecException("Malformed payload: bad instant", e);
                }
            }
            case BYTES: {
                int n = in.length(1);
                byte[] b = Arrays.copyOfRange(in.buf, in.pos, in.pos + n);
                in.pos += n;
                return b;
            }
            case OBJECT_ARRAY: {
                int n = in.length(1);
                Object[] a = new Object[n];
                for (int i = 0; i < n; i++) {
                    a[i] = read(in, depth + 1);
                }
                return a;
            }
            case ARRAY_LIST:
            case UNMODIFIABLE_LIST: {
                int n = in.length(1);
                ArrayList<Object> l = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    l.add(read(in, depth + 1));
                }
                return tag == ARRAY_LIST ? l : Collections.unmodifiableList(l);
            }
            case HASH_MAP:
            case LINKED_HASH_MAP:
            case UNMODIFIABLE_MAP: {
                int n = in.length(2);
                Map<Object, Object> m = tag == HASH_MAP ? new HashMap<>(capacity(n)) : new LinkedHashMap<>(capacity(n));
                for (int i = 0; i < n; i++) {
                    Object k = read(in, depth + 1);
                    m.put(k, read(in, depth + 1));
                }
                return tag == UNMODIFIABLE_MAP ? Collections.unmodifiableMap(m) : m;
            }
            case RECORD: {
                String name = in.string();
                int n = in.length(1);
                RecordShape shape = decodeShapes.get(name);
                if (shape == null) {
                    shape = RecordShape.forDecoding(name, fallback.classLoader(), filter);
                    decodeShapes.putIfAbsent(name, shape);
                }
                if (n != shape.getters.length) {
                    throw new CodecException("Malformed payload: record " + name + " has " + shape.getters.length
                            + " components, the payload " + n);
                }
                Object[] values = new Object[n];
                for (int i = 0; i < n; i++) {
                    values[i] = read(in, depth + 1);
                }
                return shape.construct(values);
            }
            case JAVA: {
                int n = in.length(1);
                Object v = fallback.decode(in.buf, in.pos, n);
                in.pos += n;
                return v;
            }
            default:
                throw new CodecException("Malformed payload: unknown tag " + tag);
        }
    }

    private static int capacity(int n) {
        return n < 3 ? 4 : (int) Math.min(1 << 30, n / 0.75f + 1);
    }

    /**
     * How to take a record apart and put it together again: its accessors and canonical constructor, by core
     * reflection (cheap on first use, which matters in a child JVM's start-up, and fast once warm).
     */
    private static final class RecordShape {
        final boolean compact;
        final Method[] getters;
        final Constructor<?> constructor;
        final String name;

        private RecordShape(boolean compact, Method[] getters, Constructor<?> constructor, String name) {
            this.compact = compact;
            this.getters = getters;
            this.constructor = constructor;
            this.name = name;
        }

        /** Serializable records without custom serialization hooks take the compact form. */
        static RecordShape forEncoding(Class<?> c) {
            if (!Serializable.class.isAssignableFrom(c) || hasHook(c, "writeReplace") || hasHook(c, "readResolve")) {
                return new RecordShape(false, null, null, c.getName());
            }
            try {
                return of(c);
            } catch (ReflectiveOperationException | RuntimeException e) {
                return new RecordShape(false, null, null, c.getName());
            }
        }

        static RecordShape forDecoding(String name, ClassLoader loader, ObjectInputFilter filter) {
            Class<?> c;
            try {
                c = Class.forName(name, false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                throw new CodecException("Cannot decode record " + name + ": class not found", e);
            }
            if (!c.isRecord() || !Serializable.class.isAssignableFrom(c)) {
                throw new CodecException("Cannot decode " + name + ": not a serializable record");
            }
            if (filter != null && filter.checkInput(new ClassInfo(c)) != ObjectInputFilter.Status.ALLOWED) {
                throw new CodecException("Cannot decode record " + name + ": class not allowed by the filter");
            }
            try {
                return of(c);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new CodecException("Cannot decode record " + name + ": " + e, e);
            }
        }

        private static RecordShape of(Class<?> c) throws ReflectiveOperationException {
            RecordComponent[] rc = c.getRecordComponents();
            Method[] getters = new Method[rc.length];
            Class<?>[] types = new Class<?>[rc.length];
            for (int i = 0; i < rc.length; i++) {
                getters[i] = rc[i].getAccessor();
                getters[i].setAccessible(true);
                types[i] = rc[i].getType();
            }
            Constructor<?> ctor = c.getDeclaredConstructor(types);
            ctor.setAccessible(true);
            return new RecordShape(true, getters, ctor, c.getName());
        }

        private static boolean hasHook(Class<?> c, String method) {
            try {
                c.getDeclaredMethod(method);
                return true;
            } catch (NoSuchMethodException e) {
                return false;
            }
        }

        Object get(int component, Object record) {
            try {
                return getters[component].invoke(record);
            } catch (ReflectiveOperationException e) {
                throw new CodecException("Cannot encode " + name + ": reading a component failed", e);
            }
        }

        Object construct(Object[] values) {
            try {
                return constructor.newInstance(values);
            } catch (IllegalArgumentException e) {
                throw new CodecException("Cannot decode record " + name + ": a component has the wrong type", e);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw new CodecException("Cannot decode record " + name + ": its constructor threw " + e.getCause(),
                        e.getCause());
            } catch (ReflectiveOperationException e) {
                throw new CodecException("Cannot decode record " + name + ": " + e, e);
            }
        }
    }

    /** What a class filter sees for one record class. */
    private record ClassInfo(Class<?> serialClass) implements ObjectInputFilter.FilterInfo {
        @Override
        public long arrayLength() {
            return -1;
        }

        @Override
        public long depth() {
            return 1;
        }

        @Override
        public long references() {
            return 0;
        }

        @Override
        public long streamBytes() {
            return 0;
        }
    }

    /** A growable byte buffer. */
    private static final class Out {
        byte[] buf = new byte[64];
        int len;

        void ensure(int n) {
            if (len + n > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
            }
        }

        void tag(int t) {
            ensure(1);
            buf[len++] = (byte) t;
        }

        void varLong(long v) {
            ensure(10);
            while ((v & ~0x7FL) != 0) {
                buf[len++] = (byte) ((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            buf[len++] = (byte) v;
        }

        void fixed64(long v) {
            ensure(8);
            for (int i = 0; i < 8; i++) {
                buf[len++] = (byte) (v >>> (8 * i));
            }
        }

        void string(String s) {
            int n = s.length();
            boolean ascii = true;
            for (int i = 0; i < n; i++) {
                if (s.charAt(i) >= 0x80) {
                    ascii = false;
                    break;
                }
            }
            if (ascii) {
                varLong(n);
                ensure(n);
                for (int i = 0; i < n; i++) {
                    buf[len++] = (byte) s.charAt(i);
                }
            } else {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                varLong(b.length);
                bytes(b, 0, b.length);
            }
        }

        void bytes(byte[] b, int off, int n) {
            ensure(n);
            System.arraycopy(b, off, buf, len, n);
            len += n;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, len);
        }
    }

    /** A cursor over the payload; every length is checked against what is left. */
    private static final class In {
        final byte[] buf;
        int pos;
        final int end;

        In(byte[] buf, int pos, int end) {
            this.buf = buf;
            this.pos = pos;
            this.end = end;
        }

        int tag() {
            if (pos >= end) {
                throw new CodecException("Malformed payload: truncated");
            }
            return buf[pos++] & 0xFF;
        }

        long varLong() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new CodecException("Malformed payload: truncated number");
                }
                byte b = buf[pos++];
                v |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new CodecException("Malformed payload: number too long");
        }

        long fixed64() {
            if (end - pos < 8) {
                throw new CodecException("Malformed payload: truncated number");
            }
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v |= (buf[pos++] & 0xFFL) << (8 * i);
            }
            return v;
        }

        /** Reads a count of items each taking at least {@code minBytes}; rejects counts the payload cannot hold. */
        int length(int minBytes) {
            long n = varLong();
            if (n < 0 || n > (long) (end - pos) / minBytes) {
                throw new CodecException("Malformed payload: length " + n + " exceeds the " + (end - pos) + " byte(s) left");
            }
            return (int) n;
        }

        String string() {
            int n = length(1);
            String s = new String(buf, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }
    }
}
