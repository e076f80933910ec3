package dev.burrow.relay.mesh;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes {@link MeshFrame}s with {@link MeshCodec}; releases datagram payloads (MessageToByteEncoder does). */
@Sharable
public final class MeshFrameEncoder extends MessageToByteEncoder<MeshFrame> {
    public static final MeshFrameEncoder INSTANCE = new MeshFrameEncoder();

    private MeshFrameEncoder() {
        super(MeshFrame.class);
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, MeshFrame msg, boolean preferDirect) {
        int n = MeshCodec.encodedLength(msg);
        return preferDirect ? ctx.alloc().ioBuffer(n) : ctx.alloc().heapBuffer(n);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, MeshFrame msg, ByteBuf out) {
        MeshCodec.encode(msg, out);
    }
}
