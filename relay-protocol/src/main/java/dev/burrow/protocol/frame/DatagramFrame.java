package dev.burrow.protocol.frame;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/** SEND_DATAGRAM and RECV_DATAGRAM: a peer key and a reference-counted payload. */
public sealed interface DatagramFrame extends ReferenceCounted
        permits ClientFrame.SendDatagram, RelayFrame.RecvDatagram {

    /** Destination (send) or source (receive). */
    NodeKey peer();

    ByteBuf payload();

    @Override
    default int refCnt() {
        return payload().refCnt();
    }

    @Override
    default boolean release() {
        return payload().release();
    }

    @Override
    default boolean release(int decrement) {
        return payload().release(decrement);
    }

    static void checkPayload(ByteBuf payload) {
        if (payload == null) {
            throw new NullPointerException("payload");
        }
        if (payload.readableBytes() > FrameLimits.MAX_DATAGRAM_PAYLOAD) {
            throw new IllegalArgumentException("datagram payload over " + FrameLimits.MAX_DATAGRAM_PAYLOAD + " bytes");
        }
    }
}
