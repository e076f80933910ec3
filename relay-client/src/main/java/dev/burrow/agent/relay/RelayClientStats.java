package dev.burrow.agent.relay;

import java.time.Duration;
import java.time.Instant;

/**
 * A snapshot of a {@link RelayClient} for status output.
 *
 * @param connection   the current connection, or {@code null} when not connected
 * @param connectedSince when the current connection was accepted, or {@code null}
 * @param lastRtt      the last round-trip time, or {@code null} before the first PONG
 * @param bytesIn      bytes received from relays (control connections, after TLS), over the client's life
 * @param bytesOut     bytes sent to relays (control connections, after TLS)
 */
public record RelayClientStats(
        RelayConnectionState state,
        RelayConnectionInfo connection,
        Instant connectedSince,
        Duration lastRtt,
        long bytesIn,
        long bytesOut,
        long datagramsSent,
        long datagramsReceived,
        long datagramsDropped,
        long connectAttempts,
        long reconnects,
        long protocolViolations) {}
