package dev.burrow.stun.server;

import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.metrics.DropReason;
import dev.burrow.stun.metrics.StunMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Finds STUN message boundaries on a TCP stream (RFC 8489 §6.2.2: messages back to back, length
 * from the header). Checks the header before waiting for the body, so a bogus or oversized length
 * closes the connection right away and nothing is buffered for it.
 */
final class StunTcpFrameDecoder extends ByteToMessageDecoder {
    /** Largest STUN message accepted over TCP; same bound as a UDP datagram. */
    static final int MAX_MESSAGE_BYTES = StunUdpHandler.READ_BUFFER_BYTES;

    private final StunMetrics metrics;
    private boolean failed;

    StunTcpFrameDecoder(StunMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < StunMessage.HEADER_LENGTH) {
            return;
        }
        int i = in.readerIndex();
        int type = in.getUnsignedShort(i);
        int length = in.getUnsignedShort(i + 2);
        DropReason bad = null;
        if ((type & 0xC000) != 0) {
            bad = DropReason.NOT_STUN;
        } else if (in.getInt(i + 4) != StunMessage.MAGIC_COOKIE) {
            bad = DropReason.BAD_COOKIE;
        } else if ((length & 3) != 0) {
            bad = DropReason.BAD_LENGTH;
        } else if (StunMessage.HEADER_LENGTH + length > MAX_MESSAGE_BYTES) {
            bad = DropReason.MESSAGE_TOO_LARGE;
        }
        if (bad != null) {
            failed = true;
            metrics.dropped(bad);
            in.skipBytes(in.readableBytes());
            ctx.close();
            return;
        }
        int frame = StunMessage.HEADER_LENGTH + length;
        if (in.readableBytes() >= frame) {
            out.add(in.readRetainedSlice(frame));
        }
    }
}
