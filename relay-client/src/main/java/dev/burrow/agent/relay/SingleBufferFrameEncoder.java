package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.DatagramFrame;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FrameLimits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes each frame as exactly one buffer, for WebSocket mode where one buffer becomes one binary
 * message (the protocol says one message carries one frame). A datagram's payload is not copied:
 * it becomes the second component of a composite buffer.
 */
@Sharable
final class SingleBufferFrameEncoder extends MessageToMessageEncoder<Frame> {
    static final SingleBufferFrameEncoder INSTANCE = new SingleBufferFrameEncoder();

    private SingleBufferFrameEncoder() {
        super(Frame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
        if (frame instanceof DatagramFrame d) {
            ByteBuf header = ctx.alloc().buffer(FrameLimits.HEADER_LENGTH + NodeKey.LENGTH);
            FrameCodec.encodeHeader(frame, header);
            CompositeByteBuf both = ctx.alloc().compositeBuffer(2);
            both.addComponents(true, header, d.payload().retain());
            out.add(both);
        } else {
            ByteBuf buf = ctx.alloc().buffer(FrameCodec.encodedLength(frame));
            FrameCodec.encode(frame, buf);
            out.add(buf);
        }
    }
}
