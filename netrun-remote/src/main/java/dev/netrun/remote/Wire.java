package dev.netrun.remote;

import dev.netrun.pool.OutputEntry;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.CodecException;
import dev.netrun.rpc.CompactCodec;
import dev.netrun.rpc.JavaSerializationCodec;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The gRPC service between a {@link RemotePoolClient} and a {@link RemotePoolServer}, built by hand: two
 * methods whose messages are plain {@code byte[]}, so no protobuf code generation is involved.
 *
 * <pre>
 * service netrun.remote.v1.Pools {
 *   rpc Ping(bytes) returns (bytes);                 // connect(): reachability, TLS, token; server facts
 *   rpc Pool(stream bytes) returns (stream bytes);   // one stream = one pool, from CREATE to half-close
 * }
 * </pre>
 *
 * <p><b>Messages.</b> Each gRPC message of the {@code Pool} stream is a <em>batch</em> of frames. A frame, in
 * memory, is an {@code Object[]} whose first element is its type (an {@code Integer}, the constants below)
 * followed by the fields listed at each constant. On the wire ({@link #encodeBatch}) a frame is its type byte
 * and then, for the frames that carry user data ({@link #SEND}, {@link #MESSAGE}), the worker id, the key and
 * the payload written directly; for the other (control) frames, their fields encoded together by the
 * {@link #envelope envelope codec}. User data never sits among the control fields: it travels as a payload
 * encoded separately by the value codec, so a value that one side cannot decode spoils that one message, not
 * the batch, and it is decoded in place, without a copy. Batching lets a burst of frames go out as one gRPC
 * message; a lone frame goes out at once, alone.
 *
 * <p><b>Order.</b> gRPC keeps the order of a stream's messages, and each side writes its frames through one
 * {@link Outbox}, so frames arrive in the order they were offered.
 */
final class Wire {
    private Wire() {
    }

    /** Bumped on any incompatible change of the frames; checked by {@code Ping}. */
    static final int PROTOCOL_VERSION = 1;

    static final String SERVICE = "netrun.remote.v1.Pools";

    /** Call metadata carrying the shared token, when the server asks for one. */
    static final Metadata.Key<String> TOKEN = Metadata.Key.of("netrun-token", Metadata.ASCII_STRING_MARSHALLER);

    // ---- client -> server

    /**
     * First frame of a stream: {@code workerName, numProcesses, threadsPerProcess, redirectOutput, bufferOutput,
     * workerState, maxMessageSize} where {@code workerState} is {@code null} or an encoded, configured instance of
     * the registered worker class (the ExecutionManager's worker carries its print settings this way) and
     * {@code maxMessageSize} the most bytes of one message the client accepts.
     */
    static final int CREATE = 1;
    /** A message for one worker: {@code workerId, key, byte[] payload}. */
    static final int SEND = 2;
    /** Ask for captured output: {@code long requestId, int processIdx (-1 = all), long timeoutMillis}. */
    static final int FLUSH = 3;
    /** Sent just before the client half-closes: {@code long closeTimeoutMillis}. */
    static final int CLOSE = 4;

    // ---- server -> client

    /** The pool runs: {@code numProcesses, threadsPerProcess}. */
    static final int CREATED = 10;
    /** A worker sent a message: {@code workerId, key, byte[] payload}. */
    static final int MESSAGE = 11;
    /**
     * A message could not be carried: {@code workerId, key, String reason}. From the server: the client's
     * message for that worker was refused (the worker never saw it), or the worker's message could not be
     * decoded or re-encoded.
     */
    static final int UNDECODABLE = 12;
    /** A worker function threw: {@code workerId, className, message, stackTrace}. */
    static final int WORKER_FAILED = 13;
    /** A worker died: {@code workerId, Map<String, Object> details} (reason, exitCode, ...). */
    static final int WORKER_CRASHED = 14;
    /**
     * Answer to {@link #FLUSH}: {@code requestId, Map<Integer, List<OutputEntry>> output, errorClass,
     * errorMessage}; the output is {@code null} when the error fields are set.
     */
    static final int FLUSHED = 15;
    /** The pool could not be created: {@code String why}. The server then ends the stream. */
    static final int POOL_ERROR = 16;

    /**
     * netrun's own value types, as allow-list patterns: the ExecutionManager's protocol records, pool and rpc
     * values ({@code OutputEntry}, {@code Message}, ...). Exactly these packages, not their subpackages.
     */
    static final String NETRUN_TYPES = "dev.netrun.exec.*;dev.netrun.pool.*;dev.netrun.rpc.*";

    /**
     * How many gRPC messages each side asks its peer for ahead of processing them (manual inbound flow control):
     * with gRPC's default of one at a time, every message costs a round trip between the transport thread and
     * the application thread. Half of it is asked again each time half has been processed.
     */
    static final int REQUEST_AHEAD = 32;

    /** Bytes kept free in a gRPC message for the envelope around a payload. */
    static final int FRAME_OVERHEAD = 1024;

    /**
     * Messages are plain byte arrays. Outgoing, the stream tells gRPC its length and drains itself into gRPC's
     * buffer in one write ({@link KnownLength}, {@link Drainable}); incoming, gRPC's stream knows its length, so
     * the array is allocated once at its size.
     */
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new BytesStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try (stream) {
                if (stream instanceof KnownLength) {
                    int n = stream.available();
                    byte[] b = new byte[n];
                    if (stream.readNBytes(b, 0, n) == n && stream.read() < 0) {
                        return b;
                    }
                    throw new IOException("the message is not " + n + " bytes long");
                }
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private static final class BytesStream extends ByteArrayInputStream implements KnownLength, Drainable {
        BytesStream(byte[] bytes) {
            super(bytes);
        }

        @Override
        public synchronized int drainTo(OutputStream target) throws IOException {
            int n = count - pos;
            target.write(buf, pos, n);
            pos = count;
            return n;
        }
    }

    static final MethodDescriptor<byte[], byte[]> PING = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Ping"))
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    static final MethodDescriptor<byte[], byte[]> POOL = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Pool"))
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    /**
     * The codec of control frames' fields (and of the {@code Ping} reply) on both sides: netrun's compact codec
     * whose JDK-serialization fallback admits only JDK value types and {@link OutputEntry}. Control fields are
     * numbers, strings, byte arrays, maps, lists and output entries; anything else in one is refused.
     */
    static Codec envelope(int maxMessageSize) {
        return new CompactCodec(JavaSerializationCodec.allowList(Wire.class.getClassLoader(),
                JavaSerializationCodec.Limits.DEFAULT.withMaxBytes(maxMessageSize),
                JavaSerializationCodec.JDK_VALUE_TYPES, OutputEntry.class.getName()));
    }

    /** A payload inside a received batch: decoded in place by {@link Codec#decode(byte[], int, int)}. */
    record Slice(byte[] bytes, int offset, int length) {
        Object decode(Codec codec) {
            return codec.decode(bytes, offset, length);
        }
    }

    /**
     * Writes frames as one batch. Data frames ({@link #SEND}, {@link #MESSAGE}: {@code workerId, key, byte[]}) are
     * written field by field; the fields of control frames are encoded together by {@code control}.
     */
    static byte[] encodeBatch(List<Object[]> frames, Codec control) {
        int estimate = 16;
        for (Object[] f : frames) {
            estimate += sizeOf(f);
        }
        Out out = new Out(estimate);
        out.varint(frames.size());
        for (Object[] f : frames) {
            int type = (Integer) f[0];
            out.varint(type);
            if (type == SEND || type == MESSAGE) {
                out.varint((Integer) f[1]);
                out.bytes(((String) f[2]).getBytes(StandardCharsets.UTF_8));
                out.bytes((byte[]) f[3]);
            } else {
                out.bytes(control.encode(Arrays.copyOfRange(f, 1, f.length)));
            }
        }
        return out.toByteArray();
    }

    /**
     * Reads a batch written by {@link #encodeBatch}. Data frames come back as {@code {type, workerId, key, Slice}},
     * control frames as {@code {type, fields...}}.
     *
     * @throws CodecException if the batch is malformed or a control frame holds what {@code control} refuses
     */
    static List<Object[]> decodeBatch(byte[] batch, Codec control) {
        In in = new In(batch);
        int n = in.length();
        List<Object[]> frames = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
            int type = in.length();
            if (type == SEND || type == MESSAGE) {
                int workerId = in.length();
                int keyLength = in.length();
                String key = new String(batch, in.take(keyLength), keyLength, StandardCharsets.UTF_8);
                int payloadLength = in.length();
                frames.add(new Object[]{type, workerId, key, new Slice(batch, in.take(payloadLength), payloadLength)});
            } else {
                int length = in.length();
                Object fields = control.decode(batch, in.take(length), length);
                if (!(fields instanceof Object[] a)) {
                    throw new CodecException("Malformed batch: control frame " + type + " holds no fields");
                }
                Object[] f = new Object[a.length + 1];
                f[0] = type;
                System.arraycopy(a, 0, f, 1, a.length);
                frames.add(f);
            }
        }
        if (in.pos != batch.length) {
            throw new CodecException("Malformed batch: " + (batch.length - in.pos) + " trailing byte(s)");
        }
        return frames;
    }

    /** A growable byte buffer with varints. Confined to one thread. */
    private static final class Out {
        byte[] buf;
        int size;

        Out(int capacity) {
            buf = new byte[Math.max(64, capacity)];
        }

        void varint(int v) {
            ensure(5);
            while ((v & ~0x7f) != 0) {
                buf[size++] = (byte) ((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            buf[size++] = (byte) v;
        }

        void bytes(byte[] b) {
            varint(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
        }

        private void ensure(int n) {
            if (size + n > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + n));
            }
        }

        byte[] toByteArray() {
            return size == buf.length ? buf : Arrays.copyOf(buf, size);
        }
    }

    /** Reads what {@link Out} wrote, checking every length against the bytes left. */
    private static final class In {
        final byte[] buf;
        int pos;

        In(byte[] buf) {
            this.buf = buf;
        }

        /** @return a non-negative varint that fits in an int */
        int length() {
            int v = 0;
            for (int shift = 0; shift < 32; shift += 7) {
                if (pos >= buf.length) {
                    throw new CodecException("Malformed batch: truncated");
                }
                byte b = buf[pos++];
                v |= (b & 0x7f) << shift;
                if (b >= 0) {
                    if (v < 0) {
                        throw new CodecException("Malformed batch: negative length");
                    }
                    return v;
                }
            }
            throw new CodecException("Malformed batch: varint too long");
        }

        /** Skips {@code n} bytes; @return where they start */
        int take(int n) {
            if (n > buf.length - pos) {
                throw new CodecException("Malformed batch: " + n + " bytes announced, " + (buf.length - pos) + " left");
            }
            int at = pos;
            pos += n;
            return at;
        }
    }

    /** @return a frame: the type followed by its fields */
    static Object[] frame(int type, Object... fields) {
        Object[] f = new Object[fields.length + 1];
        f[0] = type;
        System.arraycopy(fields, 0, f, 1, fields.length);
        return f;
    }

    /** @return the approximate encoded size of a frame, for cutting batches below the message size limit */
    static int sizeOf(Object[] frame) {
        if (frame.length == 4 && frame[3] instanceof byte[] payload && frame[2] instanceof String key) {
            return payload.length + key.length() * 3 + 16; // a data frame
        }
        int n = 16;
        for (Object o : frame) {
            if (o instanceof byte[] b) {
                n += b.length + 5;
            } else if (o instanceof String s) {
                n += s.length() * 3 + 5;
            } else {
                n += 10;
            }
        }
        return n;
    }

    /**
     * Parses {@code "host:port"} (IPv6 as {@code "[::1]:7070"}).
     *
     * @return {@code {host, port}}
     * @throws IllegalArgumentException naming the address if it is malformed
     */
    static Object[] parseAddress(String address) {
        if (address == null) {
            throw new NullPointerException("address");
        }
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new IllegalArgumentException("Address must be host:port, was '" + address + "'");
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (host.isBlank()) {
            throw new IllegalArgumentException("Address must be host:port, was '" + address + "'");
        }
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Address must be host:port, was '" + address + "'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("Port must be 1 to 65535, was " + port + " in '" + address + "'");
        }
        return new Object[]{host, port};
    }
}
