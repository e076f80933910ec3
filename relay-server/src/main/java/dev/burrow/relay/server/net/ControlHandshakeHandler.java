package dev.burrow.relay.server.net;

import dev.burrow.identity.RelayAuthProof;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.relay.server.auth.ClientAuthenticator;
import dev.burrow.relay.server.config.RelayDefaults;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.metrics.RelayMetrics.HandshakeOutcome;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay side of the control handshake: SERVER_HELLO with a fresh challenge, then exactly one
 * CLIENT_AUTH (the decoder policy admits nothing else, at most 16 KiB). On success the client is
 * registered, SERVER_ACCEPT is sent, the decoder switches to {@link FramePolicy#RELAY_CONTROL} and
 * this handler is replaced by {@link ControlConnectionHandler}. On failure DENY with the reason, and
 * close; nothing is registered.
 */
public final class ControlHandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ControlHandshakeHandler.class);

    private final RelayContext rc;
    private final byte[] challenge = RelayAuthProof.newChallenge();
    private boolean helloSent;
    private boolean authStarted;

    public ControlHandshakeHandler(RelayContext rc) {
        this.rc = rc;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            // Deferred: the router installs this handler before it removes the HTTP codec, which must not
            // see frame bytes.
            ctx.executor().execute(() -> sendHello(ctx));
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        sendHello(ctx);
        super.channelActive(ctx);
    }

    private void sendHello(ChannelHandlerContext ctx) {
        if (!helloSent && !ctx.isRemoved()) {
            helloSent = true;
            ctx.writeAndFlush(new RelayFrame.ServerHello(
                    RelayProtocol.VERSION,
                    RelayProtocol.MIN_VERSION,
                    challenge,
                    rc.config().relayId()));
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ClientFrame.ClientAuth auth && !authStarted) {
            authStarted = true;
            rc.authenticator()
                    .authenticate(auth, challenge)
                    .whenComplete((result, err) -> ctx.executor().execute(() -> {
                        if (err != null) {
                            finish(ctx, null, auth);
                        } else {
                            finish(ctx, result, auth);
                        }
                    }));
        } else {
            ReferenceCountUtil.release(msg);
            if (authStarted) {
                return; // the decoder only admits CLIENT_AUTH; anything while we decide is dropped
            }
            rc.metrics().handshake(HandshakeOutcome.PROTOCOL_ERROR);
            Denials.denyAndClose(ctx.channel(), DenyReason.PROTOCOL_ERROR, "expected CLIENT_AUTH");
        }
    }

    private void finish(ChannelHandlerContext ctx, ClientAuthenticator.Result result, ClientFrame.ClientAuth auth) {
        if (!ctx.channel().isActive() || ctx.isRemoved()) {
            return;
        }
        SocketAddress remote = ctx.channel().remoteAddress();
        if (result == null) {
            deny(ctx, HandshakeOutcome.INTERNAL, DenyReason.INTERNAL, "internal error");
            return;
        }
        if (!result.accepted()) {
            log.atInfo()
                    .addKeyValue("event", "client_denied")
                    .addKeyValue("remote", remote)
                    .addKeyValue("node", auth.key().shortId())
                    .addKeyValue("reason", result.denyReason())
                    .addKeyValue("why", result.message())
                    .log("client denied");
            deny(ctx, result.outcome(), result.denyReason(), result.message());
            return;
        }
        if (rc.draining()) {
            deny(ctx, HandshakeOutcome.DRAINING, DenyReason.DRAINING, "relay is draining");
            return;
        }
        if (rc.registry().size() >= rc.config().limits().maxClients()
                && rc.registry().lookup(result.key()) == null) {
            deny(ctx, HandshakeOutcome.SERVER_FULL, DenyReason.SERVER_FULL, "relay at capacity");
            return;
        }
        var limits = rc.config().limits();
        // Only a name the relay itself verified as issued by its fleet CA may ever be looked up.
        String certifiedName = result.peer() != null && result.peer().caIssued()
                ? result.peer().name()
                : null;
        ClientSession session = new ClientSession(
                result.key(),
                certifiedName,
                ctx.channel(),
                auth.acceptsCircuits(),
                limits.sendQueueDepth(),
                limits.controlQueueDepth(),
                rc.config().timeouts().write().toNanos(),
                RelayDefaults.PEER_GONE_NOTICE_RATE,
                RelayDefaults.PEER_GONE_NOTICE_BURST,
                rc.metrics(),
                rc::addQueued);
        RelayFrameDecoder decoder = ctx.pipeline().get(RelayFrameDecoder.class);
        if (decoder != null) {
            decoder.policy(FramePolicy.RELAY_CONTROL);
        }
        ctx.writeAndFlush(new RelayFrame.ServerAccept(
                rc.config().timeouts().keepalive().toMillis(),
                FrameLimits.MAX_DATAGRAM_PAYLOAD,
                observed(remote),
                rc.advertisedStunPort()));
        HandshakeDeadline.established(ctx.channel());
        ctx.pipeline().replace(this, "control", new ControlConnectionHandler(rc, session));
        rc.registry().register(session);
        rc.metrics().handshake(HandshakeOutcome.OK);
        log.atInfo()
                .addKeyValue("event", "client_connected")
                .addKeyValue("node", result.key().shortId())
                .addKeyValue("remote", remote)
                .addKeyValue("circuits", auth.acceptsCircuits())
                .addKeyValue(
                        "cert", result.peer() == null ? "none" : (result.peer().caIssued() ? "ca" : "self"))
                .addKeyValue("software", auth.software().replaceAll("[^\\x20-\\x7e]", "?"))
                .log("client connected");
    }

    private void deny(ChannelHandlerContext ctx, HandshakeOutcome outcome, DenyReason reason, String message) {
        rc.metrics().handshake(outcome);
        Denials.denyAndClose(ctx.channel(), reason, message);
    }

    private static String observed(SocketAddress remote) {
        if (remote instanceof InetSocketAddress in && in.getAddress() != null) {
            String host = in.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + in.getPort();
        }
        return "";
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ProtocolViolation v = Denials.violation(cause);
        if (v != null) {
            rc.metrics().protocolViolation(v.kind().name());
            rc.metrics().handshake(HandshakeOutcome.PROTOCOL_ERROR);
            log.atInfo()
                    .addKeyValue("event", "handshake_protocol_error")
                    .addKeyValue("remote", ctx.channel().remoteAddress())
                    .addKeyValue("kind", v.kind())
                    .addKeyValue("why", v.getMessage())
                    .log("handshake protocol error");
            Denials.denyAndClose(ctx.channel(), DenyReason.PROTOCOL_ERROR, v.getMessage());
        } else {
            log.atDebug()
                    .addKeyValue("event", "handshake_error")
                    .addKeyValue("remote", ctx.channel().remoteAddress())
                    .addKeyValue("error", cause.toString())
                    .log("handshake error");
            ctx.close();
        }
    }
}
