package dev.burrow.relay.server.forward;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.metrics.RelayMetrics;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connected clients by key.
 *
 * <p><b>Same key twice.</b> The newest connection wins: it is registered first, then the older one
 * is sent HEALTH("another connection with your key is active") and closed. The older connection's
 * own close never unregisters the newer one (removal is by identity), and peers see no PEER_GONE for
 * the switch, so nothing loops.
 */
public final class ClientRegistry {
    private static final Logger log = LoggerFactory.getLogger(ClientRegistry.class);
    public static final String DUPLICATE_PROBLEM = "another connection with your key is active";

    private final ConcurrentHashMap<NodeKey, ClientSession> clients = new ConcurrentHashMap<>();
    private final PeerWatchers watchers;
    private final RelayMetrics metrics;

    public ClientRegistry(PeerWatchers watchers, RelayMetrics metrics) {
        this.watchers = watchers;
        this.metrics = metrics;
    }

    /** Registers {@code session}, replacing (and closing) an older connection with the same key. */
    public void register(ClientSession session) {
        ClientSession previous = clients.put(session.key(), session);
        if (previous != null && previous != session) {
            metrics.duplicateClient();
            log.info("event=client_replaced node={} old={} new={}", session.key().shortId(), previous.remoteAddress(),
                    session.remoteAddress());
            previous.close();
            previous.sendAndClose(new RelayFrame.Health(DUPLICATE_PROBLEM));
            return;
        }
        for (NodeKey w : watchers.watchersOf(session.key())) {
            ClientSession watcher = clients.get(w);
            if (watcher != null && watcher != session) {
                watcher.enqueueControl(new RelayFrame.PeerPresent(session.key()));
            }
        }
    }

    /** Removes {@code session} if it is still the registered one; tells its recent senders it is gone. */
    public boolean unregister(ClientSession session) {
        session.close();
        if (!clients.remove(session.key(), session)) {
            return false;
        }
        for (NodeKey w : watchers.watchersOf(session.key())) {
            ClientSession watcher = clients.get(w);
            if (watcher != null) {
                watcher.enqueueControl(new RelayFrame.PeerGone(session.key(), PeerGoneReason.DISCONNECTED));
            }
        }
        return true;
    }

    public ClientSession lookup(NodeKey key) {
        return clients.get(key);
    }

    public int size() {
        return clients.size();
    }

    public Collection<ClientSession> sessions() {
        return List.copyOf(clients.values());
    }

    public PeerWatchers watchers() {
        return watchers;
    }
}
