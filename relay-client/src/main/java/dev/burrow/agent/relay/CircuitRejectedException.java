package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.CircuitRejectReason;
import java.io.IOException;

/**
 * A circuit could not be made: the relay or the listener refused it (CIRCUIT_REJECTED), or this
 * client gave up (timeout, local cap, failed attachment).
 */
public final class CircuitRejectedException extends IOException {
    private final CircuitRejectReason reason;
    private final String remoteMessage;
    private final boolean local;

    /**
     * @param reason        why
     * @param remoteMessage the relay's or listener's message (empty for local decisions)
     * @param local         true when this client decided (timeout, cap, attach failure)
     */
    public CircuitRejectedException(CircuitRejectReason reason, String remoteMessage, boolean local) {
        this(reason, remoteMessage, local, null);
    }

    public CircuitRejectedException(CircuitRejectReason reason, String remoteMessage, boolean local, Throwable cause) {
        super(
                "circuit " + (local ? "failed" : "rejected") + ": " + reason
                        + (remoteMessage == null || remoteMessage.isEmpty() ? "" : " (" + remoteMessage + ")"),
                cause);
        this.reason = reason;
        this.remoteMessage = remoteMessage == null ? "" : remoteMessage;
        this.local = local;
    }

    public CircuitRejectReason reason() {
        return reason;
    }

    public String remoteMessage() {
        return remoteMessage;
    }

    /** True when this client made the decision (timeout, local cap, attach failure), false when the relay or listener did. */
    public boolean local() {
        return local;
    }
}
