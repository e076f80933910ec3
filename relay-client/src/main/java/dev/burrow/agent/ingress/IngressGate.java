package dev.burrow.agent.ingress;

import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.log.LogBudget;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.service.StreamAdmission;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.PeerRefusals;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamEnd;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeKey;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chokepoint for public-ingress circuits (CIRCUIT_OFFER with the INGRESS flag). Such a circuit
 * has no dialer node and no end-to-end TLS, so it never goes through the node-to-node gate; it is
 * accepted only for a service that opted in ({@link ExposedService#isPublic()}), checked when the
 * offer comes and again when the circuit is attached (a reload may have withdrawn it in between).
 *
 * <p>On the circuit, in this order: the relay's PROXY v2 header (within {@link #HEADER_TIMEOUT});
 * the service is still public; the client address is inside the service's {@code allow-sources}
 * (the relay checked it already: this is defence in depth); the public-connection cap; the
 * {@link TargetPolicy} (configured host and port only, disguised local targets); the target connection. When the service
 * has {@code proxy-protocol: v2}, the target first gets a PROXY v2 header with the real client address,
 * otherwise just the bytes. Any refusal closes the circuit (the relay then closes the client), is
 * counted and shown in {@code burrow status}.
 *
 * <p>From the cap on, the steps are the {@link StreamAdmission} both gates share; its comment says
 * how this gate differs from the node-to-node one.
 */
public final class IngressGate {
    private static final Logger log = LoggerFactory.getLogger(IngressGate.class);
    /** The path name of ingress streams (status, metrics). */
    public static final String PATH = "ingress";
    /** The relay writes the header right after attaching; a circuit silent this long is dropped. */
    public static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    /** Client bytes held between the header and the target connection: about one read. */
    static final int MAX_EARLY_BYTES = 64 * 1024;

    private final ServiceRegistry registry;
    /** Refusals' log lines (public clients draw them at will): a few per window, not one each. */
    private final LogBudget refusalLog = new LogBudget();

    private final AgentMetrics metrics;
    private final RecentRefusals refusals;
    private final NodeKey self;
    private final StreamAdmission admission;
    private final ConcurrentHashMap<String, ConnectionCaps> caps = new ConcurrentHashMap<>();

    public IngressGate(
            ServiceRegistry registry,
            Transport transport,
            AgentMetrics metrics,
            ActiveStreams active,
            RecentRefusals refusals,
            NodeKey self) {
        this.registry = registry;
        this.metrics = metrics;
        this.refusals = refusals;
        this.self = self;
        this.admission = new StreamAdmission(transport, metrics, active);
    }

    /** A refusal of an ingress offer before its circuit exists. */
    public record Refusal(StreamStatusCode code, String message) {}

    /** The early answer to an ingress offer: refuse unless {@code service} exists and is public. */
    public Optional<Refusal> precheck(String service) {
        ExposedService s = registry.get(service);
        if (s == null) {
            return refuse("relay", service, StreamStatusCode.SERVICE_UNKNOWN, "no service '" + service + "' here");
        }
        if (!s.isPublic()) {
            return refuse("relay", service, StreamStatusCode.NOT_ALLOWED, "service '" + service + "' is not public");
        }
        ConnectionCaps c = capsOf(s);
        if (!c.wouldAdmit(self)) {
            return refuse(
                    "relay",
                    service,
                    StreamStatusCode.LIMIT_REACHED,
                    "public connection limit of '" + service + "' reached");
        }
        return Optional.empty();
    }

    private ConnectionCaps capsOf(ExposedService s) {
        int max = s.publicIngress().maxConnections();
        ConnectionCaps c = caps.computeIfAbsent(s.name(), k -> new ConnectionCaps(max, max));
        c.limits(max, max);
        return c;
    }

    private Optional<Refusal> refuse(String who, String service, StreamStatusCode code, String message) {
        metrics.streamRefused(Direction.INBOUND, code);
        refusals.add(new RecentRefusals.Refusal(
                Instant.now(), Direction.INBOUND, who, service, code, "this agent", message));
        refusalLog.info(
                log, "refused public connection from {} for service '{}': {} ({})", who, service, code, message);
        // A public client is admitted by a rule only when the service exists and is public: anyone
        // else is told the same thing for every service name (the detail is in the log and status).
        ExposedService s = registry.get(service);
        PeerRefusals.Told told = PeerRefusals.toPeer(code, message, s != null && s.isPublic());
        return Optional.of(new Refusal(told.code(), told.message()));
    }

    /**
     * Takes over an attached ingress circuit (auto-read off, nothing read yet). The caller starts the
     * circuit (delivers held bytes) afterwards.
     */
    public void accept(Channel circuit, String service) {
        if (!circuit.eventLoop().inEventLoop()) {
            try {
                circuit.eventLoop().execute(() -> accept(circuit, service));
            } catch (RejectedExecutionException e) {
                circuit.close();
            }
            return;
        }
        if (!circuit.isActive()) {
            // The circuit died between CIRCUIT_ATTACHED and now: handlers added to it would never see
            // the close, and their header deadline would be the only thing to end the wait.
            metrics.streamAbandoned(AgentMetrics.AbandonStage.ARRIVAL);
            log.debug(
                    "public connection for service '{}' abandoned: its circuit closed before the gate took it",
                    service);
            circuit.close();
            return;
        }
        circuit.pipeline().addLast("ingress-eof", new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                // No end-to-end TLS here: the relay ends the client's direction with close_notify on
                // the agent's TLS connection to the relay. For the splice that is the end of input.
                if (evt instanceof SslCloseCompletionEvent e && e.isSuccess()) {
                    ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
                } else {
                    ctx.fireUserEventTriggered(evt);
                }
            }
        });
        circuit.pipeline().addLast("ingress-proxy-header", new ProxyHeaderFramer());
        circuit.pipeline().addLast("ingress-gate", new Handler(service));
        circuit.config().setAutoRead(true);
    }

    private final class Handler extends ChannelInboundHandlerAdapter implements StreamAdmission.Stream {
        // Final after construction.
        private final String service;

        // Owned by the circuit's event loop.
        private ChannelHandlerContext ctx;
        private final ArrayDeque<ByteBuf> early = new ArrayDeque<>();
        /** The PROXY v2 header for the target (service opted in), from admission until written. */
        private ByteBuf targetHeader;

        private int earlyBytes;
        private boolean headerSeen;
        private boolean decided;
        private ScheduledFuture<?> deadline;
        private String client = "relay";

        Handler(String service) {
            this.service = service;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            deadline = ctx.executor()
                    .schedule(
                            () -> {
                                if (!headerSeen) {
                                    fail(
                                            ctx,
                                            StreamStatusCode.BAD_REQUEST,
                                            "no PROXY header within " + HEADER_TIMEOUT.toSeconds() + " s");
                                }
                            },
                            HEADER_TIMEOUT.toMillis(),
                            TimeUnit.MILLISECONDS);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (deadline != null) {
                deadline.cancel(false);
            }
            releaseEarly();
        }

        private void releaseEarly() {
            if (targetHeader != null) {
                targetHeader.release();
                targetHeader = null;
            }
            ByteBuf b;
            while ((b = early.poll()) != null) {
                b.release();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (decided && !headerSeen) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HAProxyMessage h) {
                if (headerSeen) {
                    h.release();
                    fail(ctx, StreamStatusCode.BAD_REQUEST, "a second PROXY header");
                    return;
                }
                headerSeen = true;
                deadline.cancel(false);
                ctx.channel().config().setAutoRead(false);
                try {
                    decide(ctx, h);
                } finally {
                    h.release();
                }
                return;
            }
            if (msg instanceof ByteBuf b && headerSeen && !decided) {
                if (earlyBytes + b.readableBytes() > MAX_EARLY_BYTES) {
                    b.release();
                    fail(ctx, StreamStatusCode.BAD_REQUEST, "too many bytes before the target connected");
                    return;
                }
                earlyBytes += b.readableBytes();
                early.add(b);
                return;
            }
            ReferenceCountUtil.release(msg);
        }

        private void decide(ChannelHandlerContext ctx, HAProxyMessage h) {
            if (h.protocolVersion() != HAProxyProtocolVersion.V2
                    || h.command() != HAProxyCommand.PROXY
                    || (h.proxiedProtocol() != HAProxyProxiedProtocol.TCP4
                            && h.proxiedProtocol() != HAProxyProxiedProtocol.TCP6)) {
                fail(ctx, StreamStatusCode.BAD_REQUEST, "expected a PROXY v2 header for TCP");
                return;
            }
            InetAddress clientAddress;
            try {
                clientAddress = InetAddress.getByName(h.sourceAddress()); // a numeric literal: the decoder checked it
            } catch (UnknownHostException e) {
                fail(ctx, StreamStatusCode.BAD_REQUEST, "bad source address in the PROXY header");
                return;
            }
            client = "public "
                    + (clientAddress.getHostAddress().contains(":")
                            ? "[" + clientAddress.getHostAddress() + "]"
                            : clientAddress.getHostAddress())
                    + ":" + h.sourcePort();
            ExposedService s = registry.get(service);
            if (s == null) {
                fail(ctx, StreamStatusCode.SERVICE_UNKNOWN, "no service '" + service + "' here");
                return;
            }
            if (!s.isPublic()) {
                fail(ctx, StreamStatusCode.NOT_ALLOWED, "service '" + service + "' is not public");
                return;
            }
            if (!s.publicIngress().admits(clientAddress)) {
                fail(ctx, StreamStatusCode.NOT_ALLOWED, "client address is not in allow-sources");
                return;
            }
            targetHeader = s.proxyProtocol() != ProxyProtocol.OFF ? targetHeader(h) : null;
            admission.admit(
                    ctx,
                    s,
                    new StreamAdmission.Terms(
                            capsOf(s),
                            self,
                            "public connection limit of '" + service + "' reached",
                            self,
                            client,
                            PATH,
                            s.publicIngress().idleTimeout(),
                            null,
                            null),
                    this);
        }

        // ---- the admission's steps (StreamAdmission.Stream) ----

        @Override
        public void reject(StreamStatusCode code, String message) {
            fail(ctx, code, message);
        }

        @Override
        public void connectFailed() {
            if (targetHeader != null) {
                targetHeader.release();
                targetHeader = null;
            }
            fail(ctx, StreamStatusCode.TARGET_UNREACHABLE, "cannot connect to the service's target");
        }

        @Override
        public boolean gone() {
            return decided || !ctx.channel().isActive();
        }

        @Override
        public void targetUnwanted() {
            connectFailed();
        }

        @Override
        public boolean prepareTarget(Channel local, InetSocketAddress connectedTo) {
            decided = true;
            if (targetHeader != null) {
                local.write(targetHeader);
                targetHeader = null;
            }
            ByteBuf b;
            while ((b = early.poll()) != null) {
                local.write(b);
            }
            local.flush();
            return true;
        }

        @Override
        public StreamEnd admitted() {
            ctx.pipeline().remove(this);
            log.debug("public connection from {} to '{}' admitted", client, service);
            return StreamEnd.plain(ctx.channel(), client);
        }

        private void fail(ChannelHandlerContext ctx, StreamStatusCode code, String message) {
            if (decided) {
                return;
            }
            decided = true;
            releaseEarly();
            refuse(client, service, code, message);
            ctx.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!headerSeen) {
                fail(
                        ctx,
                        StreamStatusCode.BAD_REQUEST,
                        "bad PROXY header: " + (cause.getCause() != null ? cause.getCause() : cause).getMessage());
            } else {
                log.debug("public connection for '{}' failed: {}", service, cause.toString());
                fail(ctx, StreamStatusCode.INTERNAL, cause.getClass().getSimpleName());
                ctx.close();
            }
        }
    }

    /** The PROXY v2 header for the target: the public client as source, the relay's public port as destination. */
    static ByteBuf targetHeader(HAProxyMessage fromRelay) {
        HAProxyMessage m = new HAProxyMessage(
                HAProxyProtocolVersion.V2,
                HAProxyCommand.PROXY,
                fromRelay.proxiedProtocol(),
                fromRelay.sourceAddress(),
                fromRelay.destinationAddress(),
                fromRelay.sourcePort(),
                fromRelay.destinationPort());
        EmbeddedChannel enc = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        try {
            enc.writeOutbound(m);
            return enc.readOutbound();
        } finally {
            enc.finishAndReleaseAll();
        }
    }
}
