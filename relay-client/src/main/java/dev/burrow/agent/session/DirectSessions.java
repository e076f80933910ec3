package dev.burrow.agent.session;

import dev.burrow.agent.direct.DirectManager;
import dev.burrow.agent.direct.DirectPath;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.AgentMetrics.DirectSessionError;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions carried by a TCP connection straight between two agents: the direct path's bulk
 * transport where the peer is reachable over TCP (the same host, a LAN, a public address).
 *
 * <p>Why: on the punched UDP path every 1,200–1,452-byte QUIC packet costs a system call and a
 * JNI crossing each way, so the QUIC direct path moved a sixth of what the relay moved and cost
 * five to six times its CPU per byte (docs/benchmarks.md, "Direct path"); a TCP connection lets
 * the kernel segment 256 KiB writes. The session on it is the relay session's (end-to-end TLS with
 * the node certificates, HTTP/2, one stream per forwarded connection, the same gate), so nothing
 * about streams, half-close, whois or PROXY headers changes; only the carrier does.
 *
 * <p>How: each agent listens on TCP at the port numbers of its two direct UDP sockets (from its
 * first proven direct path on, see {@link #pathUp()}). Once disco
 * has proven a peer's UDP endpoint, a dialer that wants the peer (its forwards name it, or a
 * direct stream was opened) connects to that endpoint's address and port over TCP within
 * {@link #CONNECT_TIMEOUT}. Behind a NAT the connect fails (nothing maps that TCP port), the
 * failure is counted and backs off ({@link #FIRST_RETRY}, {@link #SECOND_RETRY}, then
 * {@link #MIN_RETRY} doubling to {@link #MAX_RETRY}; {@link #tick()} tries again when the wait is
 * over and the peer is still wanted with a proven endpoint, so a session comes up without waiting
 * for the next stream), and direct streams keep using QUIC. The listener admits a connection only after TLS, judged by the
 * verified certificate and the same admission rule as relay sessions; before that it holds at most
 * {@link #MAX_PENDING_HANDSHAKES} unauthenticated connections ({@link #MAX_PENDING_PER_ADDRESS} per
 * source address) for at most {@link SessionProtocol#SETUP_TIMEOUT}.
 *
 * <p>Liveness: the dialer sends an HTTP/2 PING when it has heard nothing for {@link #PING_AFTER}
 * and closes a session silent for {@link #DIALER_SILENCE} (a peer gone without a reset: its
 * streams then fail instead of hanging); a listener closes a session silent for
 * {@link #LISTENER_SILENCE}. {@code BURROW_DIRECT_TCP=off} turns all of it off.
 *
 * <p>This class dials, keeps one session per wanted peer and runs the upkeep; {@link
 * DirectSessionListener} accepts.
 *
 * <p>Thread-safe.
 */
public final class DirectSessions implements DirectPath.Carrier, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DirectSessions.class);

    /** Environment switch: {@code off} keeps every direct stream on QUIC. */
    public static final String ENV = "BURROW_DIRECT_TCP";
    /** The same switch as a system property (in-process tests). */
    public static final String PROPERTY = "burrow.direct.tcp";

    /** A TCP connect to a proven endpoint: a reachable peer answers in one round trip; a NAT never does. */
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    /**
     * The wait after a first failed connect or set-up: short, because the two sides' paths come up
     * at about the same moment and the listener may bind a moment after the dialer connects.
     */
    public static final Duration FIRST_RETRY = Duration.ofSeconds(2);
    /** The wait after a second failure: a loaded peer may still be binding its listener. */
    public static final Duration SECOND_RETRY = Duration.ofSeconds(10);
    /** The wait after a third failure, doubling per failure after it. */
    public static final Duration MIN_RETRY = Duration.ofSeconds(30);
    /** The longest wait between tries: a NAT'd peer costs one SYN per ten minutes. */
    public static final Duration MAX_RETRY = Duration.ofMinutes(10);
    /**
     * Unauthenticated inbound connections (accepted, TLS not finished) held at once; more are closed
     * unread. Each costs a TLS handshake's CPU and memory for up to {@link SessionProtocol#SETUP_TIMEOUT},
     * and an honest agent needs one per peer that dials it at that moment.
     */
    public static final int MAX_PENDING_HANDSHAKES = 64;
    /** Of those, from one source address: one host cannot take all of them. */
    public static final int MAX_PENDING_PER_ADDRESS = 8;
    /** Direct sessions peers may hold with us at once (as relay sessions). */
    public static final int MAX_INBOUND_SESSIONS = SessionProtocol.MAX_INBOUND_SESSIONS;
    /** From one peer: a dialer keeps one; a few more cover reconnects while the old one closes. */
    public static final int MAX_INBOUND_SESSIONS_PER_PEER = SessionProtocol.MAX_INBOUND_SESSIONS_PER_PEER;
    /** How often {@link #tick()} runs. */
    static final Duration TICK = Duration.ofSeconds(5);
    /** The dialer pings a session it has heard nothing from for this long. */
    public static final Duration PING_AFTER = TICK;
    /** The dialer closes a session silent this long: three pings unanswered. */
    public static final Duration DIALER_SILENCE = Duration.ofSeconds(20);
    /** The listener closes a session silent this long (the dialer pings every {@link #PING_AFTER}). */
    public static final Duration LISTENER_SILENCE = Duration.ofSeconds(60);

    /** {@link #PING_AFTER}, {@link #DIALER_SILENCE}, {@link #LISTENER_SILENCE} in nanos (shorter in tests). */
    private volatile long[] silences = {PING_AFTER.toNanos(), DIALER_SILENCE.toNanos(), LISTENER_SILENCE.toNanos()};

    // Final after construction.
    private final NodeIdentity identity;
    private final NodeVerifier verifier;
    private final AgentMetrics metrics;
    private final EventLoopGroup group;
    private final Transport transport;
    private final DirectSessionListener listener;

    // Any thread.
    private volatile Consumer<InboundStream> gate;
    private volatile Predicate<VerifiedPeer> admits = p -> false;
    private volatile Predicate<NodeKey> wanted = k -> false;
    /** A peer's disco-proven direct endpoint now, if any: where {@link #tick()} retries. */
    private volatile Function<NodeKey, Optional<InetSocketAddress>> provenEndpoint = k -> Optional.empty();

    private volatile boolean closed;
    private volatile ScheduledFuture<?> ticks;
    /** Where {@link #pathUp()} listens (the direct UDP sockets' addresses); null: only explicit {@link #listen} calls. */
    private volatile List<InetSocketAddress> listenAt;
    /** Runs once {@link #pathUp()} has listened (or failed to): the UDP sockets' TCP numbers are held until then. */
    private volatile Runnable afterListening = () -> {};

    private final AtomicBoolean listenStarted = new AtomicBoolean();
    private final Map<NodeKey, Outbound> outbound = new ConcurrentHashMap<>();

    /** Per peer: the session, or a connect under way, or when the next try may start. Guarded by itself. */
    private static final class Outbound {
        RelaySession session;
        boolean starting;
        long notBeforeNanos;
        int failures;
        InetSocketAddress failedAt;
    }

    public DirectSessions(
            NodeIdentity identity,
            NodeVerifier verifier,
            AgentMetrics metrics,
            EventLoopGroup group,
            Transport transport)
            throws SSLException {
        this.identity = identity;
        this.verifier = verifier;
        this.metrics = metrics;
        this.group = group;
        this.transport = transport;
        // As relay sessions: the handshake admits any chain shape; the strict check follows after it.
        this.listener = new DirectSessionListener(
                this, verifier, metrics, group, transport, NodeTls.server(identity, verifier.forHandshake()));
    }

    /**
     * The agent's direct TCP sessions beside {@code direct} (null when {@link #enabled()} says off):
     * listening at the direct UDP sockets' ports, started, and carrying {@code direct}'s streams.
     */
    public static DirectSessions startFor(
            DirectManager direct,
            NodeIdentity identity,
            NodeVerifier verifier,
            AgentMetrics metrics,
            EventLoopGroup group,
            Transport transport,
            Consumer<InboundStream> gate,
            Predicate<VerifiedPeer> admits,
            Predicate<NodeKey> wanted)
            throws SSLException {
        if (!enabled()) {
            direct.releaseTcpPorts();
            return null;
        }
        DirectSessions sessions = new DirectSessions(identity, verifier, metrics, group, transport);
        sessions.listenAt = List.copyOf(direct.socketAddresses());
        sessions.afterListening = direct::releaseTcpPorts;
        sessions.start(gate, admits, wanted, group.next());
        sessions.retryAt(direct::provenEndpoint);
        direct.carryStreamsOn(sessions);
        return sessions;
    }

    /** True unless {@link #PROPERTY} or, without it, {@link #ENV} says {@code off}. */
    public static boolean enabled() {
        String property = System.getProperty(PROPERTY);
        return !"off".equals(property != null ? property : System.getenv(ENV));
    }

    /**
     * Starts: inbound sessions' streams go to {@code gate} when {@code admits} admits their peer;
     * sessions to peers {@code wanted} are kept (pinged, never closed as idle); {@link #tick()} runs
     * every {@link #TICK} on {@code loop}.
     */
    public void start(
            Consumer<InboundStream> gate, Predicate<VerifiedPeer> admits, Predicate<NodeKey> wanted, EventLoop loop) {
        this.gate = gate;
        this.admits = admits;
        this.wanted = wanted;
        ticks = loop.scheduleAtFixedRate(this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Where {@link #tick()} retries a wanted peer whose wait after a failure is over (its proven endpoint now). */
    public void retryAt(Function<NodeKey, Optional<InetSocketAddress>> provenEndpoint) {
        this.provenEndpoint = provenEndpoint;
    }

    /**
     * A direct path came up: listen now (once) at the direct UDP sockets' ports. Not at start: the
     * port numbers are random ones of the ephemeral range, and a port the user or the agent's own
     * start binds next (metrics, status page, forwards) must not find its number taken by us; by
     * the first proven path those are bound. Until then the numbers are held for TCP by sockets
     * that are bound but not listening, so no outgoing connection takes them and a user's listener
     * still can. On a thread of its own: the bind waits.
     */
    @Override
    public void pathUp() {
        List<InetSocketAddress> at = listenAt;
        if (at != null && !closed && listenStarted.compareAndSet(false, true)) {
            Thread.ofVirtual().name("burrow-direct-tcp-listen").start(() -> {
                at.forEach(this::listen);
                afterListening.run();
            });
        }
    }

    /**
     * Listens on TCP at {@code at} (the address and port of a direct UDP socket). False, logged,
     * when the port is taken for TCP: peers then reach us over QUIC only.
     */
    public boolean listen(InetSocketAddress at) {
        return listener.listen(at);
    }

    /** The addresses listened on (status, tests). */
    public List<InetSocketAddress> listening() {
        return listener.listening();
    }

    Consumer<InboundStream> gate() {
        return gate;
    }

    Predicate<VerifiedPeer> admits() {
        return admits;
    }

    boolean isClosed() {
        return closed;
    }

    // ---------------------------------------------------------------- dialer

    /**
     * A stream to {@code service} on the peer's direct session; null when none is up (or it is
     * full): the caller uses QUIC. The channel has the same contract as a relay session's streams.
     */
    @Override
    public CompletableFuture<Channel> openStream(NodeKey peer, String service) {
        RelaySession s = session(peer);
        return s == null ? null : s.openStream(service);
    }

    /** The peer's direct session when it is up. */
    public RelaySession session(NodeKey peer) {
        Outbound o = outbound.get(peer);
        if (o == null) {
            return null;
        }
        synchronized (o) {
            return o.session != null && o.session.isUp() ? o.session : null;
        }
    }

    /**
     * Connects a session to {@code peer} at {@code endpoint} (its disco-proven UDP endpoint: same
     * address, same port number over TCP) unless one is up, connecting, or backing off after a
     * failure at that same endpoint.
     */
    @Override
    public void connect(NodeKey peer, InetSocketAddress endpoint) {
        if (closed || endpoint == null || endpoint.isUnresolved()) {
            return;
        }
        Outbound o = outbound.computeIfAbsent(peer, k -> new Outbound());
        synchronized (o) {
            if (o.starting || (o.session != null && o.session.isUp())) {
                return;
            }
            if (endpoint.equals(o.failedAt) && System.nanoTime() - o.notBeforeNanos < 0) {
                return;
            }
            if (outbound.size() > SessionProtocol.MAX_OUTBOUND_SESSIONS && !wanted.test(peer)) {
                return;
            }
            o.starting = true;
            o.session = null;
        }
        io.netty.handler.ssl.SslContext client;
        try {
            client = NodeTls.client(identity, verifier, peer);
        } catch (SSLException e) {
            failed(peer, o, endpoint, DirectSessionError.SETUP_FAILED, e);
            return;
        }
        new Bootstrap()
                .group(group)
                .channel(transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(endpoint)
                .addListener((io.netty.channel.ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        failed(peer, o, endpoint, DirectSessionError.CONNECT_FAILED, f.cause());
                        return;
                    }
                    Channel ch = f.channel();
                    ch.pipeline().addFirst(new ReadClock());
                    SessionChannels.dial(
                            ch, peer, client, verifier, metrics, DirectPath.NAME, new SessionChannels.DialerEvents() {
                                @Override
                                public void up(RelaySession session) {
                                    DirectSessions.this.up(session, o, endpoint);
                                }

                                @Override
                                public void failed(Throwable cause) {
                                    DirectSessions.this.failed(
                                            peer, o, endpoint, DirectSessionError.SETUP_FAILED, cause);
                                }
                            });
                });
    }

    private void up(RelaySession session, Outbound o, InetSocketAddress endpoint) {
        NodeKey peer = session.peer();
        long upAt = System.nanoTime();
        metrics.directSessionOpened(true);
        log.info("direct TCP session to {} at {} up", peer.shortId(), endpoint);
        session.channel().closeFuture().addListener(x -> {
            metrics.directSessionClosed(true);
            log.info("direct TCP session to {} closed after {} streams", peer.shortId(), session.streamsOpened());
            // closed by the peer right after it came up: back off as after a failed start, or every
            // new stream would reconnect (and run a TLS handshake) at once
            boolean early = !session.closedHere()
                    && session.streamsOpened() == 0
                    && System.nanoTime() - upAt < SessionProtocol.SETUP_TIMEOUT.toNanos();
            synchronized (o) {
                if (o.session == session) {
                    o.session = null;
                }
                if (early) {
                    backOff(o, endpoint);
                }
            }
        });
        synchronized (o) {
            o.starting = false;
            o.failures = 0;
            o.failedAt = null;
            o.session = session;
        }
        if (closed) {
            session.close();
        }
    }

    private void failed(NodeKey peer, Outbound o, InetSocketAddress endpoint, DirectSessionError why, Throwable cause) {
        metrics.directSessionError(why);
        long wait;
        synchronized (o) {
            o.starting = false;
            wait = backOff(o, endpoint);
        }
        if (why == DirectSessionError.CONNECT_FAILED) { // the usual outcome behind a NAT: not news
            log.debug(
                    "direct TCP connect to {} at {} failed: {}; QUIC stays its direct path for {} s",
                    peer.shortId(),
                    endpoint,
                    cause == null ? "" : cause.toString(),
                    wait / 1_000_000_000L);
        } else {
            log.info(
                    "direct TCP session to {} at {} failed: {}; QUIC stays its direct path for {} s",
                    peer.shortId(),
                    endpoint,
                    cause == null ? "" : cause.toString(),
                    wait / 1_000_000_000L);
        }
    }

    /** Holding {@code o}'s lock: one more failure at {@code endpoint}; returns the wait before the next try there. */
    private static long backOff(Outbound o, InetSocketAddress endpoint) {
        o.failures = endpoint.equals(o.failedAt) ? o.failures + 1 : 1;
        o.failedAt = endpoint;
        long wait = switch (o.failures) {
            case 1 -> FIRST_RETRY.toNanos();
            case 2 -> SECOND_RETRY.toNanos();
            default -> Math.min(MAX_RETRY.toNanos(), MIN_RETRY.toNanos() << Math.min(16, o.failures - 3));
        };
        o.notBeforeNanos = System.nanoTime() + wait;
        return wait;
    }

    // ---------------------------------------------------------------- upkeep

    /**
     * Every {@link #TICK}: pings dialer sessions that have been quiet, closes silent ones (both
     * sides) and idle dialer sessions no forward wants, and tries again to reach wanted peers whose
     * wait after a failed start is over.
     */
    public void tick() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        long[] silences = this.silences;
        for (var e : outbound.entrySet()) {
            Outbound o = e.getValue();
            RelaySession s;
            boolean retry;
            synchronized (o) {
                s = o.session;
                boolean waitOver = s == null && !o.starting && now - o.notBeforeNanos > 0;
                if (waitOver && !wanted.test(e.getKey())) {
                    outbound.remove(e.getKey(), o);
                    continue;
                }
                retry = waitOver && o.failedAt != null;
            }
            if (retry) {
                provenEndpoint.apply(e.getKey()).ifPresent(at -> connect(e.getKey(), at));
            }
            if (s == null) {
                continue;
            }
            long quiet = now - ReadClock.lastRead(s);
            if (quiet > silences[1]) {
                metrics.directSessionError(DirectSessionError.SILENT);
                log.info(
                        "direct TCP session to {} silent for {} s: closing it",
                        e.getKey().shortId(),
                        quiet / 1_000_000_000L);
                s.close();
            } else if (s.streams() == 0
                    && now - s.idleSinceNanos() > SessionProtocol.IDLE_TIMEOUT.toNanos()
                    && !wanted.test(e.getKey())) {
                log.debug(
                        "direct TCP session to {} idle: closing it", e.getKey().shortId());
                s.close();
            } else if (quiet > silences[0]) {
                s.ping();
            }
        }
        listener.closeSilent(now, silences[2]);
    }

    /** Tests: shorter liveness thresholds. */
    void silences(Duration pingAfter, Duration dialer, Duration listener) {
        this.silences = new long[] {pingAfter.toNanos(), dialer.toNanos(), listener.toNanos()};
    }

    /** Tests: the inbound sessions up now. */
    Set<RelaySession> inboundSessions() {
        return listener.inbound();
    }

    @Override
    public String describe(NodeKey peer) {
        Outbound o = outbound.get(peer);
        if (o == null) {
            return "streams on QUIC";
        }
        synchronized (o) {
            if (o.session != null && o.session.isUp()) {
                return "streams on a direct TCP session";
            }
            if (o.starting) {
                return "streams on QUIC while a direct TCP session connects";
            }
            long wait = o.notBeforeNanos - System.nanoTime();
            if (o.failedAt != null && wait > 0) {
                return "streams on QUIC (TCP to " + o.failedAt + " did not connect; next try in "
                        + (wait + 999_999_999L) / 1_000_000_000L + " s)";
            }
            return "streams on QUIC";
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
        return new int[] {out, listener.inboundCount()};
    }

    @Override
    public void close() {
        closed = true;
        var t = ticks;
        if (t != null) {
            t.cancel(false);
        }
        listener.close();
        for (Outbound o : outbound.values()) {
            synchronized (o) {
                if (o.session != null) {
                    o.session.close();
                }
            }
        }
    }
}
