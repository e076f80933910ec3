package dev.burrow.agent.udp;

import dev.burrow.agent.direct.DirectManager;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;

/**
 * Sealed UDP packets as QUIC datagrams (RFC 9221) on the peer's direct QUIC connection while one is
 * up, else through the relay. The packet stays sealed by the {@link UdpBox} inside QUIC's own
 * encryption, so both paths deliver the same bytes and the same checks apply (replay window,
 * session binding, the sender must be the QUIC-verified peer). A packet larger than
 * {@link UdpLimits#DIRECT_MAX_PACKET} goes through the relay even when a direct path is up (no
 * fragmentation), so the usable payload is the relay's.
 */
public final class DirectUdpPath implements UdpPath {
    public static final String NAME = "direct";

    private final DirectManager direct;
    private final UdpPath relay;

    public DirectUdpPath(DirectManager direct, UdpPath relay) {
        this.direct = direct;
        this.relay = relay;
    }

    private boolean useDirect(NodeKey peer) {
        return peer != null && direct.hasDirect(peer);
    }

    @Override
    public boolean send(NodeKey peer, ByteBuf packet) {
        if (packet.readableBytes() <= UdpLimits.DIRECT_MAX_PACKET && useDirect(peer)) {
            return direct.sendDatagram(peer, packet);
        }
        return relay.send(peer, packet);
    }

    @Override
    public boolean writable(NodeKey peer) {
        return useDirect(peer) || relay.writable(peer);
    }

    @Override
    public int maxPacket(NodeKey peer) {
        return relay.maxPacket(peer);
    }

    @Override
    public String name(NodeKey peer) {
        return useDirect(peer) ? NAME : relay.name(peer);
    }
}
