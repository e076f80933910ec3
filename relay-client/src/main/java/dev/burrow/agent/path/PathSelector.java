package dev.burrow.agent.path;

import dev.burrow.identity.NodeKey;

/**
 * Picks the path for a new stream to a peer. Today there is one path (the relay); when direct
 * paths arrive the selector prefers a confirmed direct path and falls back to the relay.
 */
@FunctionalInterface
public interface PathSelector {
    PeerPath pathFor(NodeKey peer);

    static PathSelector only(PeerPath path) {
        return peer -> path;
    }
}
