package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;

/** Receives datagrams from other nodes, on the client's event loop. */
@FunctionalInterface
public interface DatagramHandler {
    /**
     * @param source  the sender, as authenticated by the relay
     * @param payload valid only during this call (the client releases it afterwards); call
     *                {@code retain()} to keep it
     */
    void datagram(NodeKey source, ByteBuf payload);
}
