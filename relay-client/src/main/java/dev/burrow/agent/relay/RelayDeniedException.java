package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.DenyReason;
import java.io.IOException;

/**
 * The relay refused this node (DENY frame), or speaks no protocol version we know. The message is
 * the relay's own text (at most 255 bytes, never containing our secrets) for the user to read.
 */
public final class RelayDeniedException extends IOException {
    private final DenyReason reason;
    private final String relayMessage;

    public RelayDeniedException(DenyReason reason, String relayMessage) {
        super("relay denied the connection: " + reason.description()
                + (relayMessage == null || relayMessage.isEmpty() ? "" : " (" + relayMessage + ")"));
        this.reason = reason;
        this.relayMessage = relayMessage == null ? "" : relayMessage;
    }

    public DenyReason reason() {
        return reason;
    }

    public String relayMessage() {
        return relayMessage;
    }

    /**
     * True when retrying soon cannot help (bad credentials, not admitted, incompatible version): the
     * client then waits {@link RelayClientConfig#deniedBackoff()} instead of its normal backoff.
     */
    public boolean definitive() {
        return reason == DenyReason.AUTH_FAILED
                || reason == DenyReason.NOT_ALLOWED
                || reason == DenyReason.UNSUPPORTED_VERSION;
    }
}
