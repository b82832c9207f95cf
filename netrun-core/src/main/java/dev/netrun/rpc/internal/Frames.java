package dev.netrun.rpc.internal;

/**
 * The frame format of {@link dev.netrun.rpc.StreamChannel}. All integers are big-endian.
 *
 * <pre>
 * frame    = length:u32  type:u8  body
 *            length counts the bytes after itself (type + body): 1 .. maxFrameSize
 * MESSAGE  (type 1) body = keyLength:u16  key:UTF-8[keyLength]  data:byte[length - 3 - keyLength]
 *            data is the payload as encoded by the channel's Codec
 * SHUTDOWN (type 2) body = empty (length == 1); the sender closed its end in an orderly way and sends
 *            nothing after it
 * </pre>
 *
 * Any other type, a length of 0 or above the receiver's limit, a MESSAGE whose key does not fit in its
 * body, a SHUTDOWN with a body, or an end of stream inside a frame is a protocol violation: the receiver
 * treats the connection as broken.
 *
 * <p>Not part of the public API: the package is {@code internal} and may change without notice.
 */
public final class Frames {
    /** Frame type of a message. */
    public static final byte MESSAGE = 1;
    /** Frame type of the orderly end of a stream. */
    public static final byte SHUTDOWN = 2;
    /** The longest key, in UTF-8 bytes. */
    public static final int MAX_KEY_BYTES = 0xFFFF;
    /** Length prefix, type and key length of a MESSAGE frame. */
    public static final int MESSAGE_HEADER_BYTES = 4 + 1 + 2;

    private Frames() {
    }

    /**
     * @param keyBytes  the key's length in UTF-8 bytes
     * @param dataBytes the encoded payload's length
     * @return the length prefix of a MESSAGE frame with those sizes
     */
    public static long messageLength(int keyBytes, int dataBytes) {
        return 1L + 2 + keyBytes + dataBytes;
    }
}
