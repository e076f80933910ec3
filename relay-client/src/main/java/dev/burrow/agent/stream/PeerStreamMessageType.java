package dev.burrow.agent.stream;

/**
 * Peer stream preamble messages. The preamble is sent <em>inside</em> the end-to-end TLS between
 * dialer and listener, before any service data. Every message is
 *
 * <pre>
 * +--------+----------------+----------------------+
 * | type   | length         | payload              |
 * | u8     | u16 big-endian | length bytes         |
 * +--------+----------------+----------------------+
 * </pre>
 *
 * <p>{@code length} is unsigned and checked against {@link PeerStreamLimits#MAX_PAYLOAD} as soon as
 * the three header bytes are in. Fields: {@code str8} is a u8 length and that many bytes of UTF-8.
 * Receivers ignore trailing payload bytes after the fields they know (later versions may add fields).
 */
public enum PeerStreamMessageType {
    /**
     * Dialer to listener, exactly once, first: {@code u16 version, str8 service}. The service must
     * be a valid service name and equal to the one the path announced (the relay's circuit offer).
     */
    OPEN(0x01, 2 + 1 + 63),
    /**
     * Listener to dialer, exactly once, in answer to OPEN: {@code u8 code, str8 message}. Code 0
     * (OK) means every later byte in both directions is service data; any other code is followed
     * by the listener closing the stream.
     */
    STATUS(0x02, 1 + 1 + 255);

    private final int code;
    private final int maxPayload;

    PeerStreamMessageType(int code, int maxPayload) {
        this.code = code;
        this.maxPayload = maxPayload;
    }

    public int code() {
        return code;
    }

    /** The largest payload of this type in this version (receivers accept up to {@link PeerStreamLimits#MAX_PAYLOAD}). */
    public int maxPayload() {
        return maxPayload;
    }

    /** The type for a code, or null when unknown. */
    public static PeerStreamMessageType fromCode(int code) {
        for (PeerStreamMessageType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
