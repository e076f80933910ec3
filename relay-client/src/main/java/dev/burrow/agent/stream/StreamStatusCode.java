package dev.burrow.agent.stream;

import dev.burrow.protocol.frame.CircuitRejectReason;

/**
 * The listener's answer to an OPEN. Codes 1-9 share their meaning with the relay's circuit reject
 * reasons so a refusal reads the same whichever layer said it. Codes are stable; unknown codes
 * decode as {@link #UNKNOWN}, never an error.
 */
public enum StreamStatusCode {
    /** Accepted: every later byte is service data. */
    OK(0),
    /**
     * Said by this agent, never by a listener: no node (or more than one) with the forward's name is
     * connected to the relay.
     */
    PEER_NOT_FOUND(1),
    /** The listener exposes no service by that name. */
    SERVICE_UNKNOWN(2),
    /** The listener's allow rules do not admit the dialer. */
    NOT_ALLOWED(3),
    /** A per-peer or per-service connection cap was reached. */
    LIMIT_REACHED(4),
    /** The listener could not connect to its local target. */
    TARGET_UNREACHABLE(7),
    /** Malformed OPEN, or its service differs from the one the path announced. */
    BAD_REQUEST(8),
    INTERNAL(9),
    /** The listener does not speak the OPEN's preamble version. */
    UNSUPPORTED_VERSION(10),
    UNKNOWN(255);

    private final int code;

    StreamStatusCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static StreamStatusCode fromCode(int code) {
        for (StreamStatusCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return UNKNOWN;
    }

    /** The matching relay circuit reject reason (for refusing an offer before any stream exists). */
    public CircuitRejectReason toCircuitReason() {
        return switch (this) {
            case PEER_NOT_FOUND -> CircuitRejectReason.PEER_NOT_FOUND;
            case SERVICE_UNKNOWN -> CircuitRejectReason.SERVICE_UNKNOWN;
            case NOT_ALLOWED -> CircuitRejectReason.NOT_ALLOWED;
            case LIMIT_REACHED -> CircuitRejectReason.LIMIT_REACHED;
            case TARGET_UNREACHABLE -> CircuitRejectReason.TARGET_UNREACHABLE;
            case BAD_REQUEST, UNSUPPORTED_VERSION -> CircuitRejectReason.BAD_REQUEST;
            default -> CircuitRejectReason.INTERNAL;
        };
    }

    /** The stream status that corresponds to a relay circuit reject reason. */
    public static StreamStatusCode fromCircuitReason(CircuitRejectReason reason) {
        return switch (reason) {
            case PEER_NOT_FOUND -> PEER_NOT_FOUND;
            case SERVICE_UNKNOWN -> SERVICE_UNKNOWN;
            case NOT_ALLOWED -> NOT_ALLOWED;
            case LIMIT_REACHED -> LIMIT_REACHED;
            case TARGET_UNREACHABLE -> TARGET_UNREACHABLE;
            case BAD_REQUEST -> BAD_REQUEST;
            default -> UNKNOWN;
        };
    }
}
