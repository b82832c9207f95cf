package dev.netrun.rpc;

import java.util.Arrays;
import java.util.Objects;

/**
 * Turns message payloads into bytes and back, for channels that cross a process boundary (such as
 * {@link StreamChannel}). The in-memory channels of {@link Channels#pair()} pass objects by reference and
 * use no codec.
 *
 * <p>The standard implementation is {@link JavaSerializationCodec}. A codec used on data that came from
 * outside this machine must restrict what it decodes (an allow-list), never "decode anything".
 *
 * <p><b>Thread safety.</b> Implementations must be safe for concurrent use by any number of threads:
 * a channel encodes on its senders' threads and decodes on its reader thread at the same time. Neither
 * method blocks on I/O.
 */
public interface Codec {

    /**
     * Encodes a value.
     *
     * @param value the value, possibly {@code null}
     * @return the encoded bytes, never {@code null}; the caller may keep and modify the array
     * @throws CodecException if the value cannot be encoded; the message names the offending class
     */
    byte[] encode(Object value);

    /**
     * Decodes bytes produced by {@link #encode} (possibly in another process).
     *
     * @param bytes the encoded bytes
     * @return the decoded value, possibly {@code null}
     * @throws CodecException       if the bytes are malformed, name a class that is not allowed or cannot be
     *                              loaded, or exceed a limit of this codec
     * @throws NullPointerException if {@code bytes} is {@code null}
     */
    Object decode(byte[] bytes);

    /**
     * Decodes {@code length} bytes of {@code bytes} starting at {@code offset}; lets a channel decode a
     * payload in place inside a larger frame. The default copies the range and calls {@link #decode(byte[])};
     * implementations should override it to avoid the copy.
     *
     * @param bytes  the array holding the encoded bytes
     * @param offset where they start
     * @param length how many there are
     * @return the decoded value, possibly {@code null}
     * @throws CodecException            as {@link #decode(byte[])}
     * @throws IndexOutOfBoundsException if the range is not inside {@code bytes}
     */
    default Object decode(byte[] bytes, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        return decode(Arrays.copyOfRange(bytes, offset, offset + length));
    }
}
