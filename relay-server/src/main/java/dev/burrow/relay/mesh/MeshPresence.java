package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Presence and names, both directions.
 *
 * <p><b>Sending.</b> Over each link it accepted, this relay sends its whole presence (every connected
 * node key), then the certified names of its named clients (the name it verified in a CA-issued
 * certificate, {@link ClientSession#certifiedName()}; never a self-signed claim), then each change:
 * one PRESENT (and right behind it the client's name) per client that connects, a NAMES frame when a
 * replacement connection brings another name, a GONE per client that leaves.
 *
 * <p><b>Learning.</b> Over each link it dialled, this relay learns the sibling's presence: those keys
 * are routes (the most recently announced link wins), and their names answer LOOKUP_NAME after the
 * local clients ({@link #lookupName}). The dialling agent still requires the peer's certificate to be
 * CA-issued with exactly that name, so a sibling announcing a false name can only cause a refused
 * connection. When a link breaks, its routes and names are dropped and local clients that recently
 * sent to those nodes get PEER_GONE; on reconnect the full presence is sent again.
 */
final class MeshPresence implements ClientRegistry.PresenceListener {
    private static final Logger log = LoggerFactory.getLogger(MeshPresence.class);

    // Final after construction.
    private final ClientRegistry registry;
    private final RelayMetrics metrics;

    // Guarded by presenceLock: the links we send presence over (links siblings dialled to us). One
    // lock so that no change is lost or reordered and every name follows its key's PRESENT.
    private final Object presenceLock = new Object();
    private final Set<MeshLink> subscribers = new LinkedHashSet<>();

    // Concurrent (written on the event loops of outbound links, read by forwarders on any thread).
    /** Node key → links that announced it (copy-on-write lists, newest last). */
    private final ConcurrentHashMap<NodeKey, List<MeshLink>> routes = new ConcurrentHashMap<>();
    /** Certified names siblings announced for the keys they announced. */
    private final MeshNames names = new MeshNames();

    MeshPresence(ClientRegistry registry, RelayMetrics metrics) {
        this.registry = registry;
        this.metrics = metrics;
    }

    // ---------------------------------------------------------------- sending (links we accepted)

    /** Sends the full presence, then the names of the named clients among it, then every change. */
    void subscribe(MeshLink link) {
        synchronized (presenceLock) {
            subscribers.add(link);
            var sessions = registry.sessions();
            List<NodeKey> batch = new ArrayList<>(MeshProtocol.MAX_KEYS_PER_PRESENCE);
            for (ClientSession s : sessions) {
                batch.add(s.key());
                if (batch.size() == MeshProtocol.MAX_KEYS_PER_PRESENCE) {
                    link.enqueueControl(new MeshFrame.Present(batch));
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) {
                link.enqueueControl(new MeshFrame.Present(batch));
            }
            List<MeshFrame.Named> named = new ArrayList<>(MeshProtocol.MAX_NAMES_PER_FRAME);
            for (ClientSession s : sessions) {
                if (s.certifiedName() == null) {
                    continue;
                }
                named.add(new MeshFrame.Named(s.key(), s.certifiedName()));
                if (named.size() == MeshProtocol.MAX_NAMES_PER_FRAME) {
                    link.enqueueControl(new MeshFrame.Names(named));
                    named.clear();
                }
            }
            if (!named.isEmpty()) {
                link.enqueueControl(new MeshFrame.Names(named));
            }
        }
    }

    /** PRESENT, and right behind it (same lock) the client's certified name when it has one. */
    @Override
    public void present(NodeKey k) {
        synchronized (presenceLock) {
            publish(new MeshFrame.Present(List.of(k)));
            ClientSession s = registry.lookup(k);
            if (s != null && s.certifiedName() != null) {
                publish(new MeshFrame.Names(List.of(new MeshFrame.Named(k, s.certifiedName()))));
            }
        }
    }

    /** A replacement connection brought another name (or none): announce the current one. */
    @Override
    public void renamed(NodeKey k) {
        synchronized (presenceLock) {
            ClientSession s = registry.lookup(k);
            if (s != null) { // gone meanwhile: its GONE drops the name on the siblings
                String name = s.certifiedName();
                publish(new MeshFrame.Names(List.of(new MeshFrame.Named(k, name == null ? "" : name))));
            }
        }
    }

    @Override
    public void gone(NodeKey k) {
        publish(new MeshFrame.Gone(List.of(k)));
    }

    private void publish(MeshFrame f) {
        synchronized (presenceLock) {
            for (MeshLink l : subscribers) {
                l.enqueueControl(f);
            }
        }
    }

    /** Links siblings dialled to us (this relay sends its presence over them). */
    List<MeshLink> inboundLinks() {
        synchronized (presenceLock) {
            return List.copyOf(subscribers);
        }
    }

    int inboundLinkCount() {
        synchronized (presenceLock) {
            return subscribers.size();
        }
    }

    // ---------------------------------------------------------------- learning (links we dialled)

    /** A sibling announced keys over {@code link} (event loop of the link). */
    void routesAdded(MeshLink link, Collection<NodeKey> keys) {
        for (NodeKey k : keys) {
            if (!link.learned.add(k)) {
                continue;
            }
            if (link.learned.size() > MeshLink.MAX_ROUTES_PER_LINK) {
                metrics.meshEvent(MeshEvent.PROTOCOL_ERROR);
                log.atWarn()
                        .addKeyValue("event", "mesh_protocol_error")
                        .addKeyValue("peer_relay", link.peerRelayId)
                        .log("more than {} routes", MeshLink.MAX_ROUTES_PER_LINK);
                link.channel.close();
                return;
            }
            boolean[] first = new boolean[1];
            routes.compute(k, (kk, old) -> {
                List<MeshLink> n = new ArrayList<>(old == null ? List.of() : old);
                first[0] = n.isEmpty();
                n.remove(link);
                n.add(link);
                return List.copyOf(n);
            });
            if (first[0]) {
                registry.notifyWatchers(k, true);
            }
        }
    }

    /**
     * A sibling announced names for keys it announced (link event loop). A name for a key it never
     * announced on this link breaks the protocol (it always sends PRESENT first, on the same ordered
     * queue) and resets the link, as does passing {@link MeshLink#MAX_NAMES_PER_LINK}: both are
     * checked before anything is stored.
     */
    void namesAnnounced(MeshLink link, List<MeshFrame.Named> entries) {
        metrics.meshEvent(MeshEvent.NAMES_RECEIVED);
        for (MeshFrame.Named e : entries) {
            String problem = null;
            if (!link.learned.contains(e.key())) {
                problem = "a name for a node it did not announce";
            } else if (!e.cleared() && !names.has(link, e.key()) && names.count(link) >= MeshLink.MAX_NAMES_PER_LINK) {
                problem = "more than " + MeshLink.MAX_NAMES_PER_LINK + " names";
            }
            if (problem != null) {
                metrics.meshEvent(MeshEvent.NAMES_REFUSED);
                log.atWarn()
                        .addKeyValue("event", "mesh_protocol_error")
                        .addKeyValue("peer_relay", link.peerRelayId)
                        .log("{}", problem);
                link.channel.close();
                return;
            }
            names.put(link, e.key(), e.name());
        }
    }

    /** A sibling said keys left it, or the link over which they were learned broke. */
    void routesRemoved(MeshLink link, Collection<NodeKey> keys) {
        for (NodeKey k : List.copyOf(keys)) {
            if (!link.learned.remove(k)) {
                continue;
            }
            names.remove(link, k);
            boolean[] last = new boolean[1];
            routes.computeIfPresent(k, (kk, old) -> {
                List<MeshLink> n = new ArrayList<>(old);
                n.remove(link);
                last[0] = n.isEmpty();
                return n.isEmpty() ? null : List.copyOf(n);
            });
            if (last[0]) {
                registry.notifyWatchers(k, false);
            }
        }
    }

    /** A link broke: an outbound one takes its routes and names along; an inbound one stops getting presence. */
    void linkDown(MeshLink link) {
        if (link.outbound) {
            routesRemoved(link, link.learned);
            names.removeLink(link);
        } else {
            synchronized (presenceLock) {
                subscribers.remove(link);
            }
        }
    }

    /** The link to send traffic for {@code destination} over (the most recently announced), or null. */
    MeshLink route(NodeKey destination) {
        List<MeshLink> l = routes.get(destination);
        return l == null || l.isEmpty() ? null : l.get(l.size() - 1);
    }

    int routeCount() {
        return routes.size();
    }

    boolean hasRoute(NodeKey k) {
        List<MeshLink> l = routes.get(k);
        return l != null && !l.isEmpty();
    }

    /** Keys siblings announced with {@code name}, distinct, at most {@link FrameLimits#MAX_NAME_RESULT_KEYS}. */
    List<NodeKey> lookupName(String name) {
        return names.lookup(name, FrameLimits.MAX_NAME_RESULT_KEYS);
    }

    int nameCount() {
        return names.names();
    }
}
