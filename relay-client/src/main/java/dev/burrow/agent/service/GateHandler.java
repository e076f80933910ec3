package dev.burrow.agent.service;

import dev.burrow.agent.caller.Caller;
import dev.burrow.agent.caller.PeerAddresses;
import dev.burrow.agent.caller.ProxyHeaders;
import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.stream.EarlyInput;
import dev.burrow.agent.stream.PeerRefusals;
import dev.burrow.agent.stream.PeerStreamCodec;
import dev.burrow.agent.stream.PeerStreamDecodeException;
import dev.burrow.agent.stream.PeerStreamMessage;
import dev.burrow.agent.stream.PeerStreamProtocol;
import dev.burrow.agent.stream.StreamEnd;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.NodeTls;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inbound stream at the gate ({@link InboundStreamGate}): waits for its security (TLS inside
 * the stream, or the path's authenticated connection), reads OPEN, asks the allow rules and {@link
 * StreamAdmission} about it, answers with STATUS, and hands an admitted stream to the splice.
 * Lives in the stream's pipeline, on its event loop.
 */
final class GateHandler extends ChannelInboundHandlerAdapter implements StreamAdmission.Stream {
    private static final Logger log = LoggerFactory.getLogger(InboundStreamGate.class);

    // Final after construction.
    private final InboundStreamGate gate;
    private final InboundStream stream;
    /** The TLS inside the stream; null on a path-authenticated stream (no TLS inside it). */
    private final SslHandler ssl;

    // Owned by the stream's event loop.
    private ChannelHandlerContext ctx;
    private VerifiedPeer peer;
    /** Some rule of some service admits {@link #peer}: only then is a refusal's reason told to it. */
    private boolean admittedSomewhere;
    /** OPEN named it and the allow rules admitted the peer: the admission is under way. */
    private ExposedService service;

    private boolean decided;
    /** OPEN arrived: on a path-authenticated stream, what follows it waits in an {@link EarlyInput} hold. */
    private boolean openSeen;

    private ScheduledFuture<?> deadline;
    /** OPEN admitted: the local target connect is under way. */
    private ChannelFuture targetConnect;

    GateHandler(InboundStreamGate gate, InboundStream stream, SslHandler ssl) {
        this.gate = gate;
        this.stream = stream;
        this.ssl = ssl;
    }

    /** The stream's security is done: TLS inside it finished, or the path's connection authenticated the peer. */
    private boolean secured() {
        return ssl == null || ssl.handshakeFuture().isSuccess();
    }

