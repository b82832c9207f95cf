package dev.netrun.rpc.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;

/**
 * Reads frames (see {@link Frames}) from a byte channel through one direct buffer, validating each header
 * before reading its body. Memory is bounded by the frame limit: a body is read into an array that starts at
 * most {@value #INITIAL_BODY_CAPACITY} bytes and grows only as bytes actually arrive, so a length prefix
 * that lies costs nothing until the peer sends the bytes.
 *
 * <p>Not part of the public API: the package is {@code internal} and may change without notice.
 *
 * <p>Not thread-safe: confined to one reader thread.
 */
public final class FrameReader {

    /** The bytes violate the frame format. */
    public static final class MalformedFrameException extends IOException {
        private static final long serialVersionUID = 1L;

        /** @param message the violation */
        public MalformedFrameException(String message) {
            super(message);
        }
    }

    /** What {@link #next()} returns at a clean end of stream (between frames). */
    public static final int EOF = -1;
    static final int INITIAL_BODY_CAPACITY = 1 << 20;

    private final ReadableByteChannel in;
    /** Kept in read mode: the bytes between position and limit are received and not yet consumed. */
    private final ByteBuffer buf;
    private final int maxFrameSize;
    private int bodyLength;

    /**
     * @param in           the channel to read, in blocking mode
     * @param bufferSize   the size of the direct read buffer, at least 16
     * @param maxFrameSize the largest length prefix accepted
     */
    public FrameReader(ReadableByteChannel in, int bufferSize, int maxFrameSize) {
        this.in = in;
        this.buf = ByteBuffer.allocateDirect(bufferSize);
        this.buf.flip(); // empty, in read mode
        this.maxFrameSize = maxFrameSize;
    }

    /**
     * Reads and validates the next frame header, blocking until it arrives.
     *
     * @return {@link Frames#MESSAGE}, {@link Frames#SHUTDOWN}, or {@link #EOF} if the stream ended cleanly
     *         between frames; after {@code MESSAGE} call {@link #readBody()} or {@link #skipBody()}
     * @throws MalformedFrameException if the header violates the format
     * @throws EOFException            if the stream ended inside the header
     * @throws IOException             if reading failed
     */
    public int next() throws IOException {
        if (!fill(5)) {
            return EOF;
        }
        long length = buf.getInt() & 0xFFFF_FFFFL;
        if (length == 0) {
            throw new MalformedFrameException("invalid frame length 0");
        }
        if (length > maxFrameSize) {
            throw new MalformedFrameException("frame of " + length + " bytes exceeds the limit of " + maxFrameSize);
        }
        byte type = buf.get();
        bodyLength = (int) length - 1;
        switch (type) {
            case Frames.MESSAGE:
                if (bodyLength < 2) {
                    throw new MalformedFrameException("MESSAGE frame of " + length + " bytes has no key length");
                }
                return type;
            case Frames.SHUTDOWN:
                if (bodyLength != 0) {
                    throw new MalformedFrameException("SHUTDOWN frame with a body of " + bodyLength + " bytes");
                }
                return type;
            default:
                throw new MalformedFrameException("unknown frame type " + (type & 0xFF)
                        + " (frame length " + length + ")");
        }
    }

    /**
     * Reads the body of the current frame (after its type byte), blocking until all of it arrived.
     *
     * @return a new array of exactly the body's length
     * @throws EOFException if the stream ended inside the body
     * @throws IOException  if reading failed
     */
    public byte[] readBody() throws IOException {
        int len = bodyLength;
        byte[] out = new byte[Math.min(len, INITIAL_BODY_CAPACITY)];
        int filled = 0;
        while (filled < len) {
            if (!buf.hasRemaining()) {
                refill(filled, len);
            }
            int n = Math.min(buf.remaining(), len - filled);
            if (filled + n > out.length) {
                out = Arrays.copyOf(out, (int) Math.min(len, Math.max(2L * out.length, filled + n)));
            }
            buf.get(out, filled, n);
            filled += n;
        }
        return out;
    }

    /**
     * Skips the body of the current frame, blocking until all of it arrived.
     *
     * @throws EOFException if the stream ended inside the body
     * @throws IOException  if reading failed
     */
    public void skipBody() throws IOException {
        int len = bodyLength;
        int skipped = 0;
        while (skipped < len) {
            if (!buf.hasRemaining()) {
                refill(skipped, len);
            }
            int n = Math.min(buf.remaining(), len - skipped);
            buf.position(buf.position() + n);
            skipped += n;
        }
    }

    /** Reads more bytes into the (empty) buffer. */
    private void refill(int have, int want) throws IOException {
        buf.clear();
        int r;
        try {
            r = in.read(buf);
        } finally {
            buf.flip();
        }
        if (r < 0) {
            throw new EOFException("truncated frame: end of stream after " + have + " of " + want + " body bytes");
        }
    }

    /**
     * Makes at least {@code n} bytes available. Returns {@code false} at an end of stream with no pending
     * byte; throws {@link EOFException} at an end of stream after a partial header.
     */
    private boolean fill(int n) throws IOException {
        while (buf.remaining() < n) {
            buf.compact();
            int r;
            try {
                r = in.read(buf);
            } finally {
                buf.flip();
            }
            if (r < 0) {
                if (buf.remaining() == 0) {
                    return false;
                }
                throw new EOFException("truncated frame: end of stream after " + buf.remaining()
                        + " of " + n + " header bytes");
            }
        }
        return true;
    }
}
