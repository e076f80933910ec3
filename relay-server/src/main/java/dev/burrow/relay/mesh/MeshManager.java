package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayConfig;
import dev.burrow.relay.server.RelayContext;
import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.forward.MeshRouter;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.Denials;
import dev.burrow.relay.server.net.HandshakeDeadline;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay mesh: links to every sibling relay, presence, and one-hop forwarding.
 *
 * <p><b>Peers.</b> Every {@code mesh.peers} entry is resolved every {@code mesh.resolve-interval};
 * each A/AAAA record is a sibling (a Kubernetes headless Service lists every pod, this one too). This
 * relay dials each address on its public port ({@code GET /v1/mesh}, {@code Upgrade: burrow-mesh-v1},
 * over TLS when the relay itself runs TLS) and authenticates with the mesh key ({@link MeshAuth}).
 * An address that turns out to be this relay (same instance ID) is remembered and not dialled again;
 * a link that breaks is redialled with backoff while its address is still listed. A sibling that
 * dials us proves it is up: a pending redial to its IP is done at once rather than after the backoff,
 * and an IP we have not resolved yet (a new pod) makes us resolve the names again soon, so a sibling
 * that starts late is linked in both directions within moments. Each pair has one link per direction
 * (one outbound connection per address at a time), so dialling both ways at once cannot duplicate or
 * flap. Readiness waits for the first sync (every listed sibling dialled once), at most
 * {@link #FIRST_SYNC_WAIT}.
 *
 * <p><b>Key rotation.</b> Each link remembers the fingerprint of the key its sibling proved; when a
 * reload of the key file drops that key, the link is closed (and redialled with the current key).
 *
 * <p><b>Presence.</b> Over each link it accepted, this relay sends its whole presence (every
 * connected node key) then each change. Over each link it dialled it learns the sibling's presence:
 * those keys are routes. When a link breaks, its routes are dropped and local clients that recently
 * sent to those nodes get PEER_GONE; on reconnect the full presence is sent again.
 *
 * <p><b>Names.</b> With its presence, this relay sends the certified names of its named clients (the
 * name it verified in a CA-issued certificate, {@link ClientSession#certifiedName()}; never a
 * self-signed claim): the whole set after the full presence, then one NAMES frame per named client
 * that connects (or a replacement connection whose name differs). A name goes with its key (GONE,
 * link down). LOOKUP_NAME answers local clients first, then these ({@link #lookupName}); the dialling
 * agent still requires the peer's certificate to be CA-issued with exactly that name, so a sibling
 * announcing a false name can only cause a refused connection.
 *
 * <p><b>Forwarding.</b> A datagram or circuit request whose destination is not connected here goes to
 * a sibling that has it (the most recently announced one). The sibling delivers locally or drops: a
 * forwarded message is never forwarded again. Cross-relay circuits: the listener's relay offers the
 * circuit and returns the dialer end's token; the dialer attaches here; this relay opens a mesh
 * circuit connection to the listener's relay, attaches with that token, and joins the two
 * connections. The agents' end-to-end encryption is untouched.
 */
public final class MeshManager implements MeshNode, MeshRouter, MeshCircuits, RelayContext.MeshEndpoint, ClientRegistry.PresenceListener,
        AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MeshManager.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Redial backoff: first retry soon (a sibling restarting), then at most every 30 s. */
    static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /**
     * How long readiness waits for the first mesh sync (every listed sibling dialled once: linked,
     * refused or unreachable). Bounded so that a broken DNS or a partitioned sibling never keeps a
     * relay out of service; long enough for dialling a cluster's siblings.
     */
    public static final Duration FIRST_SYNC_WAIT = Duration.ofSeconds(10);
    /**
     * A sibling dialled us from an address our peer list does not hold yet (a new pod, whose DNS
     * record our resolver has not seen): names are resolved again this often, this many times.
     */
    static final Duration EARLY_RESOLVE_STEP = Duration.ofSeconds(1);
    static final int EARLY_RESOLVES = 5;
    /** Connect timeout of a mesh connection: siblings are in the same cluster. */
    static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    /** Circuit requests awaiting a sibling's answer, over all clients: bounds the table. */
    static final int MAX_PENDING_CIRCUITS = 65_536;
    /** Accepted cross-relay circuits awaiting the dialer's attach: bounds the table. */
    static final int MAX_BRIDGES = 65_536;

    /** Resolves a peer name to every address it has (every A/AAAA record). Tests replace it. */
    public interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;

        Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));
    }

    private final RelayContext rc;
    private final RelayConfig.Mesh config;
    private volatile MeshKey key;
    private final java.nio.file.Path keyFile;
    /** Last modification time and size of the key file the current key came from (or failed from). */
    private volatile long keyStamp;
    private volatile long keyCheckedNanos;
    /** The key file is looked at again at most this often (it is read on handshakes, which may come in bursts). */
    static final long KEY_CHECK_NANOS = TimeUnit.SECONDS.toNanos(1);
    private final byte[] instanceId = new byte[MeshProtocol.INSTANCE_ID_LENGTH];
    private final String relayId;
    private final int defaultPort;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Class<? extends SocketChannel> channelClass;
    private final SslContext clientTls;
    private final Resolver resolver;
    private final ScheduledExecutorService resolverThread;

    // dial state, confined to {@code loop}
    private final Map<InetSocketAddress, Peer> peers = new HashMap<>();
    /** IPs of the listed siblings (read by the connection gate on accept threads). */
    private volatile Set<InetAddress> siblingIps = Set.of();
    private boolean closed;
    private volatile long minBackoffMillis = MIN_BACKOFF.toMillis();
    private volatile long maxBackoffMillis = MAX_BACKOFF.toMillis();
    /** Names resolved at least once, and every peer dialled once since (readiness; see {@link #synced()}). */
    private boolean resolvedOnce;
    private volatile boolean firstSync;
    private final long startNanos = System.nanoTime();
    /** Early re-resolves still to run (see {@link #EARLY_RESOLVES}); loop-confined. */
    private int earlyResolvesLeft;
    private final Object keyLock = new Object();
    private final AtomicLong keyReloads = new AtomicLong();

    /** Links we dialled (learn presence, send traffic) and links we accepted (send presence). */
    private final Set<MeshLink> outboundLinks = ConcurrentHashMap.newKeySet();
    private final Object presenceLock = new Object();
    private final Set<MeshLink> presenceSubscribers = new LinkedHashSet<>(); // guarded by presenceLock
    /** Node key → links that announced it (copy-on-write lists, newest last). */
    private final ConcurrentHashMap<NodeKey, List<MeshLink>> routes = new ConcurrentHashMap<>();
    /** Certified names siblings announced for the keys they announced. */
    private final MeshNames names = new MeshNames();

    private final AtomicLong nextRequestId = new AtomicLong(RANDOM.nextLong() & Long.MAX_VALUE);
    private final ConcurrentHashMap<Long, PendingCircuit> pendingCircuits = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<ClientSession, AtomicInteger> pendingPerDialer = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<dev.burrow.protocol.frame.CircuitId, InetSocketAddress> bridges = new ConcurrentHashMap<>();

    private record PendingCircuit(ClientSession dialer, long requestId, MeshLink link) {}

    private static final class Peer {
        final InetSocketAddress address;
        Channel channel;
        boolean self;
        boolean removed;
        int failures;
        /** One dial finished (linked, refused, self or unreachable): counts for the first sync. */
        boolean attempted;
        io.netty.util.concurrent.ScheduledFuture<?> redial;

        Peer(InetSocketAddress address) {
            this.address = address;
        }
    }

    private MeshManager(RelayContext rc, MeshKey key, EventLoopGroup group, Class<? extends SocketChannel> channelClass,
            boolean tls, Resolver resolver) throws SSLException {
        this.rc = rc;
        this.config = rc.config().mesh();
        this.key = key;
        this.keyFile = config.keyFile();
        this.keyStamp = stamp(keyFile);
        this.keyCheckedNanos = System.nanoTime();
        RANDOM.nextBytes(instanceId);
        this.relayId = rc.config().relayId();
        this.defaultPort = config.port() > 0 ? config.port() : rc.config().listen().getPort();
        this.group = group;
        this.loop = group.next();
        this.channelClass = channelClass;
        // Siblings' certificates are not checked by a CA: the mesh key authenticates them, and the
        // AUTH MACs cover the certificate we were shown, so an interceptor cannot pass (see MeshAuth).
        this.clientTls = tls ? SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
                .protocols("TLSv1.3").build() : null;
        this.resolver = resolver;
        this.resolverThread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "relay-mesh-resolve");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts meshing when {@code mesh.peers} is set. A missing or malformed key disables meshing with
     * an error in the log (and mesh connections are refused): never an unauthenticated mesh.
     *
     * @return the running mesh, or null when meshing is off
     */
    public static MeshManager start(RelayContext rc, EventLoopGroup group, Class<? extends SocketChannel> channelClass,
            boolean tls, Resolver resolver) {
        RelayConfig.Mesh cfg = rc.config().mesh();
        if (!cfg.configured()) {
            return null;
        }
        if (cfg.keyFile() == null) {
            log.error("event=mesh_disabled msg=\"mesh.peers is set but mesh.key-file is not: meshing is OFF (an "
                    + "unauthenticated mesh is never used). Set mesh.key-file (env {}) to a file of 64 hex characters.\"",
                    RelayConfigLoader.envName("mesh.key-file"));
            return null;
        }
        MeshKey key;
        try {
            key = MeshKey.read(cfg.keyFile());
        } catch (MeshKey.MeshKeyException e) {
            log.error("event=mesh_disabled msg=\"unusable mesh key: {}; meshing is OFF\"", e.getMessage());
            return null;
        }
        MeshManager m;
        try {
            m = new MeshManager(rc, key, group, channelClass, tls, resolver);
        } catch (SSLException e) {
            log.error("event=mesh_disabled msg=\"cannot build the mesh TLS client: {}\"", e.getMessage());
            return null;
        }
        rc.registry().presenceListener(m);
        rc.registry().remoteNames(m::lookupName);
        rc.circuits().mesh(m);
        rc.mesh(m, m);
        rc.gate().exemptFromIpLimit(ip -> m.siblingIps.contains(ip));
        rc.metrics().bindMeshGauges(m, x -> x.outboundLinks.size(), x -> x.routes.size(), MeshManager::meshNameCount);
        m.resolverThread.scheduleWithFixedDelay(m::resolveAll, 0, cfg.resolveInterval().toMillis(), TimeUnit.MILLISECONDS);
        // The key file is also looked at without handshakes, so that removing a key cuts links soon.
        m.resolverThread.scheduleWithFixedDelay(m::key, KEY_CHECK_NANOS, KEY_CHECK_NANOS, TimeUnit.NANOSECONDS);
        log.info("event=mesh_started peers={} port={} resolve_interval_ms={}", cfg.peers(), m.defaultPort,
                cfg.resolveInterval().toMillis());
        return m;
    }

    @Override
    public byte[] instanceId() {
        return instanceId.clone();
    }

    @Override
    public String relayId() {
        return relayId;
    }

    /**
     * The mesh key, read again when its file changed (a Kubernetes Secret update swaps the file in
     * place), so a rotation needs no restart. A file that became unusable keeps the previous key
     * (logged at ERROR).
     */
    @Override
    public MeshKey key() {
        long now = System.nanoTime();
        if (now - keyCheckedNanos >= KEY_CHECK_NANOS) {
            MeshKey reloaded = null;
            synchronized (keyLock) {
                if (now - keyCheckedNanos >= KEY_CHECK_NANOS) {
                    keyCheckedNanos = now;
                    long stamp = stamp(keyFile);
                    if (stamp != keyStamp) {
                        keyStamp = stamp;
                        try {
                            reloaded = MeshKey.read(keyFile);
                            key = reloaded;
                            log.info("event=mesh_key_reloaded file={}", keyFile);
                        } catch (MeshKey.MeshKeyException e) {
                            log.error("event=mesh_key_reload_failed msg=\"{}; keeping the previous key\"", e.getMessage());
                        }
                    }
                }
            }
            if (reloaded != null) {
                cutLinksNoLongerAccepted(reloaded);
                keyReloads.incrementAndGet();
            }
        }
        return key;
    }

    /**
     * A reloaded key file may have dropped a key (the last step of a rotation, or a leaked key
     * removed): every link whose sibling proved a key that is no longer accepted is closed. Outbound
     * links are redialled (with the current key); the sibling redials inbound ones. Links whose key
     * is still accepted stay up.
     */
    private void cutLinksNoLongerAccepted(MeshKey current) {
        List<MeshLink> links = new ArrayList<>(outboundLinks);
        synchronized (presenceLock) {
            links.addAll(presenceSubscribers);
        }
        for (MeshLink l : links) {
            cutIfKeyRevoked(l, current);
        }
    }

    /**
     * A handshake that verified with the previous key may finish just after a reload: a new link
     * is checked against the current key after it joined the link sets, so either this check or the
     * reload's sweep sees it.
     */
    private void cutIfKeyRevoked(MeshLink l) {
        cutIfKeyRevoked(l, key);
    }

    private void cutIfKeyRevoked(MeshLink l, MeshKey current) {
        if (l.provenKey != null && !current.stillAccepts(l.provenKey) && l.channel.isOpen()) {
            rc.metrics().meshEvent(MeshEvent.KEY_REVOKED);
            log.warn("event=mesh_link_key_revoked direction={} peer_relay={} msg=\"the sibling proved a key the key "
                    + "file no longer holds; closing the link (it is redialled with the current key)\"",
                    l.outbound ? "outbound" : "inbound", l.peerRelayId);
            l.channel.close();
        }
    }

    private static long stamp(java.nio.file.Path file) {
        try {
            return java.nio.file.Files.getLastModifiedTime(file).toMillis() * 31 + java.nio.file.Files.size(file);
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    @Override
    public RelayMetrics metrics() {
        return rc.metrics();
    }

    /** Authenticated links this relay dialled. */
    public int linkCount() {
        return outboundLinks.size();
    }

    /** Authenticated links siblings dialled to this relay (this relay sends its presence over them). */
    public int inboundLinkCount() {
        synchronized (presenceLock) {
            return presenceSubscribers.size();
        }
    }

    /** Successful reloads of the key file since start; for tests. */
    long keyReloads() {
        return keyReloads.get();
    }

    /** Nodes reachable through siblings. */
    public int routeCount() {
        return routes.size();
    }

    /** True when a sibling announced {@code key}. */
    public boolean hasRoute(NodeKey k) {
        List<MeshLink> l = routes.get(k);
        return l != null && !l.isEmpty();
    }

    /**
     * Keys that siblings announced with {@code name} (their relay verified it in a CA-issued
     * certificate), distinct, at most {@link dev.burrow.protocol.frame.FrameLimits#MAX_NAME_RESULT_KEYS}.
     */
    public List<NodeKey> lookupName(String name) {
        return names.lookup(name, dev.burrow.protocol.frame.FrameLimits.MAX_NAME_RESULT_KEYS);
    }

    /** Distinct names known through siblings. */
    public int meshNameCount() {
        return names.names();
    }

    // ---------------------------------------------------------------- peers and dialling

    private void resolveAll() {
        Set<InetSocketAddress> wanted = new LinkedHashSet<>();
        for (String entry : config.peers()) {
            String host = entry;
            int port = defaultPort;
            if (entry.startsWith("[") || entry.chars().filter(c -> c == ':').count() == 1) {
                InetSocketAddress a = RelayConfigLoader.parseAddress(entry);
                host = a.getHostString();
                port = a.getPort();
            }
            try {
                for (InetAddress ip : resolver.resolve(host)) {
                    wanted.add(new InetSocketAddress(ip, port));
                }
            } catch (UnknownHostException | RuntimeException e) {
                log.warn("event=mesh_resolve_failed name={} error={}", host, e.getClass().getSimpleName());
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
        Set<InetAddress> ips = new java.util.HashSet<>();
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
                    log.info("event=mesh_peer_removed address={}", p.address);
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
        log.info("event=mesh_first_sync links={} routes={}", outboundLinks.size(), routes.size());
    }

    /**
     * True once this relay dialled every listed sibling once (so it learned the presence of those it
     * reached), or {@link #FIRST_SYNC_WAIT} after the mesh started, whichever comes first. Readiness
     * waits for it, so a new pod does not take agents before it knows where the fleet's nodes are.
     */
    public boolean synced() {
        return firstSync || System.nanoTime() - startNanos >= FIRST_SYNC_WAIT.toNanos();
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
                rc.metrics().meshEvent(MeshEvent.REDIAL_EARLY);
                log.info("event=mesh_redial_early address={} msg=\"the sibling dialled us: dialling it now instead of "
                        + "after the backoff\"", p.address);
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
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return; // closing
        }
        loop.schedule(() -> resolveEarly(ip), EARLY_RESOLVE_STEP.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void dial(Peer p) {
        if (closed || p.removed || p.self || p.channel != null) {
            return; // one outbound connection per address at a time
        }
        Channel ch = connect(p.address, MeshProtocol.Purpose.LINK, new MeshHandshake.Done() {
            @Override
            public void authenticated(ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                p.failures = 0;
                p.attempted = true;
                MeshLink link = new MeshLink(MeshManager.this, ctx.channel(), true, peer.relayId(), p.address,
                        ((MeshHandshake) ctx.handler()).provenKey());
                ctx.pipeline().replace(ctx.handler(), "mesh-link", link);
                outboundLinks.add(link);
                cutIfKeyRevoked(link);
                rc.metrics().meshEvent(MeshEvent.LINK_UP);
                log.info("event=mesh_link_up direction=outbound peer_relay={} address={}", peer.relayId(), p.address);
                checkFirstSync();
            }

            @Override
            public void failed(boolean self) {
                if (self) {
                    loop.execute(() -> p.self = true);
                }
            }
        }).channel();
        p.channel = ch;
        ch.closeFuture().addListener(f -> loop.execute(() -> {
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

    /** Opens a mesh connection of {@code purpose} to {@code address}; {@code done} runs after the handshake. */
    private ChannelFuture connect(InetSocketAddress address, MeshProtocol.Purpose purpose, MeshHandshake.Done done) {
        Duration handshake = rc.config().timeouts().handshake();
        Bootstrap b = new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, dev.burrow.relay.server.RelayServer.WATER_MARK)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ChannelPipeline p = ch.pipeline();
                        // a sibling that never finishes the handshake is cut off
                        var deadline = ch.eventLoop().schedule(() -> {
                            if (p.get(MeshHandshake.class) != null || p.get(MeshUpgrade.class) != null) {
                                ch.close();
                            }
                        }, handshake.toMillis(), TimeUnit.MILLISECONDS);
                        ch.closeFuture().addListener(f -> deadline.cancel(false));
                        if (clientTls != null) {
                            p.addLast("tls", clientTls.newHandler(ch.alloc(), address.getHostString(), address.getPort()));
                        }
                        p.addLast("http", new HttpClientCodec());
                        p.addLast("mesh-upgrade", new MeshUpgrade(address.getHostString() + ":" + address.getPort(), ctx -> {
                            p.addAfter("mesh-decoder", "mesh-encoder", MeshFrameEncoder.INSTANCE);
                            p.addAfter("mesh-encoder", "mesh-handshake",
                                    new MeshHandshake(MeshManager.this, MeshAuth.Role.DIALER, purpose, done));
                        }));
                    }
                });
        ChannelFuture f = b.connect(address);
        f.addListener(x -> {
            if (!x.isSuccess()) {
                log.debug("event=mesh_connect_failed address={} error={}", address, x.cause().toString());
            }
        });
        return f;
    }

    // ---------------------------------------------------------------- accepting (RelayContext.MeshEndpoint)

    @Override
    public boolean enabled() {
        return true;
    }

    @Override
    public void install(ChannelPipeline p, String after) {
        p.addAfter(after, "mesh-decoder", new MeshFrameDecoder());
        p.addAfter("mesh-decoder", "mesh-encoder", MeshFrameEncoder.INSTANCE);
        p.addAfter("mesh-encoder", "mesh-handshake", new MeshHandshake(this, MeshAuth.Role.ACCEPTOR, null,
                new MeshHandshake.Done() {
                    @Override
                    public void authenticated(ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                        accepted(ctx, purpose, peer);
                    }

                    @Override
                    public void failed(boolean self) {
                        if (self && p.channel().remoteAddress() instanceof InetSocketAddress from) {
                            loop.execute(() -> reachedItself(from));
                        }
                    }
                }));
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
        if (purpose == MeshProtocol.Purpose.CIRCUIT) {
            ctx.pipeline().replace(ctx.handler(), "mesh-circuit", new MeshCircuitEnds.Acceptor(rc));
            return; // the circuit attach handler ends the handshake deadline
        }
        HandshakeDeadline.established(ctx.channel());
        MeshLink link = new MeshLink(this, ctx.channel(), false, peer.relayId(), null,
                ((MeshHandshake) ctx.handler()).provenKey());
        ctx.pipeline().replace(ctx.handler(), "mesh-link", link);
        rc.metrics().meshEvent(MeshEvent.LINK_UP);
        log.info("event=mesh_link_up direction=inbound peer_relay={} remote={}", peer.relayId(), ctx.channel().remoteAddress());
        subscribe(link);
        cutIfKeyRevoked(link);
        if (ctx.channel().remoteAddress() instanceof InetSocketAddress remote && remote.getAddress() != null) {
            loop.execute(() -> siblingDialledUs(remote.getAddress()));
        }
    }

    // ---------------------------------------------------------------- presence

    /**
     * Sends the full presence, then the names of the named clients among it, then changes (under one
     * lock, so no change is lost or reordered, and every name follows its key's PRESENT).
     */
    private void subscribe(MeshLink link) {
        synchronized (presenceLock) {
            presenceSubscribers.add(link);
            var sessions = rc.registry().sessions();
            List<NodeKey> batch = new ArrayList<>(MeshProtocol.MAX_KEYS_PER_PRESENCE);
            for (ClientSession s : sessions) {
                batch.add(s.key());
                if (batch.size() == MeshProtocol.MAX_KEYS_PER_PRESENCE) {
                    link.enqueueControl(new MeshFrame.Present(batch));
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) {
                link.enqueueControl(new MeshFrame.Present(batch));
            }
            List<MeshFrame.Named> named = new ArrayList<>(MeshProtocol.MAX_NAMES_PER_FRAME);
            for (ClientSession s : sessions) {
                if (s.certifiedName() == null) {
                    continue;
                }
                named.add(new MeshFrame.Named(s.key(), s.certifiedName()));
                if (named.size() == MeshProtocol.MAX_NAMES_PER_FRAME) {
                    link.enqueueControl(new MeshFrame.Names(named));
                    named.clear();
                }
            }
            if (!named.isEmpty()) {
                link.enqueueControl(new MeshFrame.Names(named));
            }
        }
    }

    /** PRESENT, and right behind it (same lock) the client's certified name when it has one. */
    @Override
    public void present(NodeKey k) {
        synchronized (presenceLock) {
            publish(new MeshFrame.Present(List.of(k)));
            ClientSession s = rc.registry().lookup(k);
            if (s != null && s.certifiedName() != null) {
                publish(new MeshFrame.Names(List.of(new MeshFrame.Named(k, s.certifiedName()))));
            }
        }
    }

    /** A replacement connection brought another name (or none): announce the current one. */
    @Override
    public void renamed(NodeKey k) {
        synchronized (presenceLock) {
            ClientSession s = rc.registry().lookup(k);
            if (s != null) { // gone meanwhile: its GONE drops the name on the siblings
                String name = s.certifiedName();
                publish(new MeshFrame.Names(List.of(new MeshFrame.Named(k, name == null ? "" : name))));
            }
        }
    }

    @Override
    public void gone(NodeKey k) {
        publish(new MeshFrame.Gone(List.of(k)));
    }

    private void publish(MeshFrame f) {
        synchronized (presenceLock) {
            for (MeshLink l : presenceSubscribers) {
                l.enqueueControl(f);
            }
        }
    }

    /** A sibling announced keys over {@code link} (event loop of the link). */
    @Override
    public void routesAdded(MeshLink link, Collection<NodeKey> keys) {
        for (NodeKey k : keys) {
            if (!link.learned.add(k)) {
                continue;
            }
            if (link.learned.size() > MeshLink.MAX_ROUTES_PER_LINK) {
                rc.metrics().meshEvent(MeshEvent.PROTOCOL_ERROR);
                log.warn("event=mesh_protocol_error peer_relay={} msg=\"more than {} routes\"", link.peerRelayId,
                        MeshLink.MAX_ROUTES_PER_LINK);
                link.channel.close();
                return;
            }
            boolean[] first = new boolean[1];
            routes.compute(k, (kk, old) -> {
                List<MeshLink> n = new ArrayList<>(old == null ? List.of() : old);
                first[0] = n.isEmpty();
                n.remove(link);
                n.add(link);
                return List.copyOf(n);
            });
            if (first[0]) {
                rc.registry().notifyWatchers(k, true);
            }
        }
    }

    /**
     * A sibling announced names for keys it announced (link event loop). A name for a key it never
     * announced on this link breaks the protocol (it always sends PRESENT first, on the same ordered
     * queue) and resets the link, as does passing {@link MeshLink#MAX_NAMES_PER_LINK}: both are
     * checked before anything is stored.
     */
    @Override
    public void namesAnnounced(MeshLink link, List<MeshFrame.Named> entries) {
        rc.metrics().meshEvent(MeshEvent.NAMES_RECEIVED);
        for (MeshFrame.Named e : entries) {
            String problem = null;
            if (!link.learned.contains(e.key())) {
                problem = "a name for a node it did not announce";
            } else if (!e.cleared() && !names.has(link, e.key()) && names.count(link) >= MeshLink.MAX_NAMES_PER_LINK) {
                problem = "more than " + MeshLink.MAX_NAMES_PER_LINK + " names";
            }
            if (problem != null) {
                rc.metrics().meshEvent(MeshEvent.NAMES_REFUSED);
                log.warn("event=mesh_protocol_error peer_relay={} msg=\"{}\"", link.peerRelayId, problem);
                link.channel.close();
                return;
            }
            names.put(link, e.key(), e.name());
        }
    }

    /** A sibling said keys left it, or the link over which they were learned broke. */
    @Override
    public void routesRemoved(MeshLink link, Collection<NodeKey> keys) {
        for (NodeKey k : List.copyOf(keys)) {
            if (!link.learned.remove(k)) {
                continue;
            }
            names.remove(link, k);
            boolean[] last = new boolean[1];
            routes.computeIfPresent(k, (kk, old) -> {
                List<MeshLink> n = new ArrayList<>(old);
                n.remove(link);
                last[0] = n.isEmpty();
                return n.isEmpty() ? null : List.copyOf(n);
            });
            if (last[0]) {
                rc.registry().notifyWatchers(k, false);
            }
        }
    }

    @Override
    public void linkDown(MeshLink link) {
        rc.metrics().meshEvent(MeshEvent.LINK_DOWN);
        log.info("event=mesh_link_down direction={} peer_relay={} routes_dropped={}", link.outbound ? "outbound" : "inbound",
                link.peerRelayId, link.learned.size());
        if (link.outbound) {
            outboundLinks.remove(link);
            routesRemoved(link, link.learned);
            names.removeLink(link);
            for (Map.Entry<Long, PendingCircuit> e : pendingCircuits.entrySet()) {
                if (e.getValue().link() == link && pendingCircuits.remove(e.getKey(), e.getValue())) {
                    finishPending(e.getValue());
                    e.getValue().dialer().enqueueControl(new RelayFrame.CircuitRejected(e.getValue().requestId(),
                            CircuitRejectReason.PEER_NOT_FOUND, "relay link to the destination broke"));
                }
            }
        } else {
            synchronized (presenceLock) {
                presenceSubscribers.remove(link);
            }
        }
    }

    // ---------------------------------------------------------------- datagrams

    private MeshLink route(NodeKey destination) {
        List<MeshLink> l = routes.get(destination);
        return l == null || l.isEmpty() ? null : l.get(l.size() - 1);
    }

    @Override
    public boolean forwardDatagram(NodeKey source, NodeKey destination, ByteBuf payload) {
        MeshLink link = route(destination);
        if (link == null) {
            return false;
        }
        link.enqueueDatagram(new MeshFrame.Datagram(source, destination, payload));
        return true;
    }

    /** A datagram from a sibling: delivered to a local client or dropped, never forwarded again. */
    @Override
    public void deliver(MeshFrame.Datagram d) {
        ClientSession s = rc.registry().lookup(d.destination());
        if (s == null) {
            d.release();
            rc.metrics().meshEvent(MeshEvent.DATAGRAM_NOT_HERE);
            return;
        }
        rc.metrics().meshEvent(MeshEvent.DATAGRAM_DELIVERED);
        s.enqueueDatagram(new RelayFrame.RecvDatagram(d.source(), d.payload()));
    }

    // ---------------------------------------------------------------- circuits, dialer's relay

    @Override
    public boolean request(ClientSession dialer, ClientFrame.CircuitRequest req) {
        MeshLink link = route(req.destination());
        if (link == null) {
            return false;
        }
        AtomicInteger mine = pendingPerDialer.computeIfAbsent(dialer, k -> new AtomicInteger());
        if (pendingCircuits.size() >= MAX_PENDING_CIRCUITS
                || mine.incrementAndGet() > rc.config().limits().pendingCircuitsPerClient()) {
            if (mine.decrementAndGet() <= 0) {
                pendingPerDialer.remove(dialer, mine);
            }
            rc.metrics().circuitEvent(RelayMetrics.CircuitEvent.LIMIT_REACHED);
            dialer.enqueueControl(new RelayFrame.CircuitRejected(req.requestId(), CircuitRejectReason.LIMIT_REACHED,
                    "circuit limit reached"));
            return true;
        }
        long id = nextRequestId.getAndIncrement();
        PendingCircuit pc = new PendingCircuit(dialer, req.requestId(), link);
        pendingCircuits.put(id, pc);
        rc.metrics().meshEvent(MeshEvent.CIRCUIT_REQUESTED);
        dialer.channel().eventLoop().schedule(() -> {
            if (pendingCircuits.remove(id, pc)) {
                finishPending(pc);
                rc.metrics().meshEvent(MeshEvent.CIRCUIT_FAILED);
                dialer.enqueueControl(new RelayFrame.CircuitRejected(req.requestId(), CircuitRejectReason.TIMEOUT,
                        "no answer from the destination's relay"));
            }
        }, 2 * rc.config().timeouts().circuitToken().toMillis(), TimeUnit.MILLISECONDS);
        if (!link.enqueueControl(new MeshFrame.CircuitRequest(id, dialer.key(), req.destination(), req.service()))
                && pendingCircuits.remove(id, pc)) {
            finishPending(pc);
            dialer.enqueueControl(new RelayFrame.CircuitRejected(req.requestId(), CircuitRejectReason.INTERNAL,
                    "relay link to the destination is busy"));
        }
        return true;
    }

    private void finishPending(PendingCircuit pc) {
        AtomicInteger n = pendingPerDialer.get(pc.dialer());
        if (n != null && n.decrementAndGet() <= 0) {
            pendingPerDialer.remove(pc.dialer(), n);
        }
    }

    @Override
    public void circuitAccepted(MeshLink link, MeshFrame.CircuitAccepted a) {
        PendingCircuit pc = pendingCircuits.get(a.meshRequestId());
        if (pc == null || pc.link() != link || !pendingCircuits.remove(a.meshRequestId(), pc)) {
            return; // late (timed out) or not ours
        }
        finishPending(pc);
        if (bridges.size() >= MAX_BRIDGES) {
            rc.metrics().circuitEvent(RelayMetrics.CircuitEvent.LIMIT_REACHED);
            pc.dialer().enqueueControl(new RelayFrame.CircuitRejected(pc.requestId(), CircuitRejectReason.LIMIT_REACHED,
                    "circuit limit reached"));
            return;
        }
        rc.metrics().meshEvent(MeshEvent.CIRCUIT_ACCEPTED);
        bridges.put(a.circuitId(), link.peerAddress);
        // The listener's relay forgets the circuit after its token TTL; forget it here a little later.
        loop.schedule(() -> bridges.remove(a.circuitId(), link.peerAddress),
                2 * rc.config().timeouts().circuitToken().toMillis(), TimeUnit.MILLISECONDS);
        pc.dialer().enqueueControl(new RelayFrame.CircuitAccepted(pc.requestId(), a.circuitId(), a.token()));
    }

    @Override
    public void circuitRejected(MeshLink link, MeshFrame.CircuitRejected r) {
        PendingCircuit pc = pendingCircuits.get(r.meshRequestId());
        if (pc == null || pc.link() != link || !pendingCircuits.remove(r.meshRequestId(), pc)) {
            return;
        }
        finishPending(pc);
        rc.metrics().meshEvent(MeshEvent.CIRCUIT_REJECTED);
        pc.dialer().enqueueControl(new RelayFrame.CircuitRejected(pc.requestId(), r.reason(), r.message()));
    }

    @Override
    public boolean attach(Channel clientEnd, ClientFrame.CircuitAttach a) {
        InetSocketAddress target = bridges.remove(a.circuitId());
        if (target == null) {
            return false;
        }
        ChannelFuture f = connect(target, MeshProtocol.Purpose.CIRCUIT, new MeshHandshake.Done() {
            @Override
            public void authenticated(ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                Channel meshEnd = ctx.channel();
                ctx.pipeline().replace(ctx.handler(), "mesh-circuit", new MeshCircuitEnds.Dialer(new MeshCircuitEnds.Dialer.Outcome() {
                    @Override
                    public void attached(ChannelHandlerContext c) {
                        rc.metrics().meshEvent(MeshEvent.CIRCUIT_BRIDGED);
                        rc.circuits().joinBridged(clientEnd, meshEnd);
                    }

                    @Override
                    public void failed() {
                        rc.metrics().meshEvent(MeshEvent.CIRCUIT_FAILED);
                        Denials.denyAndClose(clientEnd, DenyReason.AUTH_FAILED, "the destination's relay refused the circuit");
                    }
                }));
                ctx.writeAndFlush(new MeshFrame.CircuitAttach(a.circuitId(), a.token()));
                var p = ctx.pipeline();
                if (p.get(MeshFrameDecoder.class) != null) {
                    p.remove(MeshFrameDecoder.class); // the answer is a relay-protocol frame, then raw bytes
                }
            }

            @Override
            public void failed(boolean self) {
                rc.metrics().meshEvent(MeshEvent.CIRCUIT_FAILED);
                clientEnd.close();
            }
        });
        Channel meshEnd = f.channel();
        f.addListener(x -> {
            if (!x.isSuccess()) {
                rc.metrics().meshEvent(MeshEvent.CIRCUIT_FAILED);
                clientEnd.close();
            }
        });
        clientEnd.closeFuture().addListener(x -> meshEnd.close());
        meshEnd.closeFuture().addListener(x -> clientEnd.close());
        return true;
    }

    // ---------------------------------------------------------------- circuits, listener's relay

    @Override
    public void circuitRequested(MeshLink link, MeshFrame.CircuitRequest r) {
        rc.circuits().requestFromMesh(new RemoteDialer() {
            @Override
            public NodeKey key() {
                return r.dialer();
            }

            @Override
            public boolean accepted(dev.burrow.protocol.frame.CircuitId circuitId, dev.burrow.protocol.frame.CircuitToken token) {
                return link.enqueueControl(new MeshFrame.CircuitAccepted(r.meshRequestId(), circuitId, token));
            }

            @Override
            public void rejected(CircuitRejectReason reason, String message) {
                link.enqueueControl(new MeshFrame.CircuitRejected(r.meshRequestId(), reason, message));
            }
        }, r.listener(), r.service());
    }

    // ---------------------------------------------------------------- lifecycle

    /** Replaces the redial backoff bounds; for tests of a sibling that starts after a long backoff. */
    void backoffForTests(Duration min, Duration max) {
        minBackoffMillis = min.toMillis();
        maxBackoffMillis = max.toMillis();
    }

    /** Failed dials in a row to {@code address} (0 when linked or unknown); for tests. */
    int dialFailures(InetSocketAddress address) throws Exception {
        return loop.submit(() -> {
            Peer p = peers.get(address);
            return p == null ? 0 : p.failures;
        }).get(5, TimeUnit.SECONDS);
    }

    /** Breaks every link this relay dialled (they are redialled with backoff); for tests of link loss. */
    void breakOutboundLinks() {
        for (MeshLink l : List.copyOf(outboundLinks)) {
            l.channel.close();
        }
    }

    @Override
    public void close() {
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
