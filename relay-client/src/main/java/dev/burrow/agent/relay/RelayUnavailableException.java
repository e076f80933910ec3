package dev.burrow.agent.relay;

import java.io.IOException;

/** The operation needs a connected relay and there is none (not yet connected, reconnecting, or closed). */
public final class RelayUnavailableException extends IOException {
    public RelayUnavailableException(String message) {
        super(message);
    }

    public RelayUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
