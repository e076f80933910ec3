package dev.burrow.agent.session;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.path.RelayCircuitPath;
import dev.burrow.agent.path.SessionCircuits;
import dev.burrow.agent.relay.CircuitConnection;
import dev.burrow.agent.service.InboundStreamGate;
import dev.burrow.agent.stream.StreamRefusedException;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.NodeTls;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's relay sessions, both ways. Outbound: at most one session per peer, started in the
 * background (single flight per peer) the first time a stream to that peer is wanted or when a
 * forward names the peer; a failed start backs off ({@link SessionProtocol#MIN_BACKOFF} doubling to
 * {@link SessionProtocol#MAX_BACKOFF}) and a peer that refuses the session service (an older agent)
 * is not asked again for {@link SessionProtocol#UNSUPPORTED_RETRY}: meanwhile its streams use
 * per-stream circuits, as before sessions. Inbound: session circuits offered by peers, within
 * {@link SessionProtocol#MAX_INBOUND_SESSIONS} and {@link SessionProtocol#MAX_INBOUND_SESSIONS_PER_PEER},
 * run the listener's side; their streams go to the one {@link InboundStreamGate}.
 *
 * <p>Thread-safe.
 */
public final class RelaySessions implements SessionCircuits {
    private static final Logger log = LoggerFactory.getLogger(RelaySessions.class);
    /**
     * agent.yaml-free switch (environment): {@code off} turns relay sessions off; default on (a new
     * connection then costs one round trip instead of about five, docs/benchmarks.md "Connection
     * setup"). Off, or with a peer that has them off, every stream gets a circuit of its own.
     */
    public static final String ENV = "BURROW_RELAY_SESSIONS";
    /** The same switch as a system property (in-process tests). */
    public static final String PROPERTY = "burrow.relay.sessions";

    /** How often {@link #tick()} runs in an agent. */
    static final java.time.Duration TICK = java.time.Duration.ofSeconds(5);

    // Final after construction.
    private final RelayCircuitPath circuits;
    private final NodeIdentity identity;
    private final NodeVerifier verifier;
    private final SslContext serverContext;
    private final AgentMetrics metrics;

    // Any thread.
    private volatile InboundStreamGate gate;
    private volatile Supplier<Set<NodeKey>> forwardPeers = Set::of;
    private volatile Set<NodeKey> warm = Set.of();
    private volatile boolean closed;
    /** Listener: a verified peer no service admits gets no session (it could open no stream anyway). */
    private volatile Predicate<VerifiedPeer> admits = p -> true;

    private volatile ScheduledFuture<?> ticks;
    private final Map<NodeKey, Outbound> outbound = new ConcurrentHashMap<>();
    private final Map<NodeKey, AtomicInteger> inboundPerPeer = new ConcurrentHashMap<>();
    private final Set<RelaySession> inbound = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inboundTotal = new AtomicInteger();

    /** Per peer: the session, or its start under way, or when the next start may be tried. Guarded by itself. */
    private static final class Outbound {
        RelaySession session;
        boolean starting;
        long notBeforeNanos;
        int failures;
        /**
         * Streams waiting for the start under way (at most {@link SessionProtocol#MAX_STREAMS_WAITING_FOR_START}):
         * each gets the session once it is up, or null when the start failed (then it takes a circuit).
         */
        final List<CompletableFuture<RelaySession>> waiting = new ArrayList<>();

        /** Takes the waiting streams out (call holding the lock; complete them without it). */
        List<CompletableFuture<RelaySession>> takeWaiting() {
            if (waiting.isEmpty()) {
                return List.of();
            }
            List<CompletableFuture<RelaySession>> w = List.copyOf(waiting);
            waiting.clear();
            return w;
        }
    }

    private static void wake(List<CompletableFuture<RelaySession>> waiting, RelaySession session) {
        for (CompletableFuture<RelaySession> w : waiting) {
            w.complete(session);
        }
    }

    public RelaySessions(RelayCircuitPath circuits, NodeIdentity identity, NodeVerifier verifier, AgentMetrics metrics)
            throws SSLException {
        this.circuits = circuits;
        this.identity = identity;
        this.verifier = verifier;
        this.metrics = metrics;
        // As the gate: the handshake admits any chain shape; the strict check against the key the
        // relay named follows right after it.
        this.serverContext = NodeTls.server(identity, verifier.forHandshake());
    }

    /** The relay path for streams: on a session when one is up, else on a circuit of their own. */
    public PeerPath path() {
        return new RelaySessionPath(this, circuits);
    }

    /**
     * Starts the agent's sessions: inbound session streams go to {@code gate}, the peers of
     * {@code forwardPeers} get sessions kept warm, and {@link #tick()} runs every
     * {@link #TICK} on {@code loop}.
     */
    public void start(InboundStreamGate gate, Supplier<Set<NodeKey>> forwardPeers, EventLoop loop) {
        forwardPeers(forwardPeers);
        acceptInto(gate);
        ticks = loop.scheduleAtFixedRate(this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** True unless {@link #PROPERTY} or, without it, {@link #ENV} says {@code off}. */
    public static boolean enabled() {
        String property = System.getProperty(PROPERTY);
        return !"off".equals(property != null ? property : System.getenv(ENV));
    }

    /** Where the streams of inbound sessions go; also turns accepting session circuits on. */
    public void acceptInto(InboundStreamGate gate) {
        this.gate = gate;
        circuits.sessionsInto(this);
    }

    /**
     * Accepts sessions only from peers {@code admits} (in an agent: peers some exposed service's
     * allow rules admit), judged on the session's verified identity; others are closed after TLS
     * and counted.
     */
    public void admitOnly(Predicate<VerifiedPeer> admits) {
        this.admits = admits;
    }

    /** The peers the agent's forwards name by key: their sessions are kept warm (and never idle out). */
    public void forwardPeers(Supplier<Set<NodeKey>> peers) {
        this.forwardPeers = peers;
    }

    /** {@code first}, then (when on) the sessions' {@link #setWarm}: the warm set of both paths. */
    public static java.util.function.Consumer<Set<NodeKey>> alsoWarm(
            java.util.function.Consumer<Set<NodeKey>> first, RelaySessions sessions) {
        return sessions == null
                ? first
                : keys -> {
                    first.accept(keys);
                    sessions.setWarm(keys);
                };
    }

    /** Peers to keep a session with (the direct path's warm set: forwards by key and resolved names). */
    public void setWarm(Set<NodeKey> peers) {
        this.warm = Set.copyOf(peers);
        if (circuits.isUp()) {
            for (NodeKey k : warm) {
                ensureStarted(k);
            }
        }
    }

    private boolean wanted(NodeKey peer) {
        return warm.contains(peer) || forwardPeers.get().contains(peer);
    }

    // ---------------------------------------------------------------- outbound

    /**
     * A stream to {@code service} on the peer's session; null when the caller should take a circuit
     * of its own (no session and none starting: backing off, or the peer does not take sessions; or
     * the session is full). While a start is under way the stream waits for it, at most
     * {@link SessionProtocol#STREAM_WAIT_FOR_START}: a burst of new connections to a peer then costs
     * one circuit, not one each. A circuit per stream would cost about as long as the session's start
     * anyway, and the relay lets one dialer hold only a few pending circuits at one listener
     * (a quarter of its pending slots, 16 by default), so a burst of 16 plus the session's own
     * circuit had one connection refused.
     */
    public CompletableFuture<Channel> openStream(NodeKey peer, String service) {
        RelaySession up = session(peer);
        if (up != null) {
            return up.openStream(service); // null when full: a circuit of its own
        }
        ensureStarted(peer);
        Outbound o = outbound.get(peer);
        if (o == null) {
            return null;
        }
        CompletableFuture<RelaySession> ready;
        synchronized (o) {
            if (o.session != null && o.session.isUp()) {
                ready = CompletableFuture.completedFuture(o.session);
            } else if (!o.starting || o.waiting.size() >= SessionProtocol.MAX_STREAMS_WAITING_FOR_START) {
                return null;
            } else {
                ready = new CompletableFuture<>();
                o.waiting.add(ready);
            }
        }
        return ready.orTimeout(SessionProtocol.STREAM_WAIT_FOR_START.toMillis(), TimeUnit.MILLISECONDS)
                .thenCompose(s -> {
                    CompletableFuture<Channel> f = s == null ? null : s.openStream(service);
                    return f != null
                            ? f
                            : CompletableFuture.failedFuture(
                                    new IOException("relay session to " + peer.shortId() + " did not start"));
                });
    }

    /** The peer's outbound session when it is up (status, tests). */
    public RelaySession session(NodeKey peer) {
        Outbound o = outbound.get(peer);
        if (o == null) {
            return null;
        }
        synchronized (o) {
            return o.session != null && o.session.isUp() ? o.session : null;
        }
    }

    /** Starts a session to {@code peer} unless one is up, starting, or backing off. */
    public void ensureStarted(NodeKey peer) {
        if (closed || !circuits.isUp()) {
            return;
        }
        Outbound o = outbound.computeIfAbsent(peer, k -> new Outbound());
        synchronized (o) {
            if (o.starting || (o.session != null && o.session.isUp()) || System.nanoTime() - o.notBeforeNanos < 0) {
                return;
            }
            if (outbound.size() > SessionProtocol.MAX_OUTBOUND_SESSIONS && !wanted(peer)) {
                return;
            }
            o.starting = true;
            o.session = null;
        }
        start(peer, o);
    }

    private void start(NodeKey peer, Outbound o) {
        circuits.open(peer, SessionProtocol.SERVICE).whenComplete((ch, err) -> {
            if (err != null) {
                startFailed(
                        peer, o, err instanceof CompletionException && err.getCause() != null ? err.getCause() : err);
                return;
            }
            ch.eventLoop().execute(() -> setUpClient(ch, peer, o));
        });
    }

    private void setUpClient(Channel ch, NodeKey peer, Outbound o) {
        SslContext client;
        try {
            client = NodeTls.client(identity, verifier, peer);
        } catch (SSLException e) {
            ch.close();
            startFailed(peer, o, e);
            return;
        }
        SessionChannels.dial(
                ch, peer, client, verifier, metrics, RelayCircuitPath.NAME, new SessionChannels.DialerEvents() {
                    @Override
                    public void up(RelaySession session) {
                        RelaySessions.this.up(session, o);
                    }

                    @Override
                    public void failed(Throwable cause) {
                        startFailed(peer, o, cause);
                    }
                });
        Runnable startHook = ch.attr(PeerPath.START_HOOK).getAndSet(null);
        if (startHook != null) {
            startHook.run();
        }
        ch.config().setAutoRead(true);
        ch.read();
    }

    /** The dialer's session is up (the listener's SETTINGS arrived): streams may use it. */
    private void up(RelaySession session, Outbound o) {
        Channel ch = session.channel();
        NodeKey peer = session.peer();
        long upAt = System.nanoTime();
        metrics.relaySessionOpened(true);
        log.info("relay session to {} up", peer.shortId());
        ch.closeFuture().addListener(x -> {
            metrics.relaySessionClosed(true);
            log.info("relay session to {} closed after {} streams", peer.shortId(), session.streamsOpened());
            boolean early = !session.closedHere()
                    && session.streamsOpened() == 0
                    && System.nanoTime() - upAt < SessionProtocol.SETUP_TIMEOUT.toNanos();
            synchronized (o) {
                if (o.session == session) {
                    o.session = null;
                }
                if (early) {
                    // closed by the listener right after it came up: back off as after a failed start
                    o.failures++;
                    o.notBeforeNanos = System.nanoTime() + backoff(o.failures);
                }
            }
            if (session.streams() > 0) {
                metrics.relaySessionError(AgentMetrics.SessionError.BROKEN);
            }
        });
        List<CompletableFuture<RelaySession>> waiting;
        synchronized (o) {
            o.starting = false;
            o.failures = 0;
            o.session = session;
            waiting = o.takeWaiting();
        }
        if (closed) {
            ch.close();
        }
        wake(waiting, session);
    }

    private void startFailed(NodeKey peer, Outbound o, Throwable cause) {
        boolean unsupported = cause instanceof StreamRefusedException r
                && (r.code() == StreamStatusCode.SERVICE_UNKNOWN || r.code() == StreamStatusCode.NOT_ALLOWED);
        metrics.relaySessionError(
                unsupported ? AgentMetrics.SessionError.PEER_UNSUPPORTED : AgentMetrics.SessionError.SETUP_FAILED);
        long wait;
        List<CompletableFuture<RelaySession>> waiting;
        synchronized (o) {
            o.starting = false;
            o.failures++;
            wait = unsupported ? SessionProtocol.UNSUPPORTED_RETRY.toNanos() : backoff(o.failures);
            o.notBeforeNanos = System.nanoTime() + wait;
            waiting = o.takeWaiting();
        }
        wake(waiting, null); // they take circuits of their own
        if (unsupported) {
            log.info(
                    "peer {} does not take relay sessions ({}): its streams use one circuit each",
                    peer.shortId(),
                    cause.getMessage());
        } else {
            log.debug(
                    "relay session to {} failed: {}; next try in {} ms",
                    peer.shortId(),
                    cause.toString(),
                    wait / 1_000_000);
        }
    }

    /** The wait before the next start after {@code failures} failed ones in a row. */
    private static long backoff(int failures) {
        return Math.min(
                SessionProtocol.MAX_BACKOFF.toNanos(),
                SessionProtocol.MIN_BACKOFF.toNanos() << Math.min(16, Math.max(0, failures - 1)));
    }

    // ---------------------------------------------------------------- inbound

    @Override
    public boolean admitOffer(NodeKey source) {
        if (closed || gate == null) {
            return false;
        }
        if (inboundTotal.get() >= SessionProtocol.MAX_INBOUND_SESSIONS
                || inboundPerPeer.getOrDefault(source, new AtomicInteger()).get()
                        >= SessionProtocol.MAX_INBOUND_SESSIONS_PER_PEER) {
            metrics.relaySessionError(AgentMetrics.SessionError.LIMIT);
            return false;
        }
        return true;
    }

    @Override
    public void attached(CircuitConnection connection, NodeKey source) {
        Channel ch = connection.channel();
        InboundStreamGate g = gate;
        AtomicInteger perPeer = inboundPerPeer.computeIfAbsent(source, k -> new AtomicInteger());
        if (g == null
                || inboundTotal.incrementAndGet() > SessionProtocol.MAX_INBOUND_SESSIONS
                || perPeer.incrementAndGet() > SessionProtocol.MAX_INBOUND_SESSIONS_PER_PEER) {
            metrics.relaySessionError(AgentMetrics.SessionError.LIMIT);
            ch.closeFuture().addListener(x -> released(source, perPeer));
            ch.close();
            return;
        }
        ch.closeFuture().addListener(x -> released(source, perPeer));
        ch.eventLoop().execute(() -> {
            SessionChannels.accept(
                    ch,
                    source,
                    serverContext,
                    verifier,
                    admits,
                    g::accept,
                    metrics,
                    RelayCircuitPath.NAME,
                    session -> {
                        inbound.add(session);
                        metrics.relaySessionOpened(false);
                        log.info("relay session from {} up", source.shortId());
                        ch.closeFuture().addListener(x -> {
                            inbound.remove(session);
                            metrics.relaySessionClosed(false);
                            log.info(
                                    "relay session from {} closed after {} streams",
                                    source.shortId(),
                                    session.streamsOpened());
                        });
                    },
                    cause -> {
                        metrics.relaySessionError(AgentMetrics.SessionError.SETUP_FAILED);
                        log.debug("relay session from {} failed: {}", source.shortId(), cause.toString());
                    });
            connection.start();
            ch.config().setAutoRead(true);
            ch.read();
        });
    }

    private void released(NodeKey source, AtomicInteger perPeer) {
        inboundTotal.decrementAndGet();
        if (perPeer.decrementAndGet() <= 0) {
            inboundPerPeer.remove(source, perPeer);
        }
    }

    // ---------------------------------------------------------------- upkeep

    /**
     * Every few seconds: starts sessions to wanted peers that have none, pings idle sessions that
     * are kept warm (the relay closes circuits idle for 10 minutes), closes outbound sessions idle
     * for {@link SessionProtocol#IDLE_TIMEOUT} that no forward wants.
     */
    public void tick() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        for (var e : outbound.entrySet()) {
            RelaySession s;
            synchronized (e.getValue()) {
                s = e.getValue().session;
            }
            if (s == null) {
                if (wanted(e.getKey())) {
                    ensureStarted(e.getKey());
                } else {
                    synchronized (e.getValue()) {
                        if (!e.getValue().starting && now - e.getValue().notBeforeNanos > 0) {
                            outbound.remove(e.getKey(), e.getValue());
                        }
                    }
                }
                continue;
            }
            if (s.streams() == 0 && now - s.idleSinceNanos() > SessionProtocol.IDLE_TIMEOUT.toNanos()) {
                if (wanted(e.getKey())) {
                    s.ping();
                } else {
                    log.debug("relay session to {} idle: closing it", e.getKey().shortId());
                    s.close();
                }
            }
        }
        for (NodeKey k : forwardPeers.get()) {
            ensureStarted(k);
        }
        for (NodeKey k : warm) {
            ensureStarted(k);
        }
    }

    /** Sessions up now: outbound (dialled by us), inbound (dialled by peers). */
    public int[] counts() {
        int out = 0;
        for (Outbound o : outbound.values()) {
            synchronized (o) {
                if (o.session != null && o.session.isUp()) {
                    out++;
                }
            }
        }
        return new int[] {out, inbound.size()};
    }

    public void close() {
        closed = true;
        var t = ticks;
        if (t != null) {
            t.cancel(false);
        }
        for (Outbound o : outbound.values()) {
            List<CompletableFuture<RelaySession>> waiting;
            synchronized (o) {
                if (o.session != null) {
                    o.session.close();
                }
                waiting = o.takeWaiting();
            }
            wake(waiting, null);
        }
        for (RelaySession s : inbound) {
            s.close();
        }
    }
}
