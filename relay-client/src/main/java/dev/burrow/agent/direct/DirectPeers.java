package dev.burrow.agent.direct;

import dev.burrow.identity.NodeKey;
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

    void addPathListener(BiConsumer<NodeKey, Boolean> l) {
        pathListeners.add(l);
    }

    /** On the loop: updates the peer's status and tells the listeners when it went direct or relayed. */
    void publish(DirectPeer p, long now, boolean wasDirect) {
        boolean direct = p.direct(now);
        statusView.put(
                p.key,
                new DirectPeerStatus(p.key.nodeId(), direct, p.best, p.best == null ? null : p.bestRttNanos / 1e6));
        if (direct != wasDirect) {
            for (var l : pathListeners) {
                l.accept(p.key, direct);
            }
        }
    }
}
