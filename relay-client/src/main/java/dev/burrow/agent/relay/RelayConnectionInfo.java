package dev.burrow.agent.relay;

import java.net.URI;
import java.time.Duration;

/**
 * What the relay told us when it accepted this connection.
 *
 * @param relayUrl        the relay actually connected
 * @param mode            {@link ConnectMode#UPGRADE} or {@link ConnectMode#WEBSOCKET}, as used
 * @param relayId         the relay's name (SERVER_HELLO)
 * @param protocolVersion the version the relay speaks (SERVER_HELLO)
 * @param keepalive       the relay's keepalive interval; two missed mean a dead relay
 * @param maxDatagram     largest datagram payload the relay takes
 * @param observedAddress our address as the relay sees it ({@code ip:port})
 * @param stunPort        UDP port of the relay's STUN server on the relay's host: 0 none, -1 not said
 *                        (an older relay; 3478 is likely)
 */
public record RelayConnectionInfo(
        URI relayUrl,
        ConnectMode mode,
        String relayId,
        int protocolVersion,
        Duration keepalive,
        int maxDatagram,
        String observedAddress,
        int stunPort) {
    public RelayConnectionInfo(
            URI relayUrl,
            ConnectMode mode,
            String relayId,
            int protocolVersion,
            Duration keepalive,
            int maxDatagram,
            String observedAddress) {
        this(relayUrl, mode, relayId, protocolVersion, keepalive, maxDatagram, observedAddress, -1);
    }
}
