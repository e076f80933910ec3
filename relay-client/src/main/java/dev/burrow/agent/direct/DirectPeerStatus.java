package dev.burrow.agent.direct;

import java.net.InetSocketAddress;

/**
 * A peer as the direct-path manager sees it (for status).
 *
 * @param direct true when new streams to this peer use the direct path now
 * @param endpoint the peer's verified UDP endpoint, or null
 * @param rttMillis the last disco round trip on that endpoint, or null
 * @param reason why the path is what it is, for people ("direct: punched via 203.0.113.5:41641",
 *     "relay: no direct path yet (punching 2 endpoints)", ...)
 */
public record DirectPeerStatus(
        String nodeId, boolean direct, InetSocketAddress endpoint, Double rttMillis, String reason) {}
