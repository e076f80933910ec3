package dev.burrow.relay.server.forward;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;

/**
 * Where the forwarder sends a datagram whose destination is not connected here: a sibling relay that
 * has it ({@code dev.burrow.relay.mesh}). A local client always wins; the mesh is only asked when the
 * registry has no session for the destination.
 */
public interface MeshRouter {
    /**
     * Forwards {@code payload} from {@code source} to {@code destination} through a sibling relay.
     *
     * @return true when it was taken (ownership of {@code payload} moved, even if it is later dropped);
     *     false when no sibling has the destination (the caller still owns {@code payload})
     */
    boolean forwardDatagram(NodeKey source, NodeKey destination, ByteBuf payload);

    /** No mesh. */
    MeshRouter NONE = (source, destination, payload) -> false;
}
