package dev.burrow.protocol.frame;

/** Why a circuit was not made. Codes are stable; unknown codes decode as {@link #UNKNOWN}. */
public enum CircuitRejectReason {
    /** The destination node is not connected to the relay (or its mesh). */
    PEER_NOT_FOUND(1),
    /** The listener exposes no service by that name. */
    SERVICE_UNKNOWN(2),
    /** The listener's allow rules do not admit the dialer. */
    NOT_ALLOWED(3),
    /** A circuit or connection cap was reached (relay or listener). */
    LIMIT_REACHED(4),
    /** The listener did not answer, or an end did not attach, in time. */
    TIMEOUT(5),
    /** The relay is draining and takes no new circuits. */
    RELAY_DRAINING(6),
    /** The listener could not reach its local target. */
    TARGET_UNREACHABLE(7),
    /** The request was malformed (bad service name, circuit to self). */
    BAD_REQUEST(8),
    INTERNAL(9),
    UNKNOWN(255);

    private final int code;

    CircuitRejectReason(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static CircuitRejectReason fromCode(int code) {
        for (CircuitRejectReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return UNKNOWN;
    }
}
