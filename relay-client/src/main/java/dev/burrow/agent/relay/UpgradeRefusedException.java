package dev.burrow.agent.relay;

import java.io.IOException;

/**
 * The HTTP server (the relay or an intermediary) answered the {@code Upgrade: burrow-relay-v1}
 * request with something other than {@code 101}: in {@link ConnectMode#AUTO} the client then
 * uses WebSocket.
 */
public final class UpgradeRefusedException extends IOException {
    private final int status;

    public UpgradeRefusedException(int status, String detail) {
        super("relay upgrade refused with HTTP " + status
                + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
        this.status = status;
    }

    public int status() {
        return status;
    }
}
