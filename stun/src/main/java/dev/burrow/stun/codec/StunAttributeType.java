package dev.burrow.stun.codec;

/**
 * Attribute type codes (RFC 8489 §18.3, RFC 5780 §7). Types below {@code 0x8000} are
 * comprehension-required: a server that does not understand one in a request answers 420.
 */
public final class StunAttributeType {
    private StunAttributeType() {}

    public static final int MAPPED_ADDRESS = 0x0001;
    /** RFC 5780: ask the server to answer from its other IP and/or port. */
    public static final int CHANGE_REQUEST = 0x0003;

    public static final int USERNAME = 0x0006;
    /** RFC 5780: filler to test fragmentation; accepted and not echoed (smaller answers) in RFC 5780 mode. */
    public static final int PADDING = 0x0026;
    /** RFC 5780: send the response to this port (of the request's source IP). */
    public static final int RESPONSE_PORT = 0x0027;

    public static final int MESSAGE_INTEGRITY = 0x0008;
    public static final int ERROR_CODE = 0x0009;
    public static final int UNKNOWN_ATTRIBUTES = 0x000A;
    public static final int XOR_MAPPED_ADDRESS = 0x0020;
    public static final int MESSAGE_INTEGRITY_SHA256 = 0x001C;
    public static final int SOFTWARE = 0x8022;
    public static final int FINGERPRINT = 0x8028;
    /** RFC 5780: the address the response was sent from. */
    public static final int RESPONSE_ORIGIN = 0x802B;
    /** RFC 5780: the server's other address (different IP and port). */
    public static final int OTHER_ADDRESS = 0x802C;

    public static boolean isComprehensionRequired(int type) {
        return type < 0x8000;
    }
}
