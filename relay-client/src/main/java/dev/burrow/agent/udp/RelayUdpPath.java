package dev.burrow.agent.udp;

import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayConnectionInfo;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;

/**
 * Sealed UDP packets as the relay's keyed datagrams (SEND_DATAGRAM / RECV_DATAGRAM): works wherever
 * the agent reaches its relay. The relay sees the two node keys and the packet size, nothing else.
 * Usable user payload: the relay's advertised datagram limit (64 KiB today) minus
 * {@link UdpLimits#DATA_OVERHEAD}.
 */
public final class RelayUdpPath implements UdpPath {
    public static final String NAME = "relay";

    private final RelayClient relay;

    public RelayUdpPath(RelayClient relay) {
        this.relay = relay;
    }

    @Override
    public boolean send(NodeKey peer, ByteBuf packet) {
        return relay.send(peer, packet).accepted();
    }

    @Override
    public boolean writable(NodeKey peer) {
        return relay.isWritable();
    }

    @Override
    public int maxPacket(NodeKey peer) {
        return relay.connection().map(RelayConnectionInfo::maxDatagram).orElse(0);
    }

    @Override
    public String name(NodeKey peer) {
        return NAME;
    }
}
