package dev.burrow.relay.server.net;

import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.relay.server.circuit.CircuitManager;
import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.metrics.RelayMetrics.HandshakeOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A circuit connection before it is joined: exactly one CIRCUIT_ATTACH (the decoder's
 * {@code RELAY_AWAITING_ATTACH} policy admits nothing else). On ATTACH the frame decoder is removed at
 * once and reads stop, so bytes the client sent behind the frame are kept (bounded) as circuit data
 * instead of being parsed as frames; {@link CircuitProxy} takes them over when both ends are in.
 */
public final class CircuitAttachHandler extends ChannelInboundHandlerAdapter implements MeshCircuits.EarlyBytes {
    private static final Logger log = LoggerFactory.getLogger(CircuitAttachHandler.class);
    /** Early circuit bytes kept per end: at most what one read delivered, and never more than this. */
    static final int MAX_EARLY_BYTES = 256 * 1024;

    private final RelayContext rc;
    private boolean attached;
    private CompositeByteBuf early;

    public CircuitAttachHandler(RelayContext rc) {
        this.rc = rc;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && attached) {
            if (early == null) {
                early = ctx.alloc().compositeBuffer();
            }
            if (early.readableBytes() + buf.readableBytes() > MAX_EARLY_BYTES) {
                buf.release();
                ctx.close();
                return;
            }
            early.addComponent(true, buf);
            return;
        }
        if (!(msg instanceof ClientFrame.CircuitAttach attach) || attached) {
            ReferenceCountUtil.release(msg);
            rc.metrics().handshake(HandshakeOutcome.PROTOCOL_ERROR);
            Denials.denyAndClose(ctx.channel(), DenyReason.PROTOCOL_ERROR, "expected CIRCUIT_ATTACH");
            return;
        }
        attached = true;
        ctx.channel().config().setAutoRead(false);
        if (ctx.pipeline().get(RelayFrameDecoder.class) != null) {
            ctx.pipeline().remove(RelayFrameDecoder.class); // leftover bytes arrive here as ByteBufs
        }
        CircuitManager.AttachResult result = rc.circuits().attach(ctx.channel(), attach);
        if (result == CircuitManager.AttachResult.REFUSED) {
            log.atInfo()
                    .addKeyValue("event", "circuit_attach_refused")
                    .addKeyValue("remote", ctx.channel().remoteAddress())
                    .addKeyValue("circuit", attach.circuitId())
                    .log("circuit attach refused");
            rc.metrics().handshake(HandshakeOutcome.AUTH_FAILED);
            Denials.denyAndClose(
                    ctx.channel(), DenyReason.AUTH_FAILED, "unknown circuit or invalid, used or expired token");
            return;
        }
        rc.metrics().handshake(HandshakeOutcome.OK);
        HandshakeDeadline.established(ctx.channel());
    }

    /** Hands the early bytes over (ownership moves to the caller); event loop only. */
    @Override
    public ByteBuf takeEarlyBytes() {
        CompositeByteBuf e = early;
        early = null;
        return e;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (early != null) {
            early.release();
            early = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ProtocolViolation v = Denials.violation(cause);
        if (v != null) {
            rc.metrics().protocolViolation(v.kind().name());
            rc.metrics().handshake(HandshakeOutcome.PROTOCOL_ERROR);
            Denials.denyAndClose(ctx.channel(), DenyReason.PROTOCOL_ERROR, v.getMessage());
        } else {
            ctx.close();
        }
    }
}
