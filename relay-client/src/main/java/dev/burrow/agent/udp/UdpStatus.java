package dev.burrow.agent.udp;

import java.util.List;
import java.util.Map;

/**
 * The UDP part of {@code burrow status}: the open flows (at most {@link UdpLimits#MAX_STATUS_FLOWS}
 * shown; {@code openFlows} counts them all), the datagrams dropped, by reason, and the sealed
 * packets received on each path ({@code relayPackets}: keyed relay datagrams, {@code directPackets}:
 * QUIC datagrams on the direct path).
 */
public record UdpStatus(
        int openFlows, List<Flow> flows, Map<String, Long> drops, long relayPackets, long directPackets) {
    public UdpStatus {
        flows = List.copyOf(flows);
        drops = Map.copyOf(drops);
    }

    /**
     * One flow.
     *
     * @param side {@code connect} (a local source of a forward) or {@code expose} (a peer's flow to a service)
     * @param peer the peer's node ID
     * @param service the service name
     * @param local connect: the local source address; expose: our socket towards the target (what whois answers for)
     * @param path {@code relay} or {@code direct}
     * @param state opening, open, refused
     * @param packetsToPeer datagrams sent towards the peer
     * @param packetsFromPeer datagrams received from the peer
     * @param bytesToPeer user bytes towards the peer
     * @param bytesFromPeer user bytes from the peer
     * @param drops datagrams of this flow dropped (queue full, too large, path refused)
     * @param idleMillis since the last datagram either way
     */
    public record Flow(
            String side,
            String peer,
            String service,
            String local,
            String path,
            String state,
            long packetsToPeer,
            long packetsFromPeer,
            long bytesToPeer,
            long bytesFromPeer,
            long drops,
            long idleMillis) {}

    public static final UdpStatus EMPTY = new UdpStatus(0, List.of(), Map.of(), 0, 0);
}
