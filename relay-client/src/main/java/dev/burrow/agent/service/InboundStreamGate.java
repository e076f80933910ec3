package dev.burrow.agent.service;

import dev.burrow.agent.caller.Caller;
import dev.burrow.agent.caller.PeerAddresses;
import dev.burrow.agent.caller.ProxyHeaders;
import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.policy.AllowRule;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.EarlyInput;
import dev.burrow.agent.stream.PeerRefusals;
import dev.burrow.agent.stream.PeerStreamCodec;
import dev.burrow.agent.stream.PeerStreamDecodeException;
import dev.burrow.agent.stream.PeerStreamMessage;
import dev.burrow.agent.stream.PeerStreamProtocol;
import dev.burrow.agent.stream.PreambleDecoder;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamEnd;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.HeapCumulator;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one chokepoint for inbound streams, whatever path brought them (relay circuit now, direct
 * path later; attack: one target over every path). For each stream, in this order:
 *
 * <ol>
 *   <li>TLS 1.3 with the node certificates; the peer's certificate is verified by
 *       {@link NodeVerifier} and must be for exactly the node the path claims opened the stream
 *       (identity spoofing in routing metadata: the route metadata and the authenticated identity must agree).
 *       A path whose own connection already authenticated the peer with its node certificate (the
 *       direct path's QUIC connection, {@link InboundStream#pathSession()}) runs no TLS inside the
 *       stream: that connection's certificate is verified here instead, for every stream, by the
 *       same verifier and against the same claimed node;</li>
 *   <li>the OPEN preamble (inside TLS, or first on a path-authenticated stream): a version we
 *       speak, and the service the path announced. On a path-authenticated stream the dialer may
 *       send its first bytes right after OPEN without waiting for STATUS: they are held
 *       ({@link EarlyInput}) and reach the target only once the stream is admitted; a refusal
 *       drops them;</li>
 *   <li>the service's allow rules, on the TLS-verified identity only (names and tags only from
 *       CA-issued certificates);</li>
 *   <li>the service's connection caps (per service and per peer), taken before any local socket;</li>
 *   <li>{@link TargetPolicy}: only the configured (host, port), checked on the resolved address that
 *       is then connected to (disguised local targets);</li>
 *   <li>the caller is recorded for whois ({@link WhoisTable}, keyed by the target connection's local
 *       end) and, when the service opted in, told to the target in a PROXY v2 header
 *       ({@link ProxyHeaders}) before any byte of the peer;</li>
 *   <li>STATUS OK, then the bytes are spliced.</li>
 * </ol>
 *
 * <p>Any refusal answers STATUS with a reason code and closes only that stream; nothing escapes
 * the pipeline (malformed open requests).
 *
 * <p>Steps 4 to 7 are the {@link StreamAdmission} both gates share; its comment says how this gate
 * differs from the public-ingress one.
 */
public final class InboundStreamGate {
    private static final Logger log = LoggerFactory.getLogger(InboundStreamGate.class);
    static final String SSL_HANDLER = "burrow-peer-tls";
    static final String GATE_HANDLER = "burrow-gate";
    static final String PROXY_ENCODER = "burrow-proxy-v2";

    /** A refusal before a stream exists (for the relay's circuit offer). */
    public record Refusal(StreamStatusCode code, String message) {}

    private final NodeVerifier verifier;
    private final SslContext serverContext;
    private final ServiceRegistry registry;
    private final AgentMetrics metrics;
    private final RecentRefusals refusals;
    private final WhoisTable whois;
    private final StreamAdmission admission;

    /**
     * @param identity this node (its certificate is shown to dialers)
     * @param verifier the one verifier: fleet CAs (names and tags) and pinned keys; a self-signed
     *     dialer is accepted only for exactly the key the path claims
     */
    public InboundStreamGate(
            NodeIdentity identity,
            NodeVerifier verifier,
            ServiceRegistry registry,
            Transport transport,
            AgentMetrics metrics,
            ActiveStreams active,
            RecentRefusals refusals)
            throws SSLException {
        this(identity, verifier, registry, transport, metrics, active, refusals, new WhoisTable());
    }

    /** @param whois filled with the caller of every target connection this gate makes */
    public InboundStreamGate(
            NodeIdentity identity,
            NodeVerifier verifier,
            ServiceRegistry registry,
            Transport transport,
            AgentMetrics metrics,
            ActiveStreams active,
            RecentRefusals refusals,
            WhoisTable whois)
            throws SSLException {
        this.whois = whois;
        this.verifier = verifier;
        // The handshake itself admits any valid certificate chain shape (self-signed included): the
        // real decision is the strict verify() against the claimed key right after it, because
        // NodeTls offers no server context bound to an expected key.
        this.serverContext = NodeTls.server(identity, verifier.forHandshake());
        this.registry = registry;
        this.metrics = metrics;
        this.refusals = refusals;
        this.admission = new StreamAdmission(transport, metrics, active);
    }

