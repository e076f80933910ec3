package dev.burrow.relay.server.net;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.DatagramFrame;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FrameLimits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Lets the WebSocket transport use the same {@code RelayFrameDecoder} and handlers as the raw
 * Upgrade transport. Inbound, binary (and continuation) messages become their bytes, in order, so
 * the decoder sees one byte stream; text messages are a protocol error; pings are answered; a close
 * closes. Outbound, each relay frame becomes exactly one binary message (a datagram's payload is not
 * copied: header and payload go into a composite buffer), and raw circuit bytes become binary
 * messages as they are.
 */
public final class WebSocketFrameAdapter extends ChannelDuplexHandler {
    /** Largest WebSocket message accepted: one largest frame with its header. */
    public static final int MAX_MESSAGE = FrameLimits.HEADER_LENGTH + FrameLimits.MAX_UNKNOWN_PAYLOAD;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof BinaryWebSocketFrame || msg instanceof ContinuationWebSocketFrame) {
            ByteBuf content = ((WebSocketFrame) msg).content().retain();
            ReferenceCountUtil.release(msg);
            ctx.fireChannelRead(content);
        } else if (msg instanceof PingWebSocketFrame ping) {
            ctx.writeAndFlush(new PongWebSocketFrame(ping.content().retain()));
            ping.release();
        } else if (msg instanceof PongWebSocketFrame pong) {
            pong.release();
        } else if (msg instanceof CloseWebSocketFrame close) {
            close.release();
            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE))
                    .addListener(ChannelFutureListener.CLOSE);
        } else if (msg instanceof WebSocketFrame other) {
            other.release(); // text: not our protocol
            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.INVALID_MESSAGE_TYPE))
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof Frame frame) {
            ByteBuf out;
            try {
                out = encode(ctx, frame);
            } finally {
                ReferenceCountUtil.release(frame);
            }
            ctx.write(new BinaryWebSocketFrame(out), promise);
        } else if (msg instanceof ByteBuf buf) {
            ctx.write(new BinaryWebSocketFrame(buf), promise);
        } else {
            ctx.write(msg, promise);
        }
    }

    static ByteBuf encode(ChannelHandlerContext ctx, Frame frame) {
        if (frame instanceof DatagramFrame d) {
            ByteBuf header = ctx.alloc().buffer(FrameLimits.HEADER_LENGTH + NodeKey.LENGTH);
            FrameCodec.encodeHeader(frame, header);
            CompositeByteBuf c = ctx.alloc().compositeBuffer(2);
            c.addComponents(true, header, d.payload().retain());
            return c;
        }
        ByteBuf buf = ctx.alloc().buffer(FrameCodec.encodedLength(frame));
        FrameCodec.encode(frame, buf);
        return buf;
    }
}
