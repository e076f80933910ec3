package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoBox;
import dev.burrow.agent.disco.DiscoCodec;
import dev.burrow.agent.disco.DiscoDropReason;
import dev.burrow.agent.disco.DiscoLimits;
import dev.burrow.agent.disco.DiscoMessage;
import dev.burrow.agent.endpoint.Endpoint;
import dev.burrow.agent.endpoint.EndpointDiscovery;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.client.StunDemuxHandler;
import dev.burrow.stun.metrics.StunMetrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.quic.InsecureQuicTokenHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Direct paths to peers: endpoint discovery, disco signalling, hole punching, and QUIC on the
 * punched sockets.
 *
 * <h2>Sockets and roles</h2>
 * Netty's QUIC codec takes one role per UDP channel, so there are two sockets: a <em>server</em>
 * socket (QUIC server codec) and a <em>client</em> socket (QUIC client codec). Each has its own STUN
 * client (attached, so STUN sees that socket's own NAT mapping) and a disco demultiplexer in front of
 * the codec. For a pair of nodes the one with the smaller key is the QUIC client: it pings, announces
 * and connects from its client socket; the other uses its server socket. So each pair punches
 * exactly one 5-tuple, and the QUIC connection uses that same 5-tuple. Streams go both ways on the
 * one connection.
 *
 * <h2>Punching</h2>
 * The dialer {@link #want wants} a peer: it sends CALL_ME_MAYBE with its candidates through the
 * relay; the receiver answers with its own and both ping every candidate of the other every
 * {@link #PUNCH_INTERVAL} for {@link #PUNCH_DURATION}. Each pong proves a path; the lowest round
 * trip wins. A verified path is kept with heartbeats every {@link #HEARTBEAT_INTERVAL}; without a
 * pong for {@link #TRUST_DURATION} it is dropped and new streams use the relay, and while the peer
 * is active an upgrade is retried every {@link #UPGRADE_INTERVAL}.
 *
 * <p>Everything runs on one event loop (the sockets' loop); public methods hop onto it.
 */
public final class DirectManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    /** Pings to every candidate during punching: fast enough that both sides' pings cross within a few RTTs. */
    public static final Duration PUNCH_INTERVAL = Duration.ofMillis(200);
    /** Punching stops after this (bounded probing: at most 25 pings per candidate per attempt). */
    public static final Duration PUNCH_DURATION = Duration.ofSeconds(5);
    /** Heartbeat on the chosen path (magicsock: 3 s). */
    public static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(3);
    /** A path without a pong for this long is no longer used for new streams (magicsock trustUDPAddr: 6.5 s). */
    public static final Duration TRUST_DURATION = Duration.ofMillis(6500);
    /** An unanswered ping is forgotten after this (magicsock: 5 s); a late pong is an unknown transaction. */
    public static final Duration PING_TIMEOUT = Duration.ofSeconds(5);
    /** While a peer is active and has no direct path, an upgrade is retried this often. */
    public static final Duration UPGRADE_INTERVAL = Duration.ofSeconds(10);
    /** A peer is active this long after we last wanted it or had a direct stream (magicsock sessionActive: 45 s). */
    public static final Duration ACTIVE_DURATION = Duration.ofSeconds(45);
    /** CALL_ME_MAYBE to one peer at most this often (a relay flood guard; replies to the peer's own count too). */
    public static final Duration CALL_ME_MAYBE_MIN_INTERVAL = Duration.ofSeconds(1);
    /** Candidates kept per peer (announced plus peer-reflexive). */
    public static final int MAX_CANDIDATES = DiscoLimits.MAX_ENDPOINTS;
    /** Outstanding pings per peer. */
    public static final int MAX_PENDING_PINGS = 128;
    /** Peers with disco state. */
    public static final int MAX_PEERS = 1024;
    /** A new path replaces the current one only when it is this much faster (avoid flapping). */
    public static final double BETTER_RTT_FACTOR = 0.7;
    /** Pings are padded so the pong (observed address included) is never more than 3x the ping (QUIC anti-amplification). */
    static final int PING_PADDING = 0;
    /**
     * QUIC idle timeout: well beyond the disco trust window, so an outage of a few tens of seconds
     * does not kill the streams on the connection. QUIC's probe timeouts back off exponentially
     * (probes about 1, 3, 7, 15, 31 s into an outage), and the idle timer counts from the last packet
     * received: with 30 s a 20 s outage killed the connection before the 31 s probe (measured in the
     * NAT lab), with 60 s that probe gets through.
     */
    public static final Duration QUIC_IDLE_TIMEOUT = Duration.ofSeconds(60);

    /** A QUIC handshake that has not finished by then is abandoned and retried (quiche would wait for the idle timeout). */
    public static final Duration QUIC_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    /** Where signalling goes when it cannot go direct: the relay's keyed datagrams. */
    @FunctionalInterface
    public interface Signalling {
        /** Sends {@code packet} (ownership passes) to {@code peer}; false when it was dropped. */
        boolean send(NodeKey peer, ByteBuf packet);
    }

    /** Counters (status and tests). */
    public final Map<DiscoDropReason, LongAdder> drops = new EnumMap<>(DiscoDropReason.class);
    public final LongAdder pingsSent = new LongAdder();
    public final LongAdder pongsSent = new LongAdder();

    private final NodeIdentity identity;
    private final NodeVerifier verifier;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Class<? extends DatagramChannel> channelType;
    private final Signalling signalling;
    private final Supplier<List<InetSocketAddress>> stunServers;
    private final Predicate<NodeKey> acceptsPeer;
    private final Consumer<InboundStream> gate;
    private final InetSocketAddress serverBind;
    private final InetSocketAddress clientBind;
    private final DiscoBox box;
    private final SecureRandom random = new SecureRandom();
    private final Map<NodeKey, Peer> peers = new HashMap<>();
    private final Map<NodeKey, DirectPeerStatus> statusView = new ConcurrentHashMap<>();
    private final DirectPath path = new DirectPath(this);
    private final List<BiConsumer<NodeKey, Boolean>> pathListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Sock server;
    private Sock client;
    private ScheduledFuture<?> ticker;
    private volatile boolean running;

    private final class Sock {
        final boolean serverRole;
        Channel channel;
        StunClient stun;
        EndpointDiscovery discovery;

        Sock(boolean serverRole) {
            this.serverRole = serverRole;
        }

        List<InetSocketAddress> endpoints() {
            return discovery == null ? List.of() : discovery.current().stream().map(Endpoint::address).toList();
        }
    }

    private record Pending(InetSocketAddress to, long sentNanos) {}

    private static final class TxKey {
        final byte[] id;

        TxKey(byte[] id) {
            this.id = id;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TxKey t && java.security.MessageDigest.isEqual(id, t.id);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(id);
        }
    }

    private final class Peer {
        final NodeKey key;
        final boolean weAreClient;
        final Set<InetSocketAddress> candidates = new LinkedHashSet<>();
        final Map<TxKey, Pending> pending = new HashMap<>();
        InetSocketAddress best;
        long bestRttNanos;
        long lastPongNanos;
        long lastHeartbeatNanos;
        long punchUntilNanos;
        long lastPunchNanos;
        long lastCallMeMaybeNanos = Long.MIN_VALUE / 2;
        long activeUntilNanos;
        long lastUpgradeNanos;
        QuicChannel quic;
        CompletableFuture<QuicChannel> connecting;

        Peer(NodeKey key) {
            this.key = key;
            this.weAreClient = identity.nodeKey().compareTo(key) < 0;
        }

        Sock sock() {
            return weAreClient ? client : server;
        }

        boolean trusted(long now) {
            return best != null && now - lastPongNanos < TRUST_DURATION.toNanos();
        }

        boolean direct(long now) {
            return trusted(now) && quic != null && quic.isActive();
        }
    }

    /**
     * @param acceptsPeer which peers may start disco with us through the relay (the agent: peers it
     *     forwards to, or that some exposed service could admit); others are dropped unanswered
     * @param gate the one inbound chokepoint: every QUIC stream a peer opens goes there
     */
    public DirectManager(NodeIdentity identity, NodeVerifier verifier, EventLoopGroup group, Class<? extends DatagramChannel> channelType,
            Signalling signalling, Supplier<List<InetSocketAddress>> stunServers, Predicate<NodeKey> acceptsPeer,
            Consumer<InboundStream> gate, InetSocketAddress serverBind, InetSocketAddress clientBind) {
        this.identity = identity;
        this.verifier = verifier;
        this.group = group;
        this.loop = group.next();
        this.channelType = channelType;
        this.signalling = signalling;
        this.stunServers = stunServers;
        this.acceptsPeer = acceptsPeer;
        this.gate = gate;
        this.serverBind = serverBind;
        this.clientBind = clientBind;
        for (DiscoDropReason r : DiscoDropReason.values()) {
            drops.put(r, new LongAdder());
        }
        this.box = new DiscoBox(identity, k -> peers.containsKey(k) || acceptsPeer.test(k));
    }

    public DirectPath path() {
        return path;
    }

    public boolean isRunning() {
        return running;
    }

    /** Called with (peer, direct) whenever a peer's path changes between direct and relayed. */
    public void addPathListener(BiConsumer<NodeKey, Boolean> l) {
        pathListeners.add(l);
    }

    /** Binds both sockets and starts endpoint discovery. */
    public void start() throws IOException {
        NodeVerifier handshakeVerifier = NodeVerifier.builder().trustCas(verifier.caCertificates()).acceptAnySelfSigned(true)
                .clock(verifier.clock()).build();
        QuicSslContext serverTls = DirectTls.server(identity, handshakeVerifier);
        ChannelHandler serverCodec = new QuicServerCodecBuilder()
                .sslContext(serverTls)
                .maxIdleTimeout(QUIC_IDLE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .initialMaxData(16 << 20)
                .initialMaxStreamDataBidirectionalLocal(2 << 20)
                .initialMaxStreamDataBidirectionalRemote(2 << 20)
                .initialMaxStreamsBidirectional(256)
                .tokenHandler(InsecureQuicTokenHandler.INSTANCE)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        serverConnectionUp((QuicChannel) ctx.channel());
                        ctx.fireChannelActive();
                    }
                })
                .streamHandler(new InboundStreamInit(null))
                .build();
        server = new Sock(true);
        client = new Sock(false);
        bind(server, serverBind, serverCodec);
        bind(client, clientBind, clientCodec());
        for (Sock s : List.of(server, client)) {
            s.discovery = new EndpointDiscovery(s.stun, ((InetSocketAddress) s.channel.localAddress()).getPort(), stunServers, loop,
                    eps -> log.info("{} socket endpoints: {}", s.serverRole ? "server" : "client", eps));
            s.discovery.start();
        }
        running = true;
        ticker = loop.scheduleAtFixedRate(this::tick, PUNCH_INTERVAL.toMillis(), PUNCH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        log.info("direct path sockets: server {}, client {}", server.channel.localAddress(), client.channel.localAddress());
    }

    private ChannelHandler clientCodec() {
        return new QuicClientCodecBuilder()
                // TLS is per connection: the server must be exactly the peer we punched with
                .sslEngineProvider(ch -> (io.netty.handler.codec.quic.QuicSslEngine) clientTls(ch.attr(EXPECTED_PEER).get())
                        .newEngine(ch.alloc()))
                .maxIdleTimeout(QUIC_IDLE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .initialMaxData(16 << 20)
                .initialMaxStreamDataBidirectionalLocal(2 << 20)
                .initialMaxStreamDataBidirectionalRemote(2 << 20)
                .initialMaxStreamsBidirectional(256)
                .build();
    }

    private void bind(Sock s, InetSocketAddress at, ChannelHandler codec) throws IOException {
        Bootstrap b = new Bootstrap().group(loop).channel(channelType)
                .option(ChannelOption.SO_RCVBUF, 1 << 21)
                .option(ChannelOption.SO_SNDBUF, 1 << 21)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        s.stun = StunClient.attach(ch, RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(3)), StunMetrics.NOOP);
                        ch.pipeline().addLast(new StunDemuxHandler(s.stun));
                        ch.pipeline().addLast(new DiscoDemux(s));
                        ch.pipeline().addLast(codec);
                    }
                });
        var f = b.bind(at).awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new IOException("cannot bind direct-path UDP socket " + at + ": " + f.cause().getMessage(), f.cause());
        }
        s.channel = f.channel();
    }

    /** Passes disco datagrams to the manager; everything else on to QUIC. */
    private final class DiscoDemux extends ChannelInboundHandlerAdapter {
        private final Sock sock;

        DiscoDemux(Sock sock) {
            this.sock = sock;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket p && DiscoCodec.looksLikeDisco(p.content())) {
                try {
                    receiveDirect(sock, p.content(), p.sender());
                } catch (RuntimeException e) {
                    log.debug("disco datagram failed", e);
                } finally {
                    p.release();
                }
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }

    // ---- public entry points (any thread) ----

    /** The dialer wants a direct path to {@code peer}: announce candidates through the relay and punch. */
    public void want(NodeKey peer) {
        loop.execute(() -> {
            Peer p = peer(peer);
            if (p == null) {
                return;
            }
            long now = System.nanoTime();
            p.activeUntilNanos = now + ACTIVE_DURATION.toNanos();
            if (!p.trusted(now) && now - p.lastUpgradeNanos > UPGRADE_INTERVAL.toNanos()) {
                upgrade(p, now);
            }
        });
    }

    /** Whether new streams to {@code peer} should go direct now. */
    public boolean hasDirect(NodeKey peer) {
        DirectPeerStatus s = statusView.get(peer);
        return s != null && s.direct();
    }

    public Optional<DirectPeerStatus> status(NodeKey peer) {
        return Optional.ofNullable(statusView.get(peer));
    }

    public List<DirectPeerStatus> statuses() {
        return List.copyOf(statusView.values());
    }

    /** Our candidates for {@code peer} (the socket of our role in that pair). */
    public CompletableFuture<List<InetSocketAddress>> endpointsFor(NodeKey peer) {
        CompletableFuture<List<InetSocketAddress>> f = new CompletableFuture<>();
        loop.execute(() -> f.complete((identity.nodeKey().compareTo(peer) < 0 ? client : server).endpoints()));
        return f;
    }

    /** A datagram that came through the relay (authenticated source). Returns true when it was disco (and consumed). */
    public boolean receiveFromRelay(NodeKey source, ByteBuf payload) {
        if (!DiscoCodec.looksLikeDisco(payload)) {
            return false;
        }
        ByteBuf copy = payload.retainedDuplicate();
        loop.execute(() -> {
            try {
                DiscoBox.Result r = box.open(copy);
                if (r.opened() == null) {
                    drops.get(r.dropped()).increment();
                    return;
                }
                if (!r.opened().sender().equals(source)) {
                    drops.get(DiscoDropReason.UNKNOWN_SENDER).increment();
                    return;
                }
                Peer p = peer(source);
                if (p != null) {
                    handle(p, r.opened().message(), null, null);
                }
            } finally {
                copy.release();
            }
        });
        return true;
    }

    /** Opens a QUIC stream to {@code service} on {@code peer} (the channel has auto-read off). */
    public CompletableFuture<Channel> openStream(NodeKey peer, String service) {
        CompletableFuture<Channel> result = new CompletableFuture<>();
        loop.execute(() -> {
            Peer p = peers.get(peer);
            long now = System.nanoTime();
            if (p == null || !p.direct(now)) {
                result.completeExceptionally(new IOException("no direct path to " + peer.shortId()));
                return;
            }
            p.activeUntilNanos = now + ACTIVE_DURATION.toNanos();
            p.quic.newStreamBootstrap().type(QuicStreamType.BIDIRECTIONAL)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new ChannelInboundHandlerAdapter())
                    .create().addListener(f -> {
                        if (!f.isSuccess()) {
                            result.completeExceptionally(f.cause());
                            return;
                        }
                        QuicStreamChannel s = (QuicStreamChannel) f.getNow();
                        s.writeAndFlush(DirectStreamHeader.encode(service, s.alloc())).addListener(w -> {
                            if (w.isSuccess()) {
                                result.complete(s);
                            } else {
                                s.close();
                                result.completeExceptionally(w.cause());
                            }
                        });
                    });
        });
        return result;
    }

    // ---- event loop ----

    private Peer peer(NodeKey key) {
        Peer p = peers.get(key);
        if (p == null) {
            if (peers.size() >= MAX_PEERS || key.equals(identity.nodeKey())) {
                return null;
            }
            p = new Peer(key);
            peers.put(key, p);
        }
        return p;
    }

    private void upgrade(Peer p, long now) {
        p.lastUpgradeNanos = now;
        sendCallMeMaybe(p, now);
        p.punchUntilNanos = now + PUNCH_DURATION.toNanos();
        punch(p, now);
    }

    private void sendCallMeMaybe(Peer p, long now) {
        if (now - p.lastCallMeMaybeNanos < CALL_ME_MAYBE_MIN_INTERVAL.toNanos()) {
            return;
        }
        List<InetSocketAddress> eps = p.sock().endpoints();
        if (eps.isEmpty()) {
            return; // discovery not done yet; the next tick's upgrade retries
        }
        p.lastCallMeMaybeNanos = now;
        boolean sent = signalling.send(p.key, box.seal(p.key, new DiscoMessage.CallMeMaybe(eps), p.sock().channel.alloc()));
        log.info("call-me-maybe to {} with {} candidates{}", p.key.shortId(), eps.size(), sent ? "" : ": dropped (relay not connected or busy)");
    }

    private void punch(Peer p, long now) {
        p.lastPunchNanos = now;
        for (InetSocketAddress c : p.candidates) {
            ping(p, c, now);
        }
    }

    private void ping(Peer p, InetSocketAddress to, long now) {
        if (p.pending.size() >= MAX_PENDING_PINGS) {
            return;
        }
        byte[] tx = new byte[DiscoLimits.TX_ID_LENGTH];
        random.nextBytes(tx);
        p.pending.put(new TxKey(tx), new Pending(to, now));
        Sock s = p.sock();
        s.channel.writeAndFlush(new DatagramPacket(box.seal(p.key, new DiscoMessage.Ping(tx, PING_PADDING), s.channel.alloc()), to));
        pingsSent.increment();
    }

    private void receiveDirect(Sock sock, ByteBuf content, InetSocketAddress from) {
        DiscoBox.Result r = box.open(content);
        if (r.opened() == null) {
            drops.get(r.dropped()).increment();
            return;
        }
        Peer p = peers.get(r.opened().sender());
        if (p == null) {
            // direct disco only from peers we already signal with through the relay
            drops.get(DiscoDropReason.UNKNOWN_SENDER).increment();
            return;
        }
        handle(p, r.opened().message(), sock, from);
    }

    private void handle(Peer p, DiscoMessage m, Sock sock, InetSocketAddress from) {
        long now = System.nanoTime();
        switch (m) {
            case DiscoMessage.Ping ping -> {
                if (sock == null) {
                    return; // pings only make sense directly
                }
                int pingBytes = DiscoLimits.HEADER_LENGTH + DiscoCodec.encodeMessage(ping).length + DiscoLimits.TAG_LENGTH;
                ByteBuf pong = box.seal(p.key, new DiscoMessage.Pong(ping.txId(), from), sock.channel.alloc());
                if (pong.readableBytes() > 3 * pingBytes) {
                    pong.release(); // anti-amplification towards an unvalidated address
                    return;
                }
                sock.channel.writeAndFlush(new DatagramPacket(pong, from));
                pongsSent.increment();
                if (p.candidates.size() < MAX_CANDIDATES && p.candidates.add(from) && !p.trusted(now)) {
                    ping(p, from, now); // peer-reflexive candidate: check it from our side too
                }
            }
            case DiscoMessage.Pong pong -> {
                Pending pending = p.pending.remove(new TxKey(pong.txId()));
                if (pending == null || sock == null || !pending.to().equals(from)) {
                    drops.get(DiscoDropReason.UNKNOWN_TRANSACTION).increment();
                    return;
                }
                long rtt = now - pending.sentNanos();
                boolean wasDirect = p.direct(now);
                if (p.best == null || !p.trusted(now) || from.equals(p.best) || rtt < p.bestRttNanos * BETTER_RTT_FACTOR) {
                    if (!from.equals(p.best)) {
                        log.info("direct path to {} via {} (rtt {} ms)", p.key.shortId(), from, String.format("%.1f", rtt / 1e6));
                    }
                    p.best = from;
                    p.bestRttNanos = rtt;
                    p.lastPongNanos = now;
                }
                if (p.punchUntilNanos > now + 1_000_000_000L) {
                    p.punchUntilNanos = now + 1_000_000_000L; // one more second to find a faster candidate
                }
                ensureQuic(p);
                publish(p, now, wasDirect);
            }
            case DiscoMessage.CallMeMaybe cmm -> {
                if (sock != null) {
                    return; // only accepted through the relay, where the sender is authenticated twice
                }
                p.candidates.clear();
                p.candidates.addAll(cmm.endpoints());
                log.info("call-me-maybe from {}: punching {}", p.key.shortId(), cmm.endpoints());
                p.activeUntilNanos = Math.max(p.activeUntilNanos, now + ACTIVE_DURATION.toNanos());
                sendCallMeMaybe(p, now); // let the other side punch towards us too
                p.punchUntilNanos = now + PUNCH_DURATION.toNanos();
                p.lastUpgradeNanos = now;
                punch(p, now);
            }
            case DiscoMessage.Unknown u -> {
                // a later version's message: ignored
            }
        }
    }

    private void tick() {
        long now = System.nanoTime();
        for (Iterator<Peer> it = peers.values().iterator(); it.hasNext(); ) {
            Peer p = it.next();
            boolean wasDirect = p.direct(now) ;
            p.pending.values().removeIf(x -> now - x.sentNanos() > PING_TIMEOUT.toNanos());
            if (now < p.punchUntilNanos && now - p.lastPunchNanos >= PUNCH_INTERVAL.toNanos() - 20_000_000L) {
                punch(p, now);
            }
            if (p.best != null && now - p.lastHeartbeatNanos >= HEARTBEAT_INTERVAL.toNanos()) {
                p.lastHeartbeatNanos = now;
                ping(p, p.best, now);
            }
            if (p.best != null && !p.trusted(now)) {
                log.info("direct path to {} via {} lost (no pong for {} ms); new streams use the relay", p.key.shortId(), p.best,
                        TRUST_DURATION.toMillis());
                p.best = null;
            }
            boolean active = now < p.activeUntilNanos;
            if (active && !p.trusted(now) && now - p.lastUpgradeNanos >= UPGRADE_INTERVAL.toNanos()) {
                upgrade(p, now);
            }
            if (p.trusted(now)) {
                ensureQuic(p);
            }
            publish(p, now, wasDirect);
            if (!active && p.best == null && p.quic == null && p.pending.isEmpty() && now > p.punchUntilNanos) {
                statusView.remove(p.key);
                it.remove();
            }
        }
    }

    private void publish(Peer p, long now, boolean wasDirect) {
        boolean direct = p.direct(now);
        statusView.put(p.key, new DirectPeerStatus(p.key.nodeId(), direct, p.best, p.best == null ? null : p.bestRttNanos / 1e6));
        if (direct != wasDirect) {
            for (var l : pathListeners) {
                l.accept(p.key, direct);
            }
        }
    }

    private void ensureQuic(Peer p) {
        if (!p.weAreClient || (p.quic != null && p.quic.isActive()) || p.connecting != null || p.best == null) {
            return;
        }
        InetSocketAddress to = p.best;
        CompletableFuture<QuicChannel> cf = new CompletableFuture<>();
        p.connecting = cf;
        Channel[] attempt = new Channel[1];
        ScheduledFuture<?> deadline = loop.schedule(() -> {
            if (p.connecting == cf) {
                log.info("QUIC handshake with {} at {} did not finish within {} s; retrying", p.key.shortId(), to,
                        QUIC_CONNECT_TIMEOUT.toSeconds());
                p.connecting = null;
                if (attempt[0] != null) {
                    attempt[0].close();
                }
            }
        }, QUIC_CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        var connect = QuicChannel.newBootstrap(client.channel)
                .attr(EXPECTED_PEER, p.key)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        attempt[0] = ctx.channel();
                    }
                })
                .streamHandler(new InboundStreamInit(p.key))
                .remoteAddress(to)
                .connect();
        connect.addListener(f -> loop.execute(() -> {
                    deadline.cancel(false);
                    if (p.connecting == cf) {
                        p.connecting = null;
                    }
                    if (!f.isSuccess()) {
                        log.info("QUIC connection to {} at {} failed: {}", p.key.shortId(), to, f.cause().toString());
                        return;
                    }
                    QuicChannel qc = (QuicChannel) f.getNow();
                    if (p.quic != null && p.quic != qc && p.quic.isActive()) {
                        qc.close(); // a late duplicate
                        return;
                    }
                    try {
                        VerifiedPeer vp = NodeTls.verifiedPeer(qc.sslEngine().getSession(), verifier, p.key);
                        log.info("QUIC connection to {} at {} up", vp.nodeKey().shortId(), to);
                    } catch (Exception e) {
                        log.warn("QUIC peer at {} did not verify as {}: {}", to, p.key.shortId(), e.getMessage());
                        qc.close();
                        return;
                    }
                    p.quic = qc;
                    qc.closeFuture().addListener(c -> loop.execute(() -> {
                        if (p.quic == qc) {
                            p.quic = null;
                            publish(p, System.nanoTime(), true);
                        }
                    }));
                    publish(p, System.nanoTime(), false);
                }));
    }

    /** A QUIC connection accepted on the server socket: it must be a verified peer we are punching with. */
    private void serverConnectionUp(QuicChannel qc) {
        VerifiedPeer vp;
        try {
            vp = NodeTls.verifiedPeer(qc.sslEngine().getSession(), verifier, null);
        } catch (Exception e) {
            // self-signed peers are judged against their own key, which only disco tells us
            vp = null;
        }
        NodeKey key = vp != null ? vp.nodeKey() : selfSignedKey(qc);
        Peer p = key == null ? null : peers.get(key);
        if (p == null || p.weAreClient) {
            log.debug("QUIC connection from {} refused: not a peer we punched with", qc.remoteSocketAddress());
            qc.close();
            return;
        }
        qc.attr(PEER_KEY).set(p.key);
        QuicChannel old = p.quic;
        p.quic = qc;
        if (old != null && old != qc) {
            old.close();
        }
        qc.closeFuture().addListener(c -> loop.execute(() -> {
            if (p.quic == qc) {
                p.quic = null;
                publish(p, System.nanoTime(), true);
            }
        }));
        log.info("QUIC connection from {} at {} up", p.key.shortId(), qc.remoteSocketAddress());
        publish(p, System.nanoTime(), false);
    }

    private static final io.netty.util.AttributeKey<NodeKey> EXPECTED_PEER = io.netty.util.AttributeKey.valueOf("burrow.direct.expected");
    private final Map<NodeKey, QuicSslContext> clientContexts = new ConcurrentHashMap<>();

    private QuicSslContext clientTls(NodeKey expected) {
        if (clientContexts.size() > MAX_PEERS) {
            clientContexts.clear();
        }
        return clientContexts.computeIfAbsent(expected, k -> DirectTls.client(identity, verifier, k));
    }

    private static final io.netty.util.AttributeKey<NodeKey> PEER_KEY = io.netty.util.AttributeKey.valueOf("burrow.direct.peer");

    /** The key of a self-signed peer certificate, verified strictly against itself (NodeVerifier with that key expected). */
    private NodeKey selfSignedKey(QuicChannel qc) {
        try {
            var certs = qc.sslEngine().getSession().getPeerCertificates();
            var leaf = dev.burrow.identity.NodeCertificate.parse((java.security.cert.X509Certificate) certs[0]);
            NodeKey claimed = leaf.nodeKey();
            if (!peers.containsKey(claimed)) {
                return null;
            }
            return NodeTls.verifiedPeer(qc.sslEngine().getSession(), verifier, claimed).nodeKey();
        } catch (Exception e) {
            return null;
        }
    }

    /**
     * Added to every stream the remote opens on a connection (one instance for all of them, hence
     * sharable): puts a {@link DirectStreamAcceptor} in front, for the connection's verified peer
     * ({@code clientSidePeer} on our outgoing connections, the connection's attribute on accepted ones).
     */
    @ChannelHandler.Sharable
    private final class InboundStreamInit extends ChannelInboundHandlerAdapter {
        private final NodeKey clientSidePeer;

        InboundStreamInit(NodeKey clientSidePeer) {
            this.clientSidePeer = clientSidePeer;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            QuicStreamChannel s = (QuicStreamChannel) ctx.channel();
            ctx.pipeline().remove(this);
            if (clientSidePeer != null) {
                s.pipeline().addFirst(new DirectStreamAcceptor(clientSidePeer, gate));
            } else {
                inboundStream(s);
            }
        }
    }

    /** A stream the remote opened on a server-side connection. */
    private void inboundStream(QuicStreamChannel s) {
        NodeKey key = s.parent().attr(PEER_KEY).get();
        if (key == null) {
            s.close();
            return;
        }
        s.pipeline().addFirst(new DirectStreamAcceptor(key, gate));
    }

    @Override
    public void close() {
        running = false;
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                if (ticker != null) {
                    ticker.cancel(false);
                }
                for (Peer p : peers.values()) {
                    if (p.quic != null) {
                        p.quic.close();
                    }
                }
                peers.clear();
                statusView.clear();
                for (Sock s : new Sock[] {server, client}) {
                    if (s == null) {
                        continue;
                    }
                    if (s.discovery != null) {
                        s.discovery.close();
                    }
                    if (s.stun != null) {
                        s.stun.close();
                    }
                    if (s.channel != null) {
                        s.channel.close();
                    }
                }
            } finally {
                done.complete(null);
            }
        });
        done.orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null).join();
    }

    /** Tests: the bound address of the socket used towards {@code peer}. */
    InetSocketAddress localAddressFor(NodeKey peer) {
        return (InetSocketAddress) (identity.nodeKey().compareTo(peer) < 0 ? client : server).channel.localAddress();
    }

    /** Tests and status: every drop counter. */
    public Map<DiscoDropReason, Long> dropCounts() {
        Map<DiscoDropReason, Long> m = new EnumMap<>(DiscoDropReason.class);
        drops.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    static List<InetSocketAddress> addresses(List<Endpoint> eps) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Endpoint e : eps) {
            out.add(e.address());
        }
        return out;
    }
}
