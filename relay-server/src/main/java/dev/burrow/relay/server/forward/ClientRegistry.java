package dev.burrow.relay.server.forward;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.metrics.RelayMetrics;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
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

    // Final after construction.
    private final PeerWatchers watchers;
    private final RelayMetrics metrics;
    private final PresenceListener presence;
    private final RemoteNames remoteNames;
    private final NameHolders nameHolders;

    // Concurrent (every client's event loop): the sessions by key, and their certified names.
    private final ConcurrentHashMap<NodeKey, ClientSession> clients = new ConcurrentHashMap<>();
    private final NameIndex names = new NameIndex();

    /** Told when a key connects here or leaves (not when a connection replaces another with the same key). */
    public interface PresenceListener {
        void present(NodeKey key);

        void gone(NodeKey key);

        /**
         * A connection replaced another with the same key and a different certified name (or none);
         * the listener reads the current one from {@link #lookup}.
         */
        default void renamed(NodeKey key) {}

        PresenceListener NONE = new PresenceListener() {
            @Override
            public void present(NodeKey key) {}

            @Override
            public void gone(NodeKey key) {}
        };
    }

    /**
     * Names of nodes connected to other relays (the relay mesh), asked after the local index. Each
     * answer holds distinct keys, at most {@link dev.burrow.protocol.frame.FrameLimits#MAX_NAME_RESULT_KEYS}.
     */
    public interface RemoteNames {
        List<NodeKey> lookupName(String name);

        RemoteNames NONE = name -> List.of();
    }

    /**
     * The fleet CA's record of who holds each name ({@code IssuedNames#holder}); empty for a name it
     * does not record. Must not block: it is asked on the event loop.
     */
    public interface NameHolders {
        Optional<NodeKey> holder(String name);

        NameHolders NONE = name -> Optional.empty();
    }

    public ClientRegistry(PeerWatchers watchers, RelayMetrics metrics) {
        this(watchers, metrics, PresenceListener.NONE, RemoteNames.NONE, NameHolders.NONE);
    }

    /**
     * @param presence told when a key connects or leaves (the mesh's presence)
     * @param remoteNames asked for names not connected here (the mesh's names)
     * @param nameHolders with a record, a name resolves only to its recorded holder, never to
     *     another key whose certificate carries it
     */
    public ClientRegistry(
            PeerWatchers watchers,
            RelayMetrics metrics,
            PresenceListener presence,
            RemoteNames remoteNames,
            NameHolders nameHolders) {
        this.watchers = watchers;
        this.metrics = metrics;
        this.presence = presence;
        this.remoteNames = remoteNames;
        this.nameHolders = nameHolders == null ? NameHolders.NONE : nameHolders;
    }

    /** Registers {@code session}, replacing (and closing) an older connection with the same key. */
    public void register(ClientSession session) {
        ClientSession previous = clients.put(session.key(), session);
        names.add(session);
        if (previous != null && previous != session) {
            names.remove(previous);
            metrics.duplicateClient();
            log.atInfo()
                    .addKeyValue("event", "client_replaced")
                    .addKeyValue("node", session.key().shortId())
                    .addKeyValue("old", previous.remoteAddress())
                    .addKeyValue("new", session.remoteAddress())
                    .log("client replaced");
            previous.close();
            previous.sendAndClose(new RelayFrame.Health(DUPLICATE_PROBLEM));
            if (!Objects.equals(previous.certifiedName(), session.certifiedName())) {
                presence.renamed(session.key());
            }
            return;
        }
        presence.present(session.key());
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
        names.remove(session);
        if (!clients.remove(session.key(), session)) {
            return false;
        }
        presence.gone(session.key());
        for (NodeKey w : watchers.watchersOf(session.key())) {
            ClientSession watcher = clients.get(w);
            if (watcher != null) {
                watcher.enqueueControl(new RelayFrame.PeerGone(session.key(), PeerGoneReason.DISCONNECTED));
            }
        }
        return true;
    }

    /**
     * Tells the local clients that recently sent to {@code peer} (a node on a sibling relay) that it
     * is now reachable ({@code present}) or gone; nothing when {@code peer} is connected here.
     */
    public void notifyWatchers(NodeKey peer, boolean present) {
        if (clients.containsKey(peer)) {
            return;
        }
        for (NodeKey w : watchers.watchersOf(peer)) {
            ClientSession watcher = clients.get(w);
            if (watcher != null) {
                watcher.enqueueControl(
                        present
                                ? new RelayFrame.PeerPresent(peer)
                                : new RelayFrame.PeerGone(peer, PeerGoneReason.DISCONNECTED));
            }
        }
    }

    public ClientSession lookup(NodeKey key) {
        return clients.get(key);
    }

    /**
     * Keys of nodes whose CA-issued certificate carries {@code name}: connected clients first, then
     * nodes on sibling relays that their relay verified ({@link RemoteNames}); distinct, at most
     * {@link dev.burrow.protocol.frame.FrameLimits#MAX_NAME_RESULT_KEYS}. Empty when none, and always
     * empty for names only claimed in self-signed certificates.
     */
    public List<NodeKey> lookupName(String name) {
        Optional<NodeKey> holder = nameHolders.holder(name);
        List<NodeKey> found = lookupCertifiedName(name);
        if (holder.isEmpty()) {
            return found;
        }
        // A certificate for this name issued to any other key (before the record existed, or by a
        // path that skipped it) is never an answer: only the recorded holder is.
        return found.contains(holder.get()) ? List.of(holder.get()) : List.of();
    }

    private List<NodeKey> lookupCertifiedName(String name) {
        List<NodeKey> local = names.lookup(name);
        if (local.size() >= FrameLimits.MAX_NAME_RESULT_KEYS) {
            return local;
        }
        List<NodeKey> remote = remoteNames.lookupName(name);
        if (remote.isEmpty()) {
            return local;
        }
        LinkedHashSet<NodeKey> merged = new LinkedHashSet<>(local);
        for (NodeKey k : remote) {
            if (merged.size() == FrameLimits.MAX_NAME_RESULT_KEYS) {
                break;
            }
            merged.add(k);
        }
        return List.copyOf(merged);
    }

    /** Distinct certified names of connected clients. */
    public int namedClients() {
        return names.names();
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
