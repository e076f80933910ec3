package dev.burrow.agent.direct;

import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of a QUIC stream the peer opened: reads the {@link DirectStreamHeader}, then hands
 * the stream to the one inbound gate (OPEN, allow rules, caps, target check) with the QUIC
 * connection's verified node as the claimed peer and the connection's TLS session as the proof
 * (no TLS inside the stream: the gate verifies the peer from that session), and passes on any bytes
 * that came with the header (OPEN, and the dialer's first bytes).
 */
final class DirectStreamAcceptor extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(DirectStreamAcceptor.class);
    /** A stream that names no service within this long is closed. */
    static final long HEADER_TIMEOUT_MILLIS = 10_000;

    private final NodeKey peer;
    private final SSLSession session;
    private final Consumer<InboundStream> gate;
    private ByteBuf cumulation;
    private ScheduledFuture<?> deadline;

    /**
     * @param peer the node the QUIC connection verified
     * @param session the QUIC connection's TLS session, the gate's proof of {@code peer}
     */
    DirectStreamAcceptor(NodeKey peer, SSLSession session, Consumer<InboundStream> gate) {
        this.peer = Objects.requireNonNull(peer, "peer");
        this.session = Objects.requireNonNull(session, "session");
        this.gate = gate;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        deadline = ctx.executor()
                .schedule(
                        () -> {
                            ctx.close();
                        },
                        HEADER_TIMEOUT_MILLIS,
                        TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf b)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (cumulation == null) {
            cumulation = b;
        } else {
            if (cumulation.readableBytes() + b.readableBytes() > 1 + DirectStreamHeader.MAX_SERVICE_LENGTH + 65536) {
                b.release();
                fail(ctx, "oversized header read");
                return;
            }
            ByteBuf merged = ctx.alloc().buffer(cumulation.readableBytes() + b.readableBytes());
            merged.writeBytes(cumulation).writeBytes(b);
            cumulation.release();
            b.release();
            cumulation = merged;
        }
        String service;
        try {
            service = DirectStreamHeader.decode(cumulation);
        } catch (IllegalArgumentException e) {
            fail(ctx, e.getMessage());
            return;
        }
        if (service == null) {
            return;
        }
        deadline.cancel(false);
        ByteBuf rest = cumulation;
        cumulation = null;
        ctx.channel().config().setAutoRead(false);
        gate.accept(new InboundStream(ctx.channel(), DirectPath.NAME, peer, service, session));
        if (rest.isReadable()) {
            ctx.fireChannelRead(rest);
        } else {
            rest.release();
        }
        ctx.pipeline().remove(this);
    }

    private void fail(ChannelHandlerContext ctx, String why) {
        log.debug("direct stream from {} refused: {}", peer.shortId(), why);
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
        ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (deadline != null) {
            deadline.cancel(false);
        }
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("direct stream from {} failed: {}", peer.shortId(), cause.toString());
        ctx.close();
    }
}
