package dev.burrow.agent.direct;

import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeKey;

/**
 * Prefers a verified direct path and falls back to the relay: every call also tells the manager the
 * peer is wanted. A peer no forward warmed up ({@link PeerWarmer}) gets its first stream through the
 * relay while punching starts; later streams go direct once a path is verified (and back to the
 * relay when it is lost).
 */
public final class DirectPathSelector implements PathSelector {
    // Final after construction.
    private final PeerPath relay;
    // Any thread: attached once the direct path is up, read per stream.
    private volatile DirectManager direct;

    public DirectPathSelector(PeerPath relay) {
        this.relay = relay;
    }

    /** Enables direct paths (null: relay only, e.g. when the UDP sockets could not be bound). */
    public void attach(DirectManager manager) {
        this.direct = manager;
    }

    public DirectManager manager() {
        return direct;
    }

    @Override
    public PeerPath pathFor(NodeKey peer) {
        DirectManager d = direct;
        if (d == null || !d.isRunning()) {
            return relay;
        }
        d.want(peer);
        return d.hasDirect(peer) ? d.path() : relay;
    }
}
