package dev.burrow.agent.direct;

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
 * The peers with direct-path state (at most {@link DirectManager#MAX_PEERS}), and what the rest of
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
            if (peers.size() >= DirectManager.MAX_PEERS || key.equals(self)) {
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
            return "direct: punched via " + addr(p.best);
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
        if (p.upgradeUnsent) {
            return p.sock().endpoints().isEmpty()
                    ? "relay: no direct path yet (discovering our endpoints)"
                    : "relay: no direct path yet (waiting for the relay to announce our endpoints)";
        }
        if (now < p.punchUntilNanos) {
            return p.candidates.isEmpty()
                    ? "relay: no direct path yet (waiting for the peer's endpoints)"
                    : "relay: no direct path yet (punching " + endpoints(p.candidates.size()) + ")";
        }
        long next = p.lastUpgradeNanos + PunchScheduler.upgradeInterval(p, now);
        String retry = "; next attempt in " + secondsUntil(next, now) + " s";
        if (p.candidates.isEmpty()) {
            return "relay: peer offered no reachable endpoint" + retry;
        }
        return "relay: no answer from the peer's " + endpoints(p.candidates.size()) + " (symmetric NAT, or UDP blocked)"
                + retry;
    }

    private static String endpoints(int n) {
        return n == 1 ? "1 endpoint" : n + " endpoints";
    }

    private static long secondsUntil(long atNanos, long now) {
        return Math.max(0, (atNanos - now + 999_999_999L) / 1_000_000_000L);
    }

    private static String addr(InetSocketAddress a) {
        return a == null ? "?" : dev.burrow.agent.endpoint.Endpoint.format(a);
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
