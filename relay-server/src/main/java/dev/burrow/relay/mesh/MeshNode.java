package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.relay.server.metrics.RelayMetrics;
import java.util.Collection;
import java.util.List;

/** What the mesh handshake and links need from their relay ({@link MeshManager}; tests use fakes). */
interface MeshNode {
    /** This relay process's random instance ID (self-mesh detection). */
    byte[] instanceId();

    String relayId();

    MeshKey key();

    RelayMetrics metrics();

    /** A sibling announced keys over an outbound link; link event loop. */
    void routesAdded(MeshLink link, Collection<NodeKey> keys);

    /** A sibling said keys left; link event loop. */
    void routesRemoved(MeshLink link, Collection<NodeKey> keys);

    /** A sibling announced (or cleared) certified names of keys it announced over an outbound link; link event loop. */
    void namesAnnounced(MeshLink link, List<MeshFrame.Named> entries);

    void circuitAccepted(MeshLink link, MeshFrame.CircuitAccepted a);

    void circuitRejected(MeshLink link, MeshFrame.CircuitRejected r);

    /** A datagram from a sibling for a local client (ownership moves). */
    void deliver(MeshFrame.Datagram d);

    void circuitRequested(MeshLink link, MeshFrame.CircuitRequest r);

    void linkDown(MeshLink link);

    /** An outbound link is authenticated (its sibling's circuit connection pool starts filling). */
    default void linkUp(MeshLink link) {}
}
