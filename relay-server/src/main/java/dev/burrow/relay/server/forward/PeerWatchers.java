package dev.burrow.relay.server.forward;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.burrow.identity.NodeKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Remembers which clients recently sent to which destination, so that they can be told PEER_PRESENT
 * when it connects and PEER_GONE(DISCONNECTED) when it leaves. Memory is bounded twice: at most
 * {@code maxPeers} destinations (Caffeine, expiring after {@code ttl} without a refresh) and at most
 * {@code watchersPerPeer} senders each (oldest forgotten first).
 */
public final class PeerWatchers {
    private final Cache<NodeKey, LinkedHashSet<NodeKey>> watchers;
    private final int watchersPerPeer;

    public PeerWatchers(int maxPeers, int watchersPerPeer, Duration ttl) {
        this.watchers = Caffeine.newBuilder()
                .maximumSize(maxPeers)
                .expireAfterWrite(ttl)
                .build();
        this.watchersPerPeer = watchersPerPeer;
    }

    /** {@code sender} sent to {@code destination}. */
    public void record(NodeKey destination, NodeKey sender) {
        LinkedHashSet<NodeKey> set = watchers.get(destination, k -> new LinkedHashSet<>());
        synchronized (set) {
            set.remove(sender);
            set.add(sender);
            if (set.size() > watchersPerPeer) {
                Iterator<NodeKey> it = set.iterator();
                it.next();
                it.remove();
            }
        }
        watchers.put(destination, set); // refresh the expiry
    }

    /** The clients that recently sent to {@code destination}. */
    public List<NodeKey> watchersOf(NodeKey destination) {
        LinkedHashSet<NodeKey> set = watchers.getIfPresent(destination);
        if (set == null) {
            return List.of();
        }
        synchronized (set) {
            return new ArrayList<>(set);
        }
    }
}
