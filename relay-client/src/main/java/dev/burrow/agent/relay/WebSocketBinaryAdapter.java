package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.ProtocolViolation;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseCombiner;

/**
 * Turns WebSocket binary messages into the byte stream the frame decoder reads, and outbound
 * buffers into binary messages (one write, one message). A text message is a protocol violation.
 * Control frames (ping, pong, close) are handled by Netty's protocol handler in front of this one.
 * Used by the client and by test relays.
 */
final class WebSocketBinaryAdapter extends ChannelDuplexHandler {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof BinaryWebSocketFrame || msg instanceof ContinuationWebSocketFrame) {
            ctx.fireChannelRead(((WebSocketFrame) msg).content()); // ownership moves with the content
        } else if (msg instanceof WebSocketFrame) {
            ReferenceCountUtil.release(msg);
            ctx.fireExceptionCaught(new ProtocolViolation(
                    ProtocolViolation.Kind.UNEXPECTED_FRAME, "only binary WebSocket messages carry relay data"));
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * Largest binary message we send: one largest relay frame (header, key, 64 KiB payload), which is
     * also the largest message a relay accepts. Frames never exceed it; longer circuit writes are
     * split at this size.
     */
    static final int MAX_OUTBOUND_MESSAGE = FrameLimits.HEADER_LENGTH + FrameLimits.MAX_UNKNOWN_PAYLOAD;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf buf) || !buf.isReadable()) { // empty flush markers pass through to TLS
            ctx.write(msg, promise);
            return;
        }
        if (buf.readableBytes() <= MAX_OUTBOUND_MESSAGE) {
            ctx.write(new BinaryWebSocketFrame(buf), promise);
            return;
        }
        PromiseCombiner all = new PromiseCombiner(ctx.executor());
        try {
            while (buf.readableBytes() > 0) {
                int n = Math.min(MAX_OUTBOUND_MESSAGE, buf.readableBytes());
                all.add(ctx.write(new BinaryWebSocketFrame(buf.readRetainedSlice(n))));
            }
        } finally {
            buf.release();
        }
        all.finish(promise);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        ctx.fireUserEventTriggered(evt);
        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
            ctx.fireUserEventTriggered(TransportReadyEvent.INSTANCE);
        }
    }
}
