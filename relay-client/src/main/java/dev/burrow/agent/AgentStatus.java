package dev.burrow.agent;

import dev.burrow.agent.udp.UdpStatus;
import java.util.List;

/**
 * What {@code burrow status} shows: a snapshot of the agent, serialised as JSON by the local API.
 * Times are ISO-8601 strings; durations are milliseconds.
 */
public record AgentStatus(
        String nodeId,
        String name,
        boolean ready,
        String readyProblem,
        RelayStatus relay,
        List<ServiceStatus> services,
        List<ForwardStatus> forwards,
        List<PeerStatus> peers,
        List<ConnectionStatus> connections,
        List<RefusalStatus> recentRefusals,
        long bytesFromPeers,
        long bytesToPeers,
        String configError,
        List<PublicStatus> publicServices,
        DirectStatus direct,
        UdpStatus udp) {

    /** Without the direct-path section and UDP flows (earlier versions). */
    public AgentStatus(
            String nodeId,
            String name,
            boolean ready,
            String readyProblem,
            RelayStatus relay,
            List<ServiceStatus> services,
            List<ForwardStatus> forwards,
            List<PeerStatus> peers,
            List<ConnectionStatus> connections,
            List<RefusalStatus> recentRefusals,
            long bytesFromPeers,
            long bytesToPeers,
            String configError,
            List<PublicStatus> publicServices) {
        this(
                nodeId,
                name,
                ready,
                readyProblem,
                relay,
                services,
                forwards,
                peers,
                connections,
                recentRefusals,
                bytesFromPeers,
                bytesToPeers,
                configError,
                publicServices,
                null,
                null);
    }

    public AgentStatus(
            String nodeId,
            String name,
            boolean ready,
            String readyProblem,
            RelayStatus relay,
            List<ServiceStatus> services,
            List<ForwardStatus> forwards,
            List<PeerStatus> peers,
            List<ConnectionStatus> connections,
            List<RefusalStatus> recentRefusals,
            long bytesFromPeers,
            long bytesToPeers,
            String configError) {
        this(
                nodeId,
                name,
                ready,
                readyProblem,
                relay,
                services,
                forwards,
                peers,
                connections,
                recentRefusals,
                bytesFromPeers,
                bytesToPeers,
                configError,
                List.of());
    }

    /**
     * The direct-path machinery (null without direct paths): how our NAT maps ({@code
     * endpoint_independent}, {@code endpoint_dependent} (symmetric), {@code no_udp}, {@code unknown}:
     * fewer than two STUN servers answered), the gateway port mapping of each direct socket, and what
     * hard-NAT spraying did.
     */
    public record DirectStatus(
            String natMapping, List<PortMappingStatus> portMappings, SprayStatus spray, long quicDeadPeerCloses) {}

    /**
     * One direct socket's gateway port mapping: {@code protocol} ({@code pcp}, {@code nat-pmp}, {@code
     * upnp}), {@code external} address and lease ({@code lifetimeSeconds} granted, {@code
     * expiresInSeconds} left) while held, else nulls; {@code status} what port mapping last did.
     */
    public record PortMappingStatus(
            String socket,
            String protocol,
            String external,
            Long lifetimeSeconds,
            Long expiresInSeconds,
            String status) {}

    /**
     * Hard-NAT spraying since start: {@code packets} (probes and pings sprays sent), {@code sockets}
     * (spray sockets opened), and how many sprays ended each way ({@code succeeded}, {@code failed},
     * {@code skipped_both_hard}, {@code skipped_busy}); {@code discoPings} every other disco ping
     * (punching and heartbeats), for comparison.
     */
    public record SprayStatus(long packets, long sockets, java.util.Map<String, Long> outcomes, long discoPings) {}

    /**
     * A service published through public ingress: {@code state} is pending, published or refused;
     * {@code publicAddress} ({@code host:port} on the relay) once published; {@code problem} why not.
     */
    public record PublicStatus(String service, String state, String publicAddress, String problem) {}

    /**
     * The relay connection. {@code url} is the relay connected to (else the home being tried);
     * {@code rttMillis} is the round trip of the control connection's pings. {@code home} and
     * {@code homeReason} say which relay is home and why; {@code candidates} lists every configured
     * relay with its measured RTT (one entry for a single relay, which is never measured);
     * {@code switches} counts home changes since start.
     */
    public record RelayStatus(
            String url,
            String state,
            String relayId,
            String mode,
            Long rttMillis,
            String connectedSince,
            String lastError,
            String home,
            String homeReason,
            List<RelayCandidateStatus> candidates,
            long switches) {}

    /**
     * One configured relay: its region (or null), smoothed and last measured RTT in milliseconds
     * (null until measured), state ({@code up}, {@code down}, {@code draining}, {@code unknown}) and
     * last error, and whether it is home.
     */
    public record RelayCandidateStatus(
            String url,
            String region,
            Double rttMillis,
            Double lastRttMillis,
            String state,
            String lastError,
            boolean home) {}

    public record ServiceStatus(
            String name, String target, List<String> allow, int openConnections, int maxConnections, int maxPerPeer) {}

    public record ForwardStatus(
            String listen,
            String peer,
            String service,
            boolean listening,
            int openConnections,
            long acceptedConnections,
            long failedConnections,
            String path,
            String lastError) {}

    /**
     * A peer with open streams or a direct-path state: the path new streams take ({@code direct} or
     * {@code relay}), its round-trip time (disco ping on the direct path, else the relay's), and the
     * peer's verified UDP endpoint when direct, and why the path is what it is ({@code reason}, e.g.
     * "direct: punched via 203.0.113.5:41641" or "relay: no direct path yet (punching 2 endpoints)";
     * null without direct paths).
     */
    public record PeerStatus(
            String nodeId,
            String name,
            String path,
            int openConnections,
            Long rttMillis,
            String endpoint,
            String reason) {}

    public record ConnectionStatus(
            long id,
            String direction,
            String peer,
            String peerName,
            String service,
            String path,
            String local,
            String since,
            long bytesFromPeer,
            long bytesToPeer) {}

    public record RefusalStatus(
            String at, String direction, String peer, String service, String code, String by, String message) {}
}