    /**
     * A cheap early answer to a path's offer (relay CIRCUIT_OFFER) before any stream exists: it can
     * only refuse, never admit: admission is decided in {@link #accept} on the TLS-verified identity.
     * The answer is what the peer is told ({@link PeerRefusals}): a peer that node rules admit
     * somewhere gets the reason (unknown service, not on this list, caps full); a peer that no rule
     * of any service can admit gets the one uniform refusal for any service; a peer whose admission
     * depends on its certificate (name or tag rules) is decided after TLS.
     */
    public Optional<Refusal> precheck(NodeKey claimedPeer, String service) {
        Optional<Refusal> internal = precheckInternal(claimedPeer, service);
        if (internal.isEmpty()) {
            return internal;
        }
        VerifiedPeer keyOnly = keyOnly(claimedPeer);
        boolean admittedByKey = registry.all().stream().anyMatch(s -> s.allow().admits(keyOnly));
        boolean certificateDecides = registry.all().stream()
                .anyMatch(s -> !s.allow().rules().stream().allMatch(r -> r instanceof AllowRule.Node));
        if (!admittedByKey && certificateDecides) {
            return Optional.empty(); // its certificate may admit it somewhere: answer after TLS, knowing who it is
        }
        return internal;
    }

    /** The uniform answer for {@code r} unless {@code peer} is admitted by some rule of some service. */
    public Refusal toPeer(Refusal r, NodeKey claimedPeer) {
        VerifiedPeer keyOnly = keyOnly(claimedPeer);
        PeerRefusals.Told told = PeerRefusals.toPeer(
                r.code(),
                r.message(),
                registry.all().stream().anyMatch(s -> s.allow().admits(keyOnly)));
        return new Refusal(told.code(), told.message());
    }

    private static VerifiedPeer keyOnly(NodeKey key) {
        return new VerifiedPeer(key, null, Set.of(), Instant.MAX, false, BigInteger.ZERO);
    }

    private Optional<Refusal> precheckInternal(NodeKey claimedPeer, String service) {
        ExposedService s = registry.get(service);
        if (s == null) {
            return Optional.of(new Refusal(StreamStatusCode.SERVICE_UNKNOWN, "no service '" + service + "' here"));
        }
        boolean nodeRulesOnly = s.allow().rules().stream().allMatch(r -> r instanceof AllowRule.Node);
        if (nodeRulesOnly && !s.allow().admits(keyOnly(claimedPeer))) {
            return Optional.of(new Refusal(StreamStatusCode.NOT_ALLOWED, notAllowed(claimedPeer, service)));
        }
        ConnectionCaps caps = registry.caps(service);
        if (caps != null && !caps.wouldAdmit(claimedPeer)) {
            return Optional.of(new Refusal(
                    StreamStatusCode.LIMIT_REACHED, "connection limit of service '" + service + "' reached"));
        }
        return Optional.empty();
    }

    /** Records a refusal made before a stream existed (the path refused the offer for us). */
    public void recordPrecheckRefusal(NodeKey claimedPeer, String service, Refusal r) {
        refused(claimedPeer.nodeId(), service, r.code(), r.message());
    }

    private static String notAllowed(NodeKey peer, String service) {
        return "node " + peer.shortId() + " is not on the allow list of service '" + service + "'";
    }

