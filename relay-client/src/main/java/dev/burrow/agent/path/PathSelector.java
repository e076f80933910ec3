package dev.burrow.agent.path;

import dev.burrow.identity.NodeKey;

/**
 * Picks the path for a new stream to a peer: the relay, or a confirmed direct path (see
 * {@code DirectPathSelector}), and learns from how the streams it placed went.
 */
@FunctionalInterface
public interface PathSelector {
    PeerPath pathFor(NodeKey peer);

    /** As {@link #pathFor(NodeKey)}, for a stream to {@code service} (a selector may decide per service). */
    default PeerPath pathFor(NodeKey peer, String service) {
        return pathFor(peer);
    }

    /**
     * A stream this selector placed on {@code path} ended after moving {@code bytes} (both ways)
     * in {@code nanos}: what a selector may learn the paths' speed from.
     */
    default void streamEnded(NodeKey peer, String service, String path, long bytes, long nanos) {}

    static PathSelector only(PeerPath path) {
        return peer -> path;
    }
}
