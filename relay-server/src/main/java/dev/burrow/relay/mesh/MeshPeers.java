package dev.burrow.relay.mesh;

import dev.burrow.protocol.HostPort;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.HandshakeDeadline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Peers and links: discovery, dialling and accepting.
 *
 * <p>Every {@code mesh.peers} entry is resolved every {@code mesh.resolve-interval}; each A/AAAA record
 * is a sibling (a Kubernetes headless Service lists every pod, this one too). This relay dials each
 * address ({@link MeshConnections}) and authenticates with the mesh key ({@link MeshAuth}). An address
 * that turns out to be this relay (same instance ID) is remembered and not dialled again; a link that
 * breaks is redialled with backoff while its address is still listed. A sibling that dials us proves
 * it is up: a pending redial to its IP is done at once rather than after the backoff, and an IP we
 * have not resolved yet (a new pod) makes us resolve the names again soon, so a sibling that starts
 * late is linked in both directions within moments. Each pair has one link per direction (one
 * outbound connection per address at a time), so dialling both ways at once cannot duplicate or flap.
 * Readiness waits for the first sync (every listed sibling dialled once), at most
 * {@link MeshManager#FIRST_SYNC_WAIT}.
 */
final class MeshPeers {
    private static final Logger log = LoggerFactory.getLogger(MeshPeers.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Redial backoff: first retry soon (a sibling restarting), then at most every 30 s. */
    static final Duration MIN_BACKOFF = Duration.ofMillis(500);

    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /**
     * A sibling dialled us from an address our peer list does not hold yet (a new pod, whose DNS
     * record our resolver has not seen): names are resolved again this often, this many times.
     */
    static final Duration EARLY_RESOLVE_STEP = Duration.ofSeconds(1);

    static final int EARLY_RESOLVES = 5;

    private static final class Peer {
        final InetSocketAddress address;
        Channel channel;
        boolean self;
        boolean removed;
        int failures;
        /** One dial finished (linked, refused, self or unreachable): counts for the first sync. */
        boolean attempted;

        ScheduledFuture<?> redial;

        Peer(InetSocketAddress address) {
            this.address = address;
        }
    }

    // Final after construction.
    private final MeshNode node;
    private final MeshConnections connections;
    private final MeshPresence presence;
    private final MeshKeyring keyring;
    private final RelayMetrics metrics;
    private final List<String> peerNames;
    private final int defaultPort;
    private final MeshManager.Resolver resolver;
    /** Builds the handler that takes over an accepted circuit connection after the handshake. */
    private final CircuitAcceptorFactory circuitAcceptor;

    /** Builds the handler of an accepted circuit connection (purpose 2 or 3) from its handshake. */
    interface CircuitAcceptorFactory {
        ChannelHandler create(MeshProtocol.Purpose purpose, MeshHandshake.Hellos hellos);
    }

    private final EventLoop loop;
    private final ScheduledExecutorService resolverThread;
    private final long startNanos = System.nanoTime();

    // Owned by the event loop {@code loop}.
    private final Map<InetSocketAddress, Peer> peers = new HashMap<>();
    private boolean closed;
    /** Names resolved at least once (the first sync needs it; see {@link #synced()}). */
    private boolean resolvedOnce;
    /** Early re-resolves still to run (see {@link #EARLY_RESOLVES}). */
    private int earlyResolvesLeft;

    // Read from any thread.
    /** IPs of the listed siblings (read by the connection gate on accept threads). */
    private volatile Set<InetAddress> siblingIps = Set.of();

    private volatile boolean firstSync;
    private volatile long minBackoffMillis = MIN_BACKOFF.toMillis();
    private volatile long maxBackoffMillis = MAX_BACKOFF.toMillis();
    /** Authenticated links we dialled (learn presence, send traffic). */
    private final Set<MeshLink> outboundLinks = ConcurrentHashMap.newKeySet();

    MeshPeers(
            MeshNode node,
            MeshConnections connections,
            MeshPresence presence,
            MeshKeyring keyring,
            RelayMetrics metrics,
            List<String> peerNames,
            int defaultPort,
            MeshManager.Resolver resolver,
            CircuitAcceptorFactory circuitAcceptor,
            EventLoop loop) {
        this.node = node;
        this.connections = connections;
        this.presence = presence;
        this.keyring = keyring;
        this.metrics = metrics;
        this.peerNames = List.copyOf(peerNames);
        this.defaultPort = defaultPort;
        this.resolver = resolver;
        this.circuitAcceptor = circuitAcceptor;
        this.loop = loop;
        this.resolverThread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "relay-mesh-resolve");
            t.setDaemon(true);
            return t;
        });
    }

    /** Resolves the peer names now and every {@code interval}; runs {@code periodic} as often as {@code period}. */
    void start(Duration interval, Runnable periodic, long periodNanos) {
        resolverThread.scheduleWithFixedDelay(this::resolveAll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        resolverThread.scheduleWithFixedDelay(periodic, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    }

    boolean isSibling(InetAddress ip) {
        return siblingIps.contains(ip);
    }

    List<MeshLink> outboundLinks() {
        return List.copyOf(outboundLinks);
    }

    int linkCount() {
        return outboundLinks.size();
    }

    // ---------------------------------------------------------------- discovery and dialling

    private void resolveAll() {
        Set<InetSocketAddress> wanted = new LinkedHashSet<>();
        for (String entry : peerNames) {
            String host = entry;
            int port;
            try {
                HostPort a = HostPort.parse(entry, defaultPort);
                host = a.host();
                port = a.port();
                for (InetAddress ip : resolver.resolve(host)) {
                    wanted.add(new InetSocketAddress(ip, port));
                }
            } catch (UnknownHostException | RuntimeException e) {
                log.atWarn()
                        .addKeyValue("event", "mesh_resolve_failed")
                        .addKeyValue("name", host)
                        .addKeyValue("error", e.getClass().getSimpleName())
                        .log("mesh resolve failed");
            }
        }
        loop.execute(() -> apply(wanted));
    }

    private void apply(Set<InetSocketAddress> wanted) {
        if (closed) {
            return;
        }
        resolvedOnce = true;
        for (InetSocketAddress a : wanted) {
            if (!peers.containsKey(a)) {
                Peer p = new Peer(a);
                peers.put(a, p);
                dial(p);
            }
        }
        Set<InetAddress> ips = new HashSet<>();
        for (InetSocketAddress a : wanted) {
            ips.add(a.getAddress());
        }
        siblingIps = Set.copyOf(ips);
        for (Peer p : List.copyOf(peers.values())) {
            if (!wanted.contains(p.address)) {
                p.removed = true;
                peers.remove(p.address);
                if (p.redial != null) {
                    p.redial.cancel(false);
                }
                if (p.channel != null) {
                    log.atInfo()
                            .addKeyValue("event", "mesh_peer_removed")
                            .addKeyValue("address", p.address)
                            .log("mesh peer removed");
                    p.channel.close();
                }
            }
        }
        checkFirstSync();
    }

    /** Loop: the first sync is done once names were resolved and every listed sibling was dialled once. */
    private void checkFirstSync() {
        if (firstSync || !resolvedOnce) {
            return;
        }
        for (Peer p : peers.values()) {
            if (!p.attempted && !p.self) {
                return;
            }
        }
        firstSync = true;
        log.atInfo()
                .addKeyValue("event", "mesh_first_sync")
                .addKeyValue("links", outboundLinks.size())
                .addKeyValue("routes", presence.routeCount())
                .log("mesh first sync");
    }

    /** See {@link MeshManager#synced()}. */
    boolean synced(Duration firstSyncWait) {
        return firstSync || System.nanoTime() - startNanos >= firstSyncWait.toNanos();
    }

    /**
     * Loop: a sibling at {@code ip} just authenticated a link to us, so it is up now. Our own dial to
     * it may be waiting out a long backoff (it was down while we retried): dial it at once instead,
     * so both directions are up within a moment of its start. The backoff is reset only when that
     * dial succeeds, so a sibling that flaps does not make us hammer it. At most one outbound
     * connection per address still holds (a peer with a connection is left alone). When no listed
     * address has that IP, the sibling is new and our DNS answers are older than it: resolve again
     * soon, a few times.
     */
    private void siblingDialledUs(InetAddress ip) {
        if (closed) {
            return;
        }
        boolean known = false;
        for (Peer p : peers.values()) {
            if (!p.address.getAddress().equals(ip)) {
                continue;
            }
            known = true;
            if (p.channel == null && !p.removed && !p.self) {
                if (p.redial != null) {
                    p.redial.cancel(false);
                }
                metrics.meshEvent(MeshEvent.REDIAL_EARLY);
                log.atInfo()
                        .addKeyValue("event", "mesh_redial_early")
                        .addKeyValue("address", p.address)
                        .log("the sibling dialled us: dialling it now instead of after the backoff");
                dial(p);
            }
        }
        if (!known && earlyResolvesLeft == 0) {
            earlyResolvesLeft = EARLY_RESOLVES;
            resolveEarly(ip);
        }
    }

    private void resolveEarly(InetAddress ip) {
        if (closed || earlyResolvesLeft <= 0) {
            return;
        }
        boolean known = peers.keySet().stream().anyMatch(a -> a.getAddress().equals(ip));
        if (known) {
            earlyResolvesLeft = 0;
            return;
        }
        earlyResolvesLeft--;
        try {
            resolverThread.execute(this::resolveAll);
        } catch (RejectedExecutionException e) {
            return; // closing
        }
        loop.schedule(() -> resolveEarly(ip), EARLY_RESOLVE_STEP.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void dial(Peer p) {
        if (closed || p.removed || p.self || p.channel != null) {
            return; // one outbound connection per address at a time
        }
        Channel ch = connections
                .connect(p.address, MeshProtocol.Purpose.LINK, new MeshHandshake.Done() {
                    @Override
                    public void authenticated(
                            ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                        p.failures = 0;
                        p.attempted = true;
                        MeshLink link = new MeshLink(
                                node,
                                ctx.channel(),
                                true,
                                peer.relayId(),
                                p.address,
                                ((MeshHandshake) ctx.handler()).provenKey());
                        ctx.pipeline().replace(ctx.handler(), "mesh-link", link);
                        outboundLinks.add(link);
                        keyring.cutIfRevoked(link);
                        node.linkUp(link);
                        metrics.meshEvent(MeshEvent.LINK_UP);
                        log.atInfo()
                                .addKeyValue("event", "mesh_link_up")
                                .addKeyValue("direction", "outbound")
                                .addKeyValue("peer_relay", peer.relayId())
                                .addKeyValue("address", p.address)
                                .log("mesh link up");
                        checkFirstSync();
                    }

                    @Override
                    public void failed(boolean self) {
                        if (self) {
                            loop.execute(() -> p.self = true);
                        }
                    }
                })
                .channel();
        p.channel = ch;
        ch.closeFuture()
                .addListener(f -> loop.execute(() -> {
                    if (p.channel == ch) {
                        p.channel = null;
                    }
                    p.attempted = true;
                    checkFirstSync();
                    scheduleRedial(p);
                }));
    }

    private void scheduleRedial(Peer p) {
        if (closed || p.removed || p.self || p.channel != null) {
            return;
        }
        if (p.redial != null) {
            p.redial.cancel(false); // an early dial replaced the scheduled one: keep one timer per peer
        }
        long base = Math.min(maxBackoffMillis, minBackoffMillis << Math.min(p.failures, 6));
        p.failures++;
        long delay = base / 2 + RANDOM.nextLong(base / 2 + 1);
        p.redial = loop.schedule(() -> dial(p), delay, TimeUnit.MILLISECONDS);
    }

    // ---------------------------------------------------------------- accepting

    /**
     * Installs the acceptor's mesh handlers after {@code after} in a switched pipeline; event loop
     * only. {@code plain}: the connection skipped the relay's TLS, so only a pooled circuit may use it.
     */
    void install(ChannelPipeline p, String after, boolean plain) {
        p.addAfter(after, "mesh-decoder", new MeshFrameDecoder());
        p.addAfter("mesh-decoder", "mesh-encoder", MeshFrameEncoder.INSTANCE);
        p.addAfter(
                "mesh-encoder",
                "mesh-handshake",
                new MeshHandshake(
                        node,
                        MeshAuth.Role.ACCEPTOR,
                        null,
                        new MeshHandshake.Done() {
                            @Override
                            public void authenticated(
                                    ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                                accepted(ctx, purpose, peer);
                            }

                            @Override
                            public void failed(boolean self) {
                                if (self && p.channel().remoteAddress() instanceof InetSocketAddress from) {
                                    loop.execute(() -> reachedItself(from));
                                }
                            }
                        },
                        plain));
    }

    /**
     * Loop: this relay accepted a connection from itself (its own instance ID in HELLO) and hung up
     * before sending its own HELLO, so the dialling side never sees the ID: mark the peer whose
     * outbound connection has that local address as self here, so it is not dialled again.
     */
    private void reachedItself(InetSocketAddress from) {
        for (Peer p : peers.values()) {
            if (p.channel != null && from.equals(p.channel.localAddress())) {
                p.self = true;
                if (p.redial != null) {
                    p.redial.cancel(false);
                }
                checkFirstSync();
            }
        }
    }

    private void accepted(ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
        if (purpose == MeshProtocol.Purpose.CIRCUIT || purpose == MeshProtocol.Purpose.POOLED_CIRCUIT) {
            MeshHandshake.Hellos hellos = ((MeshHandshake) ctx.handler()).hellos();
            ctx.pipeline().replace(ctx.handler(), "mesh-circuit", circuitAcceptor.create(purpose, hellos));
            return; // the acceptor (pooled) or the circuit attach handler ends the handshake deadline
        }
        HandshakeDeadline.established(ctx.channel());
        MeshLink link = new MeshLink(
                node, ctx.channel(), false, peer.relayId(), null, ((MeshHandshake) ctx.handler()).provenKey());
        ctx.pipeline().replace(ctx.handler(), "mesh-link", link);
        metrics.meshEvent(MeshEvent.LINK_UP);
        log.atInfo()
                .addKeyValue("event", "mesh_link_up")
                .addKeyValue("direction", "inbound")
                .addKeyValue("peer_relay", peer.relayId())
                .addKeyValue("remote", ctx.channel().remoteAddress())
                .log("mesh link up");
        presence.subscribe(link);
        keyring.cutIfRevoked(link);
        if (ctx.channel().remoteAddress() instanceof InetSocketAddress remote && remote.getAddress() != null) {
            loop.execute(() -> siblingDialledUs(remote.getAddress()));
        }
    }

    /** A link broke: an outbound one leaves the link set (its peer redials on the channel's close). */
    void linkDown(MeshLink link) {
        if (link.outbound) {
            outboundLinks.remove(link);
        }
    }

    // ---------------------------------------------------------------- tests and lifecycle

    void backoff(Duration min, Duration max) {
        minBackoffMillis = min.toMillis();
        maxBackoffMillis = max.toMillis();
    }

    int dialFailures(InetSocketAddress address) throws Exception {
        return loop.submit(() -> {
                    Peer p = peers.get(address);
                    return p == null ? 0 : p.failures;
                })
                .get(5, TimeUnit.SECONDS);
    }

    void breakOutboundLinks() {
        for (MeshLink l : List.copyOf(outboundLinks)) {
            l.channel.close();
        }
    }

    void close() {
        resolverThread.shutdownNow();
        if (!loop.isShuttingDown()) {
            loop.execute(() -> {
                closed = true;
                for (Peer p : peers.values()) {
                    if (p.redial != null) {
                        p.redial.cancel(false);
                    }
                    if (p.channel != null) {
                        p.channel.close();
                    }
                }
            });
        }
    }
}
