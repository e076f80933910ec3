package dev.burrow.agent;

import dev.burrow.agent.direct.DirectManager;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.relay.HomeRelaySelector;
import dev.burrow.agent.relay.RelayClientStats;
import dev.burrow.agent.relay.RelayConnectionInfo;
import dev.burrow.agent.relay.RelayConnectionState;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.identity.NodeKey;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The parts of {@link AgentStatus} read from one component each: the relay, services, forwards, refusals. */
final class AgentStatusParts {
    private AgentStatusParts() {}

    /**
     * @param homeRelay the selector when several relays are configured, else null
     * @param configuredUrl the one configured relay's URL (used without a selector)
     */
    static AgentStatus.RelayStatus relay(
            RelayClientStats rs, HomeRelaySelector homeRelay, String configuredUrl, String lastRelayError) {
        Long rtt = rs.lastRtt() == null ? null : rs.lastRtt().toMillis();
        RelayConnectionInfo info = rs.connection();
        String home;
        String homeReason;
        List<AgentStatus.RelayCandidateStatus> candidates;
        long switches;
        if (homeRelay != null) {
            HomeRelaySelector.Snapshot snap = homeRelay.snapshot();
            home = snap.home() == null ? null : snap.home().toString();
            homeReason = snap.homeReason();
            candidates = snap.candidates().stream()
                    .map(c -> new AgentStatus.RelayCandidateStatus(
                            c.url().toString(),
                            c.region(),
                            c.smoothedRttMillis(),
                            c.lastRttMillis(),
                            c.state(),
                            c.lastError(),
                            c.home()))
                    .toList();
            switches = snap.switches();
        } else {
            home = configuredUrl;
            homeReason = "the only relay configured";
            candidates = List.of(new AgentStatus.RelayCandidateStatus(
                    home,
                    null,
                    null,
                    null,
                    rs.state() == RelayConnectionState.CONNECTED ? "up" : "unknown",
                    lastRelayError,
                    true));
            switches = 0;
        }
        String url = info != null ? String.valueOf(info.relayUrl()) : home;
        return new AgentStatus.RelayStatus(
                url,
                rs.state().name().toLowerCase(Locale.ROOT),
                info == null ? null : info.relayId(),
                info == null ? null : info.mode().name().toLowerCase(Locale.ROOT),
                rtt,
                rs.connectedSince() == null ? null : rs.connectedSince().toString(),
                lastRelayError,
                home,
                homeReason,
                candidates,
                switches);
    }

    static List<AgentStatus.ServiceStatus> services(ServiceRegistry registry) {
        return registry.all().stream()
                .map(s -> {
                    var caps = registry.caps(s.name());
                    return new AgentStatus.ServiceStatus(
                            s.name(),
                            (s.protocol() == dev.burrow.agent.service.ServiceProtocol.UDP ? "udp " : "")
                                    + s.target().spec(),
                            s.allow().texts(),
                            caps == null ? 0 : caps.open(),
                            s.maxConnections(),
                            s.maxPerPeer());
                })
                .toList();
    }

    static List<AgentStatus.ForwardStatus> forwards(Collection<ForwardListener> forwards, String relayPathName) {
        return forwards.stream()
                .map(f -> {
                    InetSocketAddress a = f.boundAddress();
                    String listen = a == null
                            ? f.spec().bindHost() + ":" + f.spec().bindPort()
                            : a.getHostString() + ":" + a.getPort();
                    return new AgentStatus.ForwardStatus(
                            listen,
                            f.spec().peerLabel(),
                            f.spec().service(),
                            f.isListening(),
                            f.openConnections(),
                            f.acceptedConnections(),
                            f.failedConnections(),
                            f.lastPath() == null ? relayPathName : f.lastPath(),
                            f.lastError());
                })
                .toList();
    }

    static List<AgentStatus.RefusalStatus> refusals(RecentRefusals refusals) {
        return refusals.snapshot().stream()
                .map(r -> new AgentStatus.RefusalStatus(
                        r.at().toString(),
                        r.direction().name().toLowerCase(Locale.ROOT),
                        r.peer(),
                        r.service(),
                        r.code().name(),
                        r.by(),
                        r.message()))
                .toList();
    }

