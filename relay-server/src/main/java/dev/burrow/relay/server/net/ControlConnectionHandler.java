package dev.burrow.relay.server.net;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.forward.TokenBucket;
import dev.burrow.relay.server.metrics.DropReason;
import dev.burrow.relay.server.metrics.RelayMetrics.NameLookupOutcome;
import dev.burrow.relay.server.metrics.RelayMetrics.RateLimitKind;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An authenticated control connection: forwards datagrams by key, answers pings (at most one pong
 * pending), hands circuit frames to the circuit manager, sends keepalives, closes when idle, and
 * paces reads with the client's token bucket.
 *
 * <p><b>Rate limit (rate abuse).</b> Every frame read costs its size in tokens (clamped to the burst). When
 * the bucket goes into debt, auto-read is switched off until the debt is repaid, so TCP's own flow
 * control pushes back on the sender: nothing is dropped. The first time, the client gets one
 * RATE_LIMITED notice. Limits are read from the {@link RelayContext} on every frame, so a reload
 * takes effect at once.
 */
public final class ControlConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ControlConnectionHandler.class);

    // Final after construction.
    private final RelayContext rc;
    private final ClientSession session;

    // Owned by the channel's event loop.
    private ScheduledFuture<?> keepalive;
    private TokenBucket bucket;
    private boolean paused;
    private boolean rateNoticeSent;

    public ControlConnectionHandler(RelayContext rc, ClientSession session) {
        this.rc = rc;
        this.session = session;
    }

    public ClientSession session() {
        return session;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        long interval = rc.config().timeouts().keepalive().toMillis();
        long jitter = ThreadLocalRandom.current().nextLong(Math.max(1, interval / 12));
        keepalive = ctx.executor()
                .scheduleAtFixedRate(
                        () -> session.enqueueControl(new RelayFrame.Keepalive()),
                        interval + jitter,
                        interval,
                        TimeUnit.MILLISECONDS);
        String before = ctx.pipeline().get(RelayFrameDecoder.class) != null
                ? ctx.pipeline().context(RelayFrameDecoder.class).name()
                : ctx.name();
        ctx.pipeline()
                .addBefore(
                        before,
                        "idle",
                        new IdleStateHandler(
                                rc.config().timeouts().clientIdle().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ClientFrame frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            account(ctx, frame);
        } catch (RuntimeException e) {
            ReferenceCountUtil.release(msg);
            throw e;
        }
        switch (frame) {
            case ClientFrame.SendDatagram d -> forward(d);
            case Frame.Ping p -> {
                if (!session.enqueuePong(new Frame.Pong(p.data()))) {
                    rc.metrics().rateLimited(RateLimitKind.PING);
                }
            }
            case Frame.Pong p -> {}
            case ClientFrame.CircuitRequest r -> rc.circuits().request(session, r);
            case ClientFrame.CircuitAccept a -> rc.circuits().accept(session, a);
            case ClientFrame.CircuitReject r -> {
                if (!rc.ingress().reject(session, r)) {
                    rc.circuits().reject(session, r);
                }
            }
            case ClientFrame.Publish p -> rc.ingress().publish(session, p);
            case ClientFrame.Unpublish u -> rc.ingress().unpublish(session, u.service());
            case ClientFrame.LookupName l -> lookupName(l);
            case Frame.Unknown u -> rc.metrics().unknownFrame();
            default -> ReferenceCountUtil.release(msg); // the decoder policy admits nothing else
        }
    }

    /** Answers from the registry's index of CA-verified names; the read rate limit already charged the frame. */
    private void lookupName(ClientFrame.LookupName l) {
        List<NodeKey> keys = rc.registry().lookupName(l.name());
        rc.metrics().nameLookup(keys.isEmpty() ? NameLookupOutcome.NOT_FOUND : NameLookupOutcome.FOUND);
        session.enqueueControl(new RelayFrame.NameResult(l.requestId(), keys));
    }

    private void forward(ClientFrame.SendDatagram d) {
        NodeKey dst = d.destination();
        if (session.shouldRecordWatch(dst)) {
            rc.registry().watchers().record(dst, session.key());
        }
        ClientSession dest = rc.registry().lookup(dst);
        if (dest == null && rc.meshRouter().forwardDatagram(session.key(), dst, d.payload())) {
            return;
        }
        if (dest == null) {
            d.release();
            rc.metrics().dropped(DropReason.UNKNOWN_DEST);
            if (session.allowPeerGoneNotice()) {
                session.enqueueControl(new RelayFrame.PeerGone(dst, PeerGoneReason.NOT_HERE));
            } else {
                rc.metrics().rateLimited(RateLimitKind.PEER_GONE_NOTICE);
            }
            return;
        }
        dest.enqueueDatagram(new RelayFrame.RecvDatagram(session.key(), d.payload()));
    }

    private void account(ChannelHandlerContext ctx, ClientFrame frame) {
        RelayContext.ClientRateLimit limit = rc.rateLimit();
        if (!limit.enabled()) {
            return;
        }
        long now = System.nanoTime();
        if (bucket == null) {
            bucket = new TokenBucket(limit.bytesPerSecond(), limit.burstBytes(), now);
        } else if (bucket.rate() != limit.bytesPerSecond() || bucket.burst() != limit.burstBytes()) {
            bucket.reconfigure(limit.bytesPerSecond(), limit.burstBytes());
        }
        int size = frame instanceof Frame.Unknown u
                ? FrameLimits.HEADER_LENGTH + u.length()
                : FrameCodec.encodedLength(frame);
        long delay = bucket.takeAndGetDelayNanos(size, now);
        if (delay > 0 && !paused) {
            paused = true;
            ctx.channel().config().setAutoRead(false);
            rc.metrics().rateLimited(RateLimitKind.CLIENT_READ);
            if (!rateNoticeSent) {
                rateNoticeSent = true;
                session.enqueueControl(new RelayFrame.RateLimited(
                        Math.min(limit.bytesPerSecond(), 0xFFFF_FFFFL), Math.min(limit.burstBytes(), 0xFFFF_FFFFL)));
                log.atInfo()
                        .addKeyValue("event", "client_rate_limited")
                        .addKeyValue("node", session.key().shortId())
                        .addKeyValue("bytes_per_second", limit.bytesPerSecond())
                        .log("client rate limited");
            }
            ctx.executor()
                    .schedule(
                            () -> {
                                paused = false;
                                ctx.channel().config().setAutoRead(true);
                            },
                            delay,
                            TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        session.writabilityChanged();
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        rc.registry().unregister(session);
        rc.circuits().clientGone(session);
        rc.ingress().clientGone(session);
        log.atInfo()
                .addKeyValue("event", "client_disconnected")
                .addKeyValue("node", session.key().shortId())
                .addKeyValue("remote", ctx.channel().remoteAddress())
                .log("client disconnected");
        super.channelInactive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            log.atInfo()
                    .addKeyValue("event", "client_idle_timeout")
                    .addKeyValue("node", session.key().shortId())
                    .log("client idle timeout");
            ctx.close();
        } else if (evt instanceof ChannelInputShutdownEvent) {
            ctx.close();
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ProtocolViolation v = Denials.violation(cause);
        if (v != null) {
            rc.metrics().protocolViolation(v.kind().name());
            log.atInfo()
                    .addKeyValue("event", "client_protocol_error")
                    .addKeyValue("node", session.key().shortId())
                    .addKeyValue("kind", v.kind())
                    .addKeyValue("why", v.getMessage())
                    .log("client protocol error");
            Denials.denyAndClose(ctx.channel(), DenyReason.PROTOCOL_ERROR, v.getMessage());
        } else {
            log.atDebug()
                    .addKeyValue("event", "client_error")
                    .addKeyValue("node", session.key().shortId())
                    .addKeyValue("error", cause.toString())
                    .log("client error");
            ctx.close();
        }
    }
}
