package dev.burrow.protocol.frame;

/** Why the relay refused a connection (DENY). Codes are stable; unknown codes decode as {@link #UNKNOWN}. */
public enum DenyReason {
    UNSUPPORTED_VERSION(1, "protocol version not supported"),
    AUTH_FAILED(2, "authentication failed"),
    NOT_ALLOWED(3, "node not admitted"),
    RATE_LIMITED(4, "too many connections, try later"),
    SERVER_FULL(5, "relay at capacity"),
    DRAINING(6, "relay is draining"),
    PROTOCOL_ERROR(7, "protocol violation"),
    TIMEOUT(8, "handshake took too long"),
    INTERNAL(9, "internal error"),
    UNKNOWN(255, "unknown reason");

    private final int code;
    private final String description;

    DenyReason(int code, String description) {
        this.code = code;
        this.description = description;
    }

    public int code() {
        return code;
    }

    public String description() {
        return description;
    }

    public static DenyReason fromCode(int code) {
        for (DenyReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return UNKNOWN;
    }
}
