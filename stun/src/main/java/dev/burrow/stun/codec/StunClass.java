package dev.burrow.stun.codec;

/**
 * The class of a STUN message (RFC 8489 §5): two bits, C1 at bit 8 and C0 at bit 4 of the
 * 14-bit message type, interleaved with the 12-bit method.
 */
public enum StunClass {
    REQUEST(0b00),
    INDICATION(0b01),
    SUCCESS_RESPONSE(0b10),
    ERROR_RESPONSE(0b11);

    private final int bits;

    StunClass(int bits) {
        this.bits = bits;
    }

    /** The two class bits, C1 C0. */
    public int bits() {
        return bits;
    }

    public boolean isResponse() {
        return this == SUCCESS_RESPONSE || this == ERROR_RESPONSE;
    }

    /** The class of a 14-bit message type. */
    public static StunClass ofMessageType(int messageType) {
        int c = ((messageType >> 7) & 0b10) | ((messageType >> 4) & 0b01);
        return values()[c];
    }

    /** The method of a 14-bit message type (12 bits, M0..M11). */
    public static int methodOf(int messageType) {
        return (messageType & 0x000F) | ((messageType >> 1) & 0x0070) | ((messageType >> 2) & 0x0F80);
    }

    /** Interleaves a 12-bit method with these class bits into the 14-bit message type. */
    public int messageType(int method) {
        return (method & 0x000F)
                | ((method & 0x0070) << 1)
                | ((method & 0x0F80) << 2)
                | ((bits & 0b01) << 4)
                | ((bits & 0b10) << 7);
    }
}
