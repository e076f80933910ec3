package dev.burrow.agent.stream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Finds the boundary of exactly one preamble message, enforces the length limit as soon as the
 * header is in (before buffering the payload), emits the decoded {@link PeerStreamMessage}, and
 * removes itself: whatever follows in the stream is service data and passes through untouched
 * (ByteToMessageDecoder forwards the bytes it still holds when removed).
 *
 * <p>A violation surfaces as a {@link PeerStreamDecodeException} through {@code exceptionCaught}
 * (wrapped in a {@code DecoderException} by Netty); the handler above decides what to answer.
 */
public final class PreambleDecoder extends ByteToMessageDecoder {
    private boolean done;

    public PreambleDecoder() {
        setSingleDecode(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (done) {
            return;
        }
        if (in.readableBytes() < PeerStreamLimits.HEADER_LENGTH) {
            return;
        }
        int start = in.readerIndex();
        int type = in.getUnsignedByte(start);
        int length = in.getUnsignedShort(start + 1);
        if (length > PeerStreamLimits.MAX_PAYLOAD) {
            done = true;
            in.skipBytes(in.readableBytes());
            throw new PeerStreamDecodeException(
                    "preamble payload of " + length + " bytes exceeds " + PeerStreamLimits.MAX_PAYLOAD);
        }
        if (in.readableBytes() < PeerStreamLimits.HEADER_LENGTH + length) {
            return;
        }
        in.skipBytes(PeerStreamLimits.HEADER_LENGTH);
        ByteBuf payload = in.readSlice(length);
        done = true;
        try {
            out.add(PeerStreamCodec.decode(type, payload));
        } catch (PeerStreamDecodeException e) {
            in.skipBytes(in.readableBytes());
            throw e;
        }
        ctx.pipeline().remove(this);
    }
}
