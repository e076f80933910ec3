package dev.burrow.agent.udp;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;

/** How sealed UDP packets reach a peer: the relay's keyed datagrams, or the direct path when there is one. */
public interface UdpPath {
    /** Sends one sealed packet; false when the path would not take it. The buffer is released either way. */
    boolean send(NodeKey peer, ByteBuf packet);

    /** Whether the path to {@code peer} takes a packet now without dropping it (its queue has room). */
    default boolean writable(NodeKey peer) {
        return true;
    }

    /** Largest sealed packet the path to {@code peer} carries now (0 when none). */
    int maxPacket(NodeKey peer);

    /** The path's name for status ({@code relay}, {@code direct}). */
    String name(NodeKey peer);
}
