package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoMessage;
import dev.burrow.agent.endpoint.Endpoint;
import dev.burrow.identity.NodeKey;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * The peers with direct-path state (at most {@link DirectLimits#MAX_PEERS}), and what the rest of
 * the agent sees of them: a status per peer and a call to the path listeners when a peer's path
 * changes between direct and relayed.
 */
final class DirectPeers {
    // Final after construction.
    private final NodeKey self;
    private final DirectSockets sockets;

    // Any thread: written on the event loop, read by status calls and listener registration.
    private final Map<NodeKey, DirectPeerStatus> statusView = new ConcurrentHashMap<>();
    private final List<BiConsumer<NodeKey, Boolean>> pathListeners = new CopyOnWriteArrayList<>();

    // Owned by the event loop.
    private final Map<NodeKey, DirectPeer> peers = new HashMap<>();

    DirectPeers(NodeKey self, DirectSockets sockets) {
        this.self = self;
        this.sockets = sockets;
    }

    /** On the loop: the peer, or null when it has no state. */
    DirectPeer get(NodeKey key) {
        return peers.get(key);
    }

    /** On the loop: whether the peer has state. */
    boolean contains(NodeKey key) {
        return peers.containsKey(key);
    }

    /** On the loop: the peer, created when new; null when the table is full or it is ourselves. */
    DirectPeer getOrCreate(NodeKey key) {
        DirectPeer p = peers.get(key);
        if (p == null) {
            if (peers.size() >= DirectLimits.MAX_PEERS || key.equals(self)) {
                return null;
            }
            p = new DirectPeer(key, self, sockets);
            peers.put(key, p);
        }
        return p;
    }

    /** On the loop: the live table (its iterator's remove forgets a peer; call {@link #forgetStatus} too). */
    Collection<DirectPeer> all() {
        return peers.values();
    }

    void forgetStatus(NodeKey key) {
        statusView.remove(key);
    }

    /** On the loop: forgets every peer. */
    void clear() {
        peers.clear();
        statusView.clear();
    }

    DirectPeerStatus status(NodeKey key) {
        return statusView.get(key);
    }

    List<DirectPeerStatus> statuses() {
        return List.copyOf(statusView.values());
    }

    /** Why the peer's path is what it is (status): one short sentence, starting with the path. */
    static String reason(DirectPeer p, long now, boolean direct) {
        if (direct) {
            return "direct: " + how(p);
        }
        if (p.trusted(now)) {
            return "relay: direct path via " + addr(p.best) + " proven, QUIC connection "
                    + (p.connecting != null || !p.weAreClient ? "coming up" : "not up yet");
        }
        if (!p.wanted(now)) {
            return p.pingedRecently(now)
                    ? "relay: not used from this side (the peer keeps a direct path from " + addr(p.lastPeerPingFrom)
                            + ")"
                    : "relay: not in use (no forward or recent stream to this peer)";
        }
        if (now - p.offlineUntilNanos < 0) {
            return "relay: peer not connected to the relay; next direct attempt in "
                    + secondsUntil(p.offlineUntilNanos, now) + " s or when it connects";
        }
        if (p.lastUpgradeNanos == Long.MIN_VALUE / 2) {
            return "relay: no direct attempt yet";
        }
        if (p.upgradeUnsent) {
            return p.sock().endpoints().isEmpty()
                    ? "relay: no direct path yet (discovering our endpoints)"
                    : "relay: no direct path yet (waiting for the relay to announce our endpoints)";
        }
        if (p.sprayState == HardNatSpray.State.RUNNING) {
            return p.sprayHardSide
                    ? "relay: no direct path yet (behind a symmetric NAT here: spraying from "
                            + HardNatSpray.MAX_SOCKETS + " sockets, " + p.sprayPackets + " probes sent)"
                    : "relay: no direct path yet (peer behind symmetric NAT: spraying, " + p.sprayPackets + " of "
                            + HardNatSpray.MAX_PROBES + " probes sent)";
        }
        if (now < p.punchUntilNanos) {
            return p.candidates.isEmpty()
                    ? "relay: no direct path yet (waiting for the peer's endpoints)"
                    : "relay: no direct path yet (punching " + endpoints(p.candidates.size()) + lastVerdict(p) + ")";
        }
        long next = p.lastUpgradeNanos + PunchScheduler.upgradeInterval(p, now);
        String retry = "; next attempt in " + secondsUntil(next, now) + " s";
        DiscoMessage.NatMapping own = DiscoExchange.ownMapping(p.sock());
        if (own == DiscoMessage.NatMapping.NO_UDP) {
            return "relay: UDP blocked here (no STUN server answered)" + retry;
        }
        if (p.peerMapping == DiscoMessage.NatMapping.NO_UDP) {
            return "relay: UDP blocked at the peer (its STUN servers did not answer)" + retry;
        }
        switch (p.sprayState) {
            case BOTH_HARD -> {
                return "relay: both sides behind symmetric NATs (spraying cannot work)" + retry;
            }
            case FAILED -> {
                return (p.sprayHardSide
                                ? "relay: behind a symmetric NAT here, spray failed after " + HardNatSpray.MAX_SOCKETS
                                        + " sockets (" + p.sprayPackets + " probes)"
                                : "relay: peer behind symmetric NAT, spray failed after " + p.sprayPackets + " probes")
                        + retry;
            }
            case BUSY -> {
                return "relay: "
                        + (own == DiscoMessage.NatMapping.ENDPOINT_DEPENDENT
                                ? "behind a symmetric NAT here"
                                : "peer behind symmetric NAT")
                        + ", spray postponed (another spray was running)" + retry;
            }
            default -> {}
        }
        if (p.candidates.isEmpty()) {
            return "relay: peer offered no reachable endpoint" + retry;
        }
        String nat = own == DiscoMessage.NatMapping.UNKNOWN || p.peerMapping == DiscoMessage.NatMapping.UNKNOWN
                ? " (symmetric NAT, or UDP blocked; NAT type unknown: needs two STUN servers)"
                : " (both NATs endpoint-independent: filtering or a firewall)";
        return "relay: no answer from the peer's " + endpoints(p.candidates.size()) + nat + retry;
    }

    /** While a retry punches: what the last attempt found, when it found a cause ("" otherwise). */
    private static String lastVerdict(DirectPeer p) {
        if (DiscoExchange.ownMapping(p.sock()) == DiscoMessage.NatMapping.NO_UDP) {
            return "; UDP blocked here";
        }
        if (p.peerMapping == DiscoMessage.NatMapping.NO_UDP) {
            return "; UDP blocked at the peer";
        }
        return switch (p.sprayState) {
            case BOTH_HARD -> "; both sides behind symmetric NATs";
            case FAILED ->
                p.sprayHardSide
                        ? "; last spray failed (symmetric NAT here)"
                        : "; last spray failed (peer behind symmetric NAT)";
            default -> "";
        };
    }

    /** How a direct path came about: punched, sprayed, or through a gateway port mapping. */
    private static String how(DirectPeer p) {
        if (p.sprayed != null) {
            return "sprayed via " + addr(p.best) + " (behind a symmetric NAT here; " + p.sprayPackets
                    + " probes from up to " + HardNatSpray.MAX_SOCKETS + " sockets)";
        }
        if (p.sprayState == HardNatSpray.State.SUCCEEDED && !p.sprayHardSide) {
            return "sprayed via " + addr(p.best) + " (peer behind symmetric NAT; found after " + p.sprayPackets
                    + " probes)";
        }
        if (p.best != null && p.best.equals(p.peerPortMapped)) {
            return "via the peer's port mapping (" + portMapName(p.peerPortMapProtocol) + ") at " + addr(p.best);
        }
        var own = p.sock().portMapping();
        var held = own == null ? null : own.held().orElse(null);
        if (held != null && held.external().equals(p.observedSelf)) {
            return "via port mapping (" + portMapName(held.protocol().ordinal() + 1) + ") at " + addr(held.external())
                    + ", peer at " + addr(p.best);
        }
        return "punched via " + addr(p.best);
    }

    static String portMapName(int code) {
        return switch (code) {
            case 1 -> "PCP";
            case 2 -> "NAT-PMP";
            case 3 -> "UPnP";
            default -> "none";
        };
    }

    private static String endpoints(int n) {
        return n == 1 ? "1 endpoint" : n + " endpoints";
    }

    private static long secondsUntil(long atNanos, long now) {
        return Math.max(0, (atNanos - now + 999_999_999L) / 1_000_000_000L);
    }

    private static String addr(InetSocketAddress a) {
        return a == null ? "?" : Endpoint.format(a);
    }

    void addPathListener(BiConsumer<NodeKey, Boolean> l) {
        pathListeners.add(l);
    }

    /** On the loop: updates the peer's status and tells the listeners when it went direct or relayed. */
    void publish(DirectPeer p, long now, boolean wasDirect) {
        boolean direct = p.direct(now);
        statusView.put(
                p.key,
                new DirectPeerStatus(
                        p.key.nodeId(),
                        direct,
                        p.best,
                        p.best == null ? null : p.bestRttNanos / 1e6,
                        reason(p, now, direct)));
        if (direct != wasDirect) {
            for (var l : pathListeners) {
                l.accept(p.key, direct);
            }
        }
    }
}