    /** The open streams, one line each. */
    static List<AgentStatus.ConnectionStatus> connections(List<ActiveStreams.Entry> open) {
        List<AgentStatus.ConnectionStatus> conns = new ArrayList<>();
        for (var e : open) {
            conns.add(new AgentStatus.ConnectionStatus(
                    e.id(),
                    e.direction().name().toLowerCase(Locale.ROOT),
                    e.peer().nodeId(),
                    e.peerName(),
                    e.service(),
                    e.path(),
                    e.local(),
                    e.since().toString(),
                    e.bytesFromPeer(),
                    e.bytesToPeer()));
        }
        return conns;
    }

    /** The peers the open streams reach, with their stream counts (paths filled in by {@link #withDirectPaths}). */
    static Map<NodeKey, AgentStatus.PeerStatus> peersOf(List<ActiveStreams.Entry> open, Long relayRtt) {
        Map<NodeKey, AgentStatus.PeerStatus> peers = new LinkedHashMap<>();
        for (var e : open) {
            peers.merge(
                    e.peer(),
                    new AgentStatus.PeerStatus(e.peer().nodeId(), e.peerName(), e.path(), 1, relayRtt, null, null),
                    (x, y) -> new AgentStatus.PeerStatus(
                            x.nodeId(), x.name(), x.path(), x.openConnections() + 1, relayRtt, null, null));
        }
        return peers;
    }

    /** Each peer's current path for new streams: direct (endpoint and disco round trip) or relayed (relay round trip). */
    static List<AgentStatus.PeerStatus> withDirectPaths(
            Map<NodeKey, AgentStatus.PeerStatus> peers, DirectManager d, String relayPathName, Long relayRtt) {
        if (d == null) {
            return List.copyOf(peers.values());
        }
        for (var s : d.statuses()) {
            peers.putIfAbsent(
                    NodeKey.parse(s.nodeId()),
                    new AgentStatus.PeerStatus(s.nodeId(), null, relayPathName, 0, relayRtt, null, null));
        }
        List<AgentStatus.PeerStatus> out = new ArrayList<>();
        for (var e : peers.entrySet()) {
            AgentStatus.PeerStatus p = e.getValue();
            var s = d.status(e.getKey()).orElse(null);
            if (s != null && s.direct()) {
                out.add(new AgentStatus.PeerStatus(
                        p.nodeId(),
                        p.name(),
                        d.path().name(),
                        p.openConnections(),
                        s.rttMillis() == null ? null : Math.round(s.rttMillis()),
                        dev.burrow.agent.endpoint.Endpoint.format(s.endpoint()),
                        s.reason() + "; " + d.path().transportNote(e.getKey())));
            } else {
                out.add(new AgentStatus.PeerStatus(
                        p.nodeId(),
                        p.name(),
                        relayPathName,
                        p.openConnections(),
                        relayRtt,
                        null,
                        s == null ? "relay: no direct-path state for this peer yet" : s.reason()));
            }
        }
        return out;
    }

    /** The direct-path section: our NAT's mapping, each socket's port mapping, spray counters; null without direct paths. */
    static AgentStatus.DirectStatus direct(DirectManager d) {
        if (d == null) {
            return null;
        }
        List<AgentStatus.PortMappingStatus> maps = new ArrayList<>();
        for (var m : d.portMappings()) {
            var held = m.held();
            maps.add(new AgentStatus.PortMappingStatus(
                    m.socket(),
                    held == null ? null : held.protocol().label(),
                    held == null
                            ? null
                            : held.external().getAddress().getHostAddress() + ":"
                                    + held.external().getPort(),
                    held == null ? null : held.lifetimeSeconds(),
                    held == null
                            ? null
                            : Math.max(
                                    0,
                                    held.lifetimeSeconds()
                                            - (System.nanoTime() - held.grantedAtNanos()) / 1_000_000_000L),
                    m.status()));
        }
        var c = d.sprayCounts();
        return new AgentStatus.DirectStatus(
                d.natMapping(),
                maps,
                new AgentStatus.SprayStatus(c.packets(), c.sockets(), c.outcomes(), d.pingsSent.sum()),
                d.quicDeadPeerCloses.sum());
    }
}
