package dev.burrow.agent.stream;

/**
 * What a refused peer is told. A peer that some rule of some exposed service admits gets the real
 * reason (a typo in a service name, a full service). A peer that no rule of any service admits gets
 * one and the same answer whatever it asked for, so it cannot tell a service that exists from one
 * that does not (NOT_ALLOWED vs SERVICE_UNKNOWN) nor learn about load (LIMIT_REACHED). The real
 * reason stays in the exposing agent's log, metrics and {@code burrow status} (recent refusals).
 */
public final class PeerRefusals {
    /** The one answer for an unauthorised peer. */
    public static final StreamStatusCode UNAUTHORISED_CODE = StreamStatusCode.NOT_ALLOWED;

    public static final String UNAUTHORISED_MESSAGE = "not allowed";

    /** A refusal as the peer sees it. */
    public record Told(StreamStatusCode code, String message) {}

    private PeerRefusals() {}

    /**
     * Maps the internal refusal to what the peer is told.
     *
     * @param admittedBySomeRule whether any rule of any exposed service admits this peer
     */
    public static Told toPeer(StreamStatusCode code, String message, boolean admittedBySomeRule) {
        if (!admittedBySomeRule && reveals(code)) {
            return new Told(UNAUTHORISED_CODE, UNAUTHORISED_MESSAGE);
        }
        return new Told(code, message);
    }

    /** Codes that say something about this agent's services to whoever receives them. */
    private static boolean reveals(StreamStatusCode code) {
        return code == StreamStatusCode.NOT_ALLOWED
                || code == StreamStatusCode.SERVICE_UNKNOWN
                || code == StreamStatusCode.LIMIT_REACHED
                || code == StreamStatusCode.TARGET_UNREACHABLE;
    }
}
