package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.CircuitRejectReason;
import java.util.Objects;

/** A {@link CircuitAcceptor}'s answer to an offer. */
public sealed interface CircuitDecision {

    record Accept() implements CircuitDecision {}

    /** @param message short text for the dialer (at most 255 UTF-8 bytes are sent) */
    record Reject(CircuitRejectReason reason, String message) implements CircuitDecision {
        public Reject {
            Objects.requireNonNull(reason, "reason");
            message = message == null ? "" : message;
        }
    }

    static CircuitDecision accept() {
        return new Accept();
    }

    static CircuitDecision reject(CircuitRejectReason reason, String message) {
        return new Reject(reason, message);
    }
}
