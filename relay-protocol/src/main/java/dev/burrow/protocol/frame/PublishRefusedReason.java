package dev.burrow.protocol.frame;

/** Why a relay did not publish a service on a public port. Codes are stable; unknown codes decode as {@link #UNKNOWN}. */
public enum PublishRefusedReason {
    /** Public ingress is off on this relay (the default). */
    NOT_ENABLED(1),
    /** The relay operator does not let this node publish (or not this service). */
    NOT_ALLOWED(2),
    /** Every port of the relay's ingress range is taken. */
    NO_PORT_FREE(3),
    /** Malformed request: no source prefixes, a zero cap, ... */
    BAD_REQUEST(4),
    /** This node already publishes the relay's maximum number of services. */
    LIMIT_REACHED(5),
    /** The port could not be bound (taken by another program). */
    BIND_FAILED(6),
    /** The relay is draining and publishes nothing new. */
    DRAINING(7),
    INTERNAL(9),
    UNKNOWN(255);

    private final int code;

    PublishRefusedReason(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static PublishRefusedReason fromCode(int code) {
        for (PublishRefusedReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return UNKNOWN;
    }
}
