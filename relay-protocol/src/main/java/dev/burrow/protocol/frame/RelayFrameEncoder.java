package dev.burrow.protocol.frame;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes frames. A datagram's payload is passed on as its own buffer behind a small header buffer,
 * never copied. Stateless, so one instance serves every channel.
 */
@Sharable
public final class RelayFrameEncoder extends MessageToMessageEncoder<Frame> {
    public static final RelayFrameEncoder INSTANCE = new RelayFrameEncoder();

    private RelayFrameEncoder() {
        super(Frame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
        if (frame instanceof DatagramFrame d) {
            ByteBuf header = ctx.alloc().buffer(FrameLimits.HEADER_LENGTH + NodeKey.LENGTH);
            FrameCodec.encodeHeader(frame, header);
            out.add(header);
            out.add(d.payload().retain()); // MessageToMessageEncoder releases the frame after encode
        } else {
            ByteBuf buf = ctx.alloc().buffer(FrameCodec.encodedLength(frame));
            FrameCodec.encode(frame, buf);
            out.add(buf);
        }
    }
}
