package dev.burrow.stun.server;

import dev.burrow.stun.metrics.DropReason;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.metrics.StunProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers framed Binding requests on one TCP connection. Backpressure: when the socket stops being
 * writable, reading stops until it drains, so a client that does not read its answers cannot make
 * the server buffer without bound. Idle connections are closed.
 */
final class StunTcpHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(StunTcpHandler.class);

    private final BindingResponder responder;
    private final StunMetrics metrics;
    private boolean flushPending;

    StunTcpHandler(BindingResponder responder, StunMetrics metrics) {
        this.responder = responder;
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            if (!(ctx.channel().remoteAddress() instanceof InetSocketAddress remote)) {
                metrics.dropped(DropReason.INTERNAL_ERROR);
                return;
            }
            BindingResponder.Reply reply = responder.respond(frame, remote, 0, StunProtocol.TCP, ctx.alloc());
            if (reply != null) {
                ctx.write(reply.content(), ctx.voidPromise());
                flushPending = true;
                metrics.responded(StunProtocol.TCP, reply.error());
                if (!ctx.channel().isWritable()) {
                    ctx.channel().config().setAutoRead(false);
                }
            }
        } catch (Throwable t) {
            metrics.dropped(DropReason.INTERNAL_ERROR);
            log.debug("STUN TCP request failed", t);
            ctx.close();
        } finally {
            frame.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (flushPending) {
            flushPending = false;
            ctx.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            ctx.channel().config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            metrics.dropped(DropReason.TCP_IDLE);
            ctx.close();
        } else {
            ReferenceCountUtil.release(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("STUN TCP connection error", cause);
        ctx.close();
    }
}