    /**
     * A path-authenticated stream: the peer is the node the path's connection verified, judged
     * again now by the verifier (expiry, pins and CAs as they are now) against the claimed node.
     * False (and refused) when it does not verify.
     */
    boolean verifyFromPath() {
        try {
            peer = NodeTls.verifiedPeer(stream.pathSession(), gate.verifier, stream.claimedPeer());
            return true;
        } catch (Exception e) {
            answer(ctx, StreamStatusCode.NOT_ALLOWED, "peer identity does not verify: " + e.getMessage());
            return false;
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        deadline = ctx.executor()
                .schedule(
                        () -> {
                            if (!decided) {
                                decided = true;
                                gate.refused(
                                        stream.claimedPeer().nodeId(),
                                        stream.announcedService(),
                                        StreamStatusCode.BAD_REQUEST,
                                        "no OPEN within " + StreamDefaults.PREAMBLE_TIMEOUT.toSeconds() + " s");
                                ctx.close();
                            }
                        },
                        StreamDefaults.PREAMBLE_TIMEOUT.toMillis(),
                        TimeUnit.MILLISECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (deadline != null) {
            deadline.cancel(false);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent hs) {
            if (!hs.isSuccess() && !ctx.channel().isActive()) {
                // The path closed under the handshake (the TLS handler reports it as a failed
                // handshake just before the close reaches us): nobody is left to refuse.
                abandon(AgentMetrics.AbandonStage.TLS);
                return;
            }
            if (!hs.isSuccess()) {
                decided = true;
                gate.refused(
                        stream.claimedPeer().nodeId(),
                        stream.announcedService(),
                        StreamStatusCode.NOT_ALLOWED,
                        "TLS handshake failed: " + hs.cause().getMessage());
                ctx.close();
                return;
            }
            try {
                peer = NodeTls.verifiedPeer(ssl, gate.verifier, stream.claimedPeer());
            } catch (Exception e) {
                // identity spoofing in routing metadata: the certificate is not for the node the path named, or
                // does not verify.
                answer(ctx, StreamStatusCode.NOT_ALLOWED, "peer identity does not verify: " + e.getMessage());
            }
            return;
        }
        if (ssl == null && openSeen && evt instanceof ChannelInputShutdownEvent) {
            // A path-authenticated dialer sent OPEN, its first bytes and its end of input at once
            // (a request then a half-close): the end waits in the hold with the bytes. After a
            // refusal the hold is gone and the event ends at the tail.
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (!decided
                && targetConnect == null
                && (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent)) {
            // The dialer's direction ended (a FIN or close_notify passed on by the path; with
            // half-closure the channel stays open) before OPEN: no OPEN can come any more.
            abandon(secured() ? AgentMetrics.AbandonStage.OPEN : AgentMetrics.AbandonStage.TLS);
            ctx.close();
            return;
        }
        ReferenceCountUtil.release(evt);
    }

    /**
     * The path closed before a decision (the relay circuit's transport died, the dialer went
     * away): the wait ends now rather than at the preamble deadline, and a target connect under
     * way is cancelled (its listener gives the cap's permit back).
     */
    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!decided) {
            AgentMetrics.AbandonStage stage = targetConnect != null
                    ? AgentMetrics.AbandonStage.TARGET
                    : secured() ? AgentMetrics.AbandonStage.OPEN : AgentMetrics.AbandonStage.TLS;
            abandon(stage);
            if (targetConnect != null) {
                targetConnect.cancel(false);
                targetConnect.channel().close();
            }
        }
        ctx.fireChannelInactive();
    }

    private void abandon(AgentMetrics.AbandonStage stage) {
        decided = true;
        if (deadline != null) {
            deadline.cancel(false);
        }
        gate.abandoned(stream, stage);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ssl == null && openSeen && msg instanceof ByteBuf && !decided) {
            // a path-authenticated dialer's first bytes, sent with OPEN: held until admitted
            ctx.fireChannelRead(msg);
            return;
        }
        if (decided) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!(msg instanceof PeerStreamMessage.Open open)) {
            ReferenceCountUtil.release(msg);
            gate.metrics.preambleError();
            answer(ctx, StreamStatusCode.BAD_REQUEST, msg instanceof ByteBuf ? "data before STATUS" : "expected OPEN");
            return;
        }
        if (peer == null) {
            answer(ctx, StreamStatusCode.NOT_ALLOWED, "no verified identity");
            return;
        }
        ctx.channel().config().setAutoRead(false);
        openSeen = true;
        if (ssl == null) {
            EarlyInput.installAfter(ctx);
        }
        decide(ctx, open);
    }

    private void decide(ChannelHandlerContext ctx, PeerStreamMessage.Open open) {
        if (!PeerStreamProtocol.supports(open.version())) {
            answer(
                    ctx,
                    StreamStatusCode.UNSUPPORTED_VERSION,
                    "preamble version " + open.version() + " is not supported (this agent speaks "
                            + PeerStreamProtocol.MIN_VERSION + "-" + PeerStreamProtocol.VERSION + ")");
            return;
        }
        if (!open.service().equals(stream.announcedService())) {
            answer(ctx, StreamStatusCode.BAD_REQUEST, "service inside TLS differs from the one the path announced");
            return;
        }
        admittedSomewhere = gate.registry.all().stream().anyMatch(s -> s.allow().admits(peer));
        ExposedService service = gate.registry.get(open.service());
        if (service == null || service.protocol() == ServiceProtocol.UDP) { // a UDP service takes no streams
            answer(ctx, StreamStatusCode.SERVICE_UNKNOWN, "no service '" + open.service() + "' here");
            return;
        }
        if (!service.allow().admits(peer)) {
            answer(
                    ctx,
                    StreamStatusCode.NOT_ALLOWED,
                    peer.caIssued()
                            ? "node " + peer.displayName() + " is not on the allow list of service '" + service.name()
                                    + "'"
                            : InboundStreamGate.notAllowed(peer.nodeKey(), service.name()));
            return;
        }
        this.service = service;
        gate.admission.admit(
                ctx,
                service,
                new StreamAdmission.Terms(
                        gate.registry.caps(service.name()),
                        peer.nodeKey(),
                        "connection limit of service '" + service.name() + "' reached",
                        peer.nodeKey(),
                        peer.name(),
                        stream.path(),
                        service.idleTimeout(),
                        InboundStreamGate.PROXY_ENCODER,
                        service.proxyProtocol() == ProxyProtocol.V2 ? HAProxyMessageEncoder.INSTANCE : null),
                this);
    }

    // ---- the admission's steps (StreamAdmission.Stream) ----

    @Override
    public void connecting(ChannelFuture connect) {
        targetConnect = connect;
    }

    @Override
    public void reject(StreamStatusCode code, String message) {
        answer(ctx, code, message);
    }

    @Override
    public void connectFailed() {
        answer(ctx, StreamStatusCode.TARGET_UNREACHABLE, "cannot connect to the service's target");
    }

    @Override
    public boolean gone() {
        return decided || !ctx.channel().isActive();
    }

    @Override
    public void targetUnwanted() {
        // the path closed or the stream was refused meanwhile: already counted
    }

    @Override
    public boolean prepareTarget(Channel local, InetSocketAddress connectTo) {
        try {
            announceCaller(local, service, connectTo);
        } catch (RuntimeException e) {
            answer(ctx, StreamStatusCode.INTERNAL, "cannot describe the caller to the target");
            log.debug("PROXY header for service '{}' failed", service.name(), e);
            return false;
        }
        return true;
    }

    @Override
    public StreamEnd admitted() {
        decided = true;
        ctx.writeAndFlush(PeerStreamCodec.encode(PeerStreamMessage.Status.ok(), ctx.alloc()));
        ctx.pipeline().remove(this);
        return ssl == null
                ? StreamEnd.plain(ctx.channel(), "peer " + peer.displayName())
                : StreamEnd.tls(ctx.channel(), ssl, "peer " + peer.displayName());
    }

    /**
     * Records the caller of a new target connection for whois (until that connection closes)
     * and, with PROXY v2 on, writes its header to the target now, before the splice can write
     * the peer's first byte. Both happen before STATUS OK, so by the time the target reads any
     * byte of the peer, whois already knows the connection.
     */
    private void announceCaller(Channel local, ExposedService service, InetSocketAddress target) {
        InetSocketAddress localEnd = (InetSocketAddress) local.localAddress();
        var mapped = PeerAddresses.forPeer(peer.nodeKey(), target.getAddress());
        Caller caller = new Caller(
                WhoisTable.text(localEnd),
                peer.nodeKey().nodeId(),
                peer.caIssued() ? peer.name() : null,
                peer.caIssued() ? peer.tags().stream().sorted().toList() : List.of(),
                peer.caIssued(),
                service.name(),
                stream.path(),
                service.target().spec().toString(),
                mapped.getHostAddress(),
                Instant.now().toString());
        WhoisTable.Registration entry = gate.whois.register(localEnd, caller);
        local.closeFuture().addListener(x -> entry.close());
        if (service.proxyProtocol() == ProxyProtocol.V2) {
            local.writeAndFlush(ProxyHeaders.message(caller, localEnd, target, mapped, local.alloc()));
        }
    }

    /** Sends a refusal STATUS and closes after it. */
    private void answer(ChannelHandlerContext ctx, StreamStatusCode code, String message) {
        if (decided) {
            return;
        }
        decided = true;
        String who =
                peer != null ? peer.nodeKey().nodeId() : stream.claimedPeer().nodeId();
        gate.refused(who, stream.announcedService(), code, message); // the detail stays here: log, metrics, status
        PeerRefusals.Told told = PeerRefusals.toPeer(code, message, admittedSomewhere);
        if (ctx.channel().isActive() && secured()) {
            ctx.writeAndFlush(PeerStreamCodec.encode(
                            new PeerStreamMessage.Status(told.code(), told.message()), ctx.alloc()))
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException d && d.getCause() instanceof PeerStreamDecodeException p) {
            gate.metrics.preambleError();
            answer(ctx, StreamStatusCode.BAD_REQUEST, p.getMessage());
            return;
        }
        log.debug("inbound stream from {} failed: {}", stream.claimedPeer().shortId(), cause.toString());
        if (!decided) {
            decided = true;
            gate.refused(
                    stream.claimedPeer().nodeId(),
                    stream.announcedService(),
                    StreamStatusCode.INTERNAL,
                    cause.getClass().getSimpleName());
        }
        ctx.close();
    }
}
