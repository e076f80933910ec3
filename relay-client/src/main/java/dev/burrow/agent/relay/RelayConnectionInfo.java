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
 */
public record RelayConnectionInfo(URI relayUrl, ConnectMode mode, String relayId, int protocolVersion,
                                  Duration keepalive, int maxDatagram, String observedAddress) {
}
