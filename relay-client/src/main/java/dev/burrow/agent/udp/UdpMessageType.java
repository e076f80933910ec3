package dev.burrow.agent.udp;

/**
 * The plaintext messages inside a sealed UDP packet ({@link UdpPacket}); the high bit of the type
 * is the direction (0: to the exposing agent, 1: to the connecting agent). Every message starts
 * with {@code type u8 | flow u32}; the flow ID is chosen by the connecting agent and bound, on the
 * exposing side, to the sender's key and session.
 *
 * <pre>
 * 0x01 OPEN     flow u32 | service str8 | cert u16-length DER (the sender's leaf node certificate)
 * 0x02 DATA     flow u32 | payload...   (one user datagram, 0..MAX_PAYLOAD bytes)
 * 0x03 CLOSE    flow u32 | reason u8    (the connecting side forgot the flow)
 * 0x81 OPENED   flow u32 | session[16]  (the OPEN's sender session this answer binds to)
 * 0x82 REFUSED  flow u32 | code u8 (StreamStatusCode) | reason str8 (UTF-8)
 * 0x83 REPLY    flow u32 | payload...   (one datagram from the target)
 * 0x84 CLOSED   flow u32 | reason u8    (the exposing side forgot the flow: idle, reload, caps)
 * </pre>
 * Other types decode as {@link UdpMessage.Unknown} (forward compatibility) and are dropped and counted.
 */
public enum UdpMessageType {
    OPEN(0x01),
    DATA(0x02),
    CLOSE(0x03),
    OPENED(0x81),
    REFUSED(0x82),
    REPLY(0x83),
    CLOSED(0x84);

    private final int code;

    UdpMessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type of {@code code}, or null when unknown. */
    public static UdpMessageType of(int code) {
        for (UdpMessageType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