    /**
     * Takes over an inbound stream: TLS, preamble, policy, local connect, splice. Safe from any
     * thread: the work moves to the stream's event loop. A stream whose path has already closed (a
     * relay circuit that died between CIRCUIT_ATTACHED and this call) is counted as abandoned and
     * nothing waits for it; one that closes later ends its wait at once (see {@link GateHandler}).
     */
    public void accept(InboundStream stream) {
        Channel ch = stream.channel();
        if (!ch.eventLoop().inEventLoop()) {
            try {
                ch.eventLoop().execute(() -> accept(stream));
            } catch (RejectedExecutionException e) {
                abandoned(stream, AgentMetrics.AbandonStage.ARRIVAL);
                ch.close();
            }
            return;
        }
        if (!ch.isActive()) {
            // Handlers added now would never see a close again: a deadline scheduled by them would
            // hold the stream's resources for the full preamble timeout.
            abandoned(stream, AgentMetrics.AbandonStage.ARRIVAL);
            ch.close();
            return;
        }
        try {
            ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        } catch (RuntimeException ignored) {
            // channel types without half-closure just close on EOF
        }
        if (stream.pathSession() != null) {
            // the path's connection authenticated the peer: no TLS inside the stream, OPEN comes first
            GateHandler gate = new GateHandler(stream, null);
            ch.pipeline().addLast(new PreambleDecoder());
            ch.pipeline().addLast(GATE_HANDLER, gate);
            if (!gate.verifyFromPath()) {
                return;
            }
        } else {
            SslHandler ssl = HeapCumulator.install(serverContext.newHandler(ch.alloc()));
            ssl.setHandshakeTimeoutMillis(StreamDefaults.TLS_HANDSHAKE_TIMEOUT.toMillis());
            GateHandler gate = new GateHandler(stream, ssl);
            ch.pipeline().addLast(SSL_HANDLER, ssl);
            ch.pipeline().addLast(new PreambleDecoder());
            ch.pipeline().addLast(GATE_HANDLER, gate);
        }
        ch.config().setAutoRead(true);
        ch.read();
    }

    private void refused(String peer, String service, StreamStatusCode code, String message) {
        metrics.streamRefused(Direction.INBOUND, code);
        refusals.add(new RecentRefusals.Refusal(
                Instant.now(), Direction.INBOUND, peer, service, code, "this agent", message));
        log.info("refused stream from {} for service '{}': {} ({})", peer, service, code, message);
    }

    private void abandoned(InboundStream stream, AgentMetrics.AbandonStage stage) {
        metrics.streamAbandoned(stage);
        log.debug(
                "inbound stream from {} for service '{}' abandoned: its {} path closed (stage {})",
                stream.claimedPeer().shortId(),
                stream.announcedService(),
                stream.path(),
                stage);
    }

    private final class GateHandler extends ChannelInboundHandlerAdapter implements StreamAdmission.Stream {
        // Final after construction.
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

        GateHandler(InboundStream stream, SslHandler ssl) {
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
                peer = NodeTls.verifiedPeer(stream.pathSession(), verifier, stream.claimedPeer());
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
                                    refused(
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
                    refused(
                            stream.claimedPeer().nodeId(),
                            stream.announcedService(),
                            StreamStatusCode.NOT_ALLOWED,
                            "TLS handshake failed: " + hs.cause().getMessage());
                    ctx.close();
                    return;
                }
                try {
                    peer = NodeTls.verifiedPeer(ssl, verifier, stream.claimedPeer());
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
            abandoned(stream, stage);
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
                metrics.preambleError();
                answer(
                        ctx,
                        StreamStatusCode.BAD_REQUEST,
                        msg instanceof ByteBuf ? "data before STATUS" : "expected OPEN");
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
            admittedSomewhere = registry.all().stream().anyMatch(s -> s.allow().admits(peer));
            ExposedService service = registry.get(open.service());
            if (service == null || service.protocol() == ServiceProtocol.UDP) { // a UDP service takes no streams
                answer(ctx, StreamStatusCode.SERVICE_UNKNOWN, "no service '" + open.service() + "' here");
                return;
            }
            if (!service.allow().admits(peer)) {
                answer(
                        ctx,
                        StreamStatusCode.NOT_ALLOWED,
                        peer.caIssued()
                                ? "node " + peer.displayName() + " is not on the allow list of service '"
                                        + service.name() + "'"
                                : notAllowed(peer.nodeKey(), service.name()));
                return;
            }
            this.service = service;
            admission.admit(
                    ctx,
                    service,
                    new StreamAdmission.Terms(
                            registry.caps(service.name()),
                            peer.nodeKey(),
                            "connection limit of service '" + service.name() + "' reached",
                            peer.nodeKey(),
                            peer.name(),
                            stream.path(),
                            service.idleTimeout(),
                            PROXY_ENCODER,
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
            WhoisTable.Registration entry = whois.register(localEnd, caller);
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
            String who = peer != null
                    ? peer.nodeKey().nodeId()
                    : stream.claimedPeer().nodeId();
            refused(who, stream.announcedService(), code, message); // the detail stays here: log, metrics, status
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
                metrics.preambleError();
                answer(ctx, StreamStatusCode.BAD_REQUEST, p.getMessage());
                return;
            }
            log.debug("inbound stream from {} failed: {}", stream.claimedPeer().shortId(), cause.toString());
            if (!decided) {
                decided = true;
                refused(
                        stream.claimedPeer().nodeId(),
                        stream.announcedService(),
                        StreamStatusCode.INTERNAL,
                        cause.getClass().getSimpleName());
            }
            ctx.close();
        }
    }
}
