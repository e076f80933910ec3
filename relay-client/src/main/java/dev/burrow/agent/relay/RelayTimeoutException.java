package dev.burrow.agent.relay;

import java.io.IOException;

/** The relay did not answer in time: handshake, keepalive (dead relay) or ping. */
public final class RelayTimeoutException extends IOException {
    public RelayTimeoutException(String message) {
        super(message);
    }
}
