package dev.burrow.agent.service;

import dev.burrow.agent.caller.ProxyHeaders;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.log.LogBudget;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.policy.AllowRule;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.EarlyInput;
import dev.burrow.agent.stream.PeerRefusals;
import dev.burrow.agent.stream.PreambleDecoder;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.HeapCumulator;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.math.BigInteger;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
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

    final NodeVerifier verifier;
    private final SslContext serverContext;
    final ServiceRegistry registry;
    final AgentMetrics metrics;
    private final RecentRefusals refusals;
    /** Refusals' log lines: a peer that draws thousands of refusals writes a few lines, not one each. */
    private final LogBudget refusalLog = new LogBudget();

    final WhoisTable whois;
    final StreamAdmission admission;

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

    static String notAllowed(NodeKey peer, String service) {
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
            GateHandler gate = new GateHandler(this, stream, null);
            ch.pipeline().addLast(new PreambleDecoder());
            ch.pipeline().addLast(GATE_HANDLER, gate);
            if (!gate.verifyFromPath()) {
                return;
            }
        } else {
            SslHandler ssl = HeapCumulator.install(serverContext.newHandler(ch.alloc()));
            ssl.setHandshakeTimeoutMillis(StreamDefaults.TLS_HANDSHAKE_TIMEOUT.toMillis());
            GateHandler gate = new GateHandler(this, stream, ssl);
            ch.pipeline().addLast(SSL_HANDLER, ssl);
            ch.pipeline().addLast(new PreambleDecoder());
            ch.pipeline().addLast(GATE_HANDLER, gate);
        }
        ch.config().setAutoRead(true);
        ch.read();
    }

    void refused(String peer, String service, StreamStatusCode code, String message) {
        metrics.streamRefused(Direction.INBOUND, code);
        refusals.add(new RecentRefusals.Refusal(
                Instant.now(), Direction.INBOUND, peer, service, code, "this agent", message));
        refusalLog.info(log, "refused stream from {} for service '{}': {} ({})", peer, service, code, message);
    }

    void abandoned(InboundStream stream, AgentMetrics.AbandonStage stage) {
        metrics.streamAbandoned(stage);
        log.debug(
                "inbound stream from {} for service '{}' abandoned: its {} path closed (stage {})",
                stream.claimedPeer().shortId(),
                stream.announcedService(),
                stream.path(),
                stage);
    }
}
