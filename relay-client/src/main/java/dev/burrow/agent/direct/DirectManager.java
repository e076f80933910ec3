package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoBox;
import dev.burrow.agent.disco.DiscoCodec;
import dev.burrow.agent.disco.DiscoDropReason;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
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
 * {@link DirectLimits#PUNCH_INTERVAL} for {@link DirectLimits#PUNCH_DURATION}. Each pong proves a path; the lowest round
 * trip wins. A verified path is kept with heartbeats every {@link DirectLimits#HEARTBEAT_INTERVAL}; without a
 * pong for {@link DirectLimits#TRUST_DURATION} it is dropped and new streams use the relay, and while the peer
 * is active an upgrade is retried every {@link DirectLimits#UPGRADE_INTERVAL}.
 *
 * <h2>Warm-up</h2>
 * Peers in the {@link #setWarm warm set} (the agent: the peers its forwards name, see {@link
 * PeerWarmer}) are upgraded as soon as they join it and kept with heartbeats while they stay, so a
 * forward's first connection can already go direct; a peer that leaves the set is released.
 * Relay notices steer the retries: PEER_GONE holds upgrades to that peer, PEER_PRESENT resumes them.
 *
 * <h2>Parts</h2>
 * This class is the facade and owns the lifecycle. {@link DirectSockets} holds the two
 * {@link DirectSocket}s, each with its own {@link CandidateSource}s (endpoint discovery);
 * {@link DirectPeers} the per-peer state ({@link DirectPeer}) and the status others see;
 * {@link DiscoExchange} the disco packets; {@link PunchScheduler} when to ping what; and
 * {@link QuicConnections} the QUIC codecs, connections and streams.
 *
 * <p>Everything runs on one event loop (the sockets' loop); public methods hop onto it.
 */
public final class DirectManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    /** Where signalling goes when it cannot go direct: the relay's keyed datagrams. */
    @FunctionalInterface
    public interface Signalling {
        /** Sends {@code packet} (ownership passes) to {@code peer}; false when it was dropped. */
        boolean send(NodeKey peer, ByteBuf packet);
    }

    /** Counters (status and tests). */
    public final Map<DiscoDropReason, LongAdder> drops;

    public final LongAdder pingsSent;
    /** QUIC keepalive datagrams sent (see {@link QuicConnections#QUIC_KEEPALIVE_INTERVAL}). */
    public final LongAdder quicKeepalivesSent;
    /** QUIC connections closed because the peer went silent while we sent (see {@link QuicLiveness}). */
    public final LongAdder quicDeadPeerCloses;

    public final LongAdder pongsSent;
    /** Candidates a peer announced that we do not ping (IPv6 without IPv6 here, link-local, multicast). */
    public final LongAdder candidatesIgnored;

    // Final after construction.
    private final NodeIdentity identity;
    private final EventLoop loop;
    private final Class<? extends DatagramChannel> channelType;
    private final Supplier<List<InetSocketAddress>> stunServers;
    private final InetSocketAddress serverBind;
    private final InetSocketAddress clientBind;
    private final DirectPath path = new DirectPath(this);
    private final DirectSockets sockets = new DirectSockets();
    private final DirectPeers peers;
    private final QuicConnections quic;
    private final DiscoExchange disco;
    private final PunchScheduler punch;
    private final HardNatSpray spray;

    // Any thread.
    private volatile boolean running;
    /** Loops only the direct sockets use (their own epoll loop), shut down on {@link #close}; or null. */
    private volatile EventLoopGroup ownLoops;
    /** agent.yaml's {@code direct.port-mapping}; set before {@link #start}. */
    private volatile boolean portMapping = true;

    // Owned by the event loop.
    private ScheduledFuture<?> ticker;

    /**
     * @param acceptsPeer which peers may start disco with us through the relay (the agent: peers it
     *     forwards to, or that some exposed service could admit); others are dropped unanswered
     * @param gate the one inbound chokepoint: every QUIC stream a peer opens goes there
     */
    public DirectManager(
            NodeIdentity identity,
            NodeVerifier verifier,
            EventLoopGroup group,
            Class<? extends DatagramChannel> channelType,
            Signalling signalling,
            Supplier<List<InetSocketAddress>> stunServers,
            Predicate<NodeKey> acceptsPeer,
            Consumer<InboundStream> gate,
            InetSocketAddress serverBind,
            InetSocketAddress clientBind) {
        this(
                identity,
                verifier,
                group,
                channelType,
                signalling,
                stunServers,
                acceptsPeer,
                gate,
                serverBind,
                clientBind,
                null);
    }

    /**
     * @param targetLoops where the gate registers the target sockets of inbound direct streams when
     *     {@code group} is of another I/O type than the agent's TCP sockets (the direct sockets on
     *     their own epoll loop for segmentation offload); null when {@code group} can host them
     */
    public DirectManager(
            NodeIdentity identity,
            NodeVerifier verifier,
            EventLoopGroup group,
            Class<? extends DatagramChannel> channelType,
            Signalling signalling,
            Supplier<List<InetSocketAddress>> stunServers,
            Predicate<NodeKey> acceptsPeer,
            Consumer<InboundStream> gate,
            InetSocketAddress serverBind,
            InetSocketAddress clientBind,
            EventLoopGroup targetLoops) {
        this.identity = identity;
        this.loop = group.next();
        this.channelType = channelType;
        this.stunServers = stunServers;
        this.serverBind = serverBind;
        this.clientBind = clientBind;
        this.peers = new DirectPeers(identity.nodeKey(), sockets);
        DiscoBox box = new DiscoBox(identity, k -> peers.contains(k) || acceptsPeer.test(k));
        this.quic = new QuicConnections(identity, verifier, loop, peers, sockets, gate, channelType, targetLoops);
        this.quicKeepalivesSent = quic.keepalivesSent;
        this.quicDeadPeerCloses = quic.liveness.deadPeerCloses;
        this.disco = new DiscoExchange(box, signalling, peers, new DiscoEvents());
        this.spray = new HardNatSpray(loop, new SprayIo(), p -> DiscoExchange.ownMapping(p.sock()));
        this.punch = new PunchScheduler(disco, peers, quic, spray);
        this.drops = disco.drops;
        this.pingsSent = disco.pingsSent;
        this.pongsSent = disco.pongsSent;
        this.candidatesIgnored = disco.candidatesIgnored;
    }

    /** Disco's news goes to the punch schedule. */
    private final class DiscoEvents implements DiscoExchange.Events {
        @Override
        public void pathProven(DirectPeer p, InetSocketAddress from, long rttNanos, long now) {
            punch.pathProven(p, from, rttNanos, now);
        }

        @Override
        public void callMeMaybe(DirectPeer p, List<InetSocketAddress> endpoints, long now) {
            punch.callMeMaybe(p, endpoints, now);
        }

        @Override
        public void directPing(DirectPeer p, DirectSocket sock, InetSocketAddress from, long now) {
            spray.directPing(p, sock, from, now);
        }
    }

    /** What a spray does with sockets and disco. */
    private final class SprayIo implements HardNatSpray.Io {
        @Override
        public void probe(DirectPeer p, DirectSocket s, InetSocketAddress to) {
            disco.probe(p, s, to);
        }

        @Override
        public void ping(DirectPeer p, InetSocketAddress to) {
            disco.ping(p, to, System.nanoTime());
        }

        @Override
        public io.netty.channel.ChannelFuture bind(DirectSocket s) {
            InetSocketAddress at = s.serverRole ? serverBind : clientBind;
            // Sprays aim at IPv4 public addresses only: a wildcard bind (the dual-stack "::" of the
            // role sockets, which fails where the host has no IPv6) becomes IPv4's.
            InetSocketAddress bindAt = at.getAddress().isAnyLocalAddress()
                    ? new InetSocketAddress("0.0.0.0", 0)
                    : new InetSocketAddress(at.getAddress(), 0);
            return s.bindSpray(loop, channelType, bindAt, disco::receiveDirect);
        }

        @Override
        public io.netty.channel.ChannelHandler codec(boolean serverRole) {
            return serverRole ? quic.serverCodec() : quic.clientCodec();
        }
    }

    /** How our NAT maps the direct sockets ({@code endpoint_independent}, {@code endpoint_dependent}, {@code no_udp}, {@code unknown}). */
    public String natMapping() {
        if (!running) {
            return "unknown";
        }
        return DiscoExchange.ownMapping(sockets.server).name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The port mapping of each direct socket; empty before start. */
    public List<PortMappingView> portMappings() {
        if (!running) {
            return List.of();
        }
        List<PortMappingView> out = new java.util.ArrayList<>();
        for (DirectSocket s : List.of(sockets.server, sockets.client)) {
            var pm = s.portMapping();
            out.add(new PortMappingView(
                    s.serverRole ? "server" : "client",
                    pm == null ? null : pm.held().orElse(null),
                    pm == null
                            ? "off (BURROW_PORTMAP=off, port-mapping: false, or no IPv4 default gateway)"
                            : pm.status()));
        }
        return out;
    }

    /** Spray counters: packets sent by sprays, sockets they opened, and how sprays ended. */
    public SprayCounts sprayCounts() {
        Map<String, Long> outcomes = new java.util.LinkedHashMap<>();
        spray.outcomes.forEach((k, v) -> outcomes.put(k.name().toLowerCase(java.util.Locale.ROOT), v.sum()));
        return new SprayCounts(spray.packetsSent.sum(), spray.socketsOpened.sum(), outcomes);
    }

    public DirectPath path() {
        return path;
    }

    public boolean isRunning() {
        return running;
    }

    /** Called with (peer, direct) whenever a peer's path changes between direct and relayed. */
    public void addPathListener(BiConsumer<NodeKey, Boolean> l) {
        peers.addPathListener(l);
    }

    /** Before {@link #start}: whether to ask the gateway for port mappings (agent.yaml; {@code BURROW_PORTMAP} overrides). */
    public DirectManager portMapping(boolean on) {
        this.portMapping = on;
        return this;
    }

    /** Binds both sockets and starts endpoint discovery. */
    public void start() throws IOException {
        DirectSocket.Receiver receiver = disco::receiveDirect;
        sockets.server.bind(loop, channelType, serverBind, quic::serverCodec, receiver);
        sockets.client.bind(loop, channelType, clientBind, quic::clientCodec, receiver);
        for (DirectSocket s : List.of(sockets.server, sockets.client)) {
            s.startDiscovery(stunServers, loop, portMapping);
        }
        running = true;
        ticker = loop.scheduleAtFixedRate(
                () -> punch.tick(System.nanoTime()),
                DirectLimits.PUNCH_INTERVAL.toMillis(),
                DirectLimits.PUNCH_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
        log.info(
                "direct path sockets: server {}, client {}",
                sockets.server.channel().localAddress(),
                sockets.client.channel().localAddress());
    }

    // ---- public entry points (any thread) ----

    /** The dialer wants a direct path to {@code peer}: announce candidates through the relay and punch. */
    public void want(NodeKey peer) {
        loop.execute(() -> {
            DirectPeer p = peers.getOrCreate(peer);
            if (p == null) {
                return;
            }
            punch.want(p, System.nanoTime());
        });
    }

    /**
     * The peers to keep a direct path ready for (the agent: the peers its forwards name), replacing
     * the previous set. Peers new to the set are upgraded at once; peers that left it get no more
     * heartbeats unless a stream used them recently, and are released (see {@link PunchScheduler#cool}).
     * The caller bounds the set (the agent: {@link PeerWarmer#MAX_WARM_PEERS}).
     */
    public void setWarm(Set<NodeKey> keys) {
        Set<NodeKey> copy = Set.copyOf(keys);
        loop.execute(() -> {
            long now = System.nanoTime();
            for (DirectPeer p : peers.all()) {
                if (p.warm && !copy.contains(p.key)) {
                    log.info("direct path to {}: no forward names it any more; releasing it", p.key.shortId());
                    punch.cool(p);
                }
            }
            for (NodeKey k : copy) {
                DirectPeer p = peers.getOrCreate(k);
                if (p != null && !p.warm) {
                    log.info("direct path to {}: a forward names it; warming up", k.shortId());
                    punch.warm(p, now);
                }
            }
        });
    }

    /** The peers currently kept warm (status, tests). */
    /**
     * Tests: closes the QUIC connection to {@code peer} (as an idle timeout or a peer restart would);
     * completes once it is closed. The path itself stays, so the QUIC client side reconnects.
     */
    CompletableFuture<Void> closeQuic(NodeKey peer) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        loop.execute(() -> {
            DirectPeer p = peers.get(peer);
            if (p == null || p.quic == null) {
                f.complete(null);
            } else {
                p.quic.close().addListener(c -> f.complete(null));
            }
        });
        return f;
    }

    public CompletableFuture<Set<NodeKey>> warmPeers() {
        CompletableFuture<Set<NodeKey>> f = new CompletableFuture<>();
        loop.execute(() -> f.complete(
                peers.all().stream().filter(p -> p.warm).map(p -> p.key).collect(Collectors.toUnmodifiableSet())));
        return f;
    }

    /** The relay says {@code peer} is not connected (PEER_GONE): upgrades to it wait, backing off. */
    public void peerGone(NodeKey peer) {
        loop.execute(() -> {
            DirectPeer p = peers.get(peer);
            if (p != null) {
                punch.peerGone(p, System.nanoTime());
            }
        });
    }

    /** The relay says {@code peer} is connected (PEER_PRESENT): a wanted peer without a path is upgraded now. */
    public void peerPresent(NodeKey peer) {
        loop.execute(() -> {
            DirectPeer p = peers.get(peer);
            if (p != null) {
                punch.peerPresent(p, System.nanoTime());
            }
        });
    }

    /** Our relay connection is up: call-me-maybes that could not go out before are sent now. */
    public void relayConnected() {
        loop.execute(() -> {
            long now = System.nanoTime();
            for (DirectPeer p : peers.all()) {
                punch.relayConnected(p, now);
            }
        });
    }

    /** Whether new streams to {@code peer} should go direct now. */
    public boolean hasDirect(NodeKey peer) {
        DirectPeerStatus s = peers.status(peer);
        return s != null && s.direct();
    }

    public Optional<DirectPeerStatus> status(NodeKey peer) {
        return Optional.ofNullable(peers.status(peer));
    }

    /** The endpoint disco proved for {@code peer}, while the pair is direct. */
    public Optional<InetSocketAddress> provenEndpoint(NodeKey peer) {
        return status(peer).filter(DirectPeerStatus::direct).map(DirectPeerStatus::endpoint);
    }

    public List<DirectPeerStatus> statuses() {
        return peers.statuses();
    }

    /** Our candidates for {@code peer} (the socket of our role in that pair). */
    public CompletableFuture<List<InetSocketAddress>> endpointsFor(NodeKey peer) {
        CompletableFuture<List<InetSocketAddress>> f = new CompletableFuture<>();
        loop.execute(() -> f.complete(
                sockets.forRole(identity.nodeKey().compareTo(peer) < 0).endpoints()));
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
                disco.receiveFromRelay(source, copy);
            } finally {
                copy.release();
            }
        });
        return true;
    }

    /** Receives QUIC datagrams (UDP services), with the connection's verified peer, on the direct loop. */
    public void setDatagramHandler(BiConsumer<NodeKey, ByteBuf> handler) {
        quic.datagrams = handler;
    }

    /** Sends one QUIC datagram to {@code peer} when a direct path is up; false (and released) otherwise. */
    public boolean sendDatagram(NodeKey peer, ByteBuf packet) {
        if (!hasDirect(peer)) {
            packet.release();
            return false;
        }
        loop.execute(() -> {
            DirectPeer p = peers.get(peer);
            if (p == null) {
                packet.release();
                return;
            }
            p.activeUntilNanos =
                    System.nanoTime() + DirectLimits.ACTIVE_DURATION.toNanos(); // traffic keeps the path warm
            quic.sendDatagram(p, packet);
        });
        return true;
    }

    /**
     * Streams to peers prefer {@code carrier} while it has a connection up ({@link DirectPath});
     * it is asked to connect whenever a warm peer's path turns direct.
     */
    public void carryStreamsOn(DirectPath.Carrier carrier) {
        path.carrier(carrier);
        peers.addPathListener((key, direct) -> {
            if (direct) {
                carrier.pathUp();
            }
            DirectPeer p = peers.get(key); // on the loop (DirectPeers#publish)
            if (direct && p != null && p.warm && p.best != null) {
                carrier.connect(key, p.best);
            }
        });
    }

    /** Gives back the TCP port numbers held beside the UDP sockets (a carrier listens there now, or none will). */
    public void releaseTcpPorts() {
        loop.execute(() -> List.of(sockets.server, sockets.client).forEach(DirectSocket::releaseTcpPort));
    }

    /** The local addresses of the direct UDP sockets (a carrier listens at the same ports). */
    public List<InetSocketAddress> socketAddresses() {
        List<InetSocketAddress> out = new java.util.ArrayList<>();
        for (DirectSocket s : List.of(sockets.server, sockets.client)) {
            if (s.channel() != null && s.channel().localAddress() instanceof InetSocketAddress a) {
                out.add(a);
            }
        }
        return out;
    }

    /** A stream to {@code peer} went another way (a carrier): it keeps the path warm as a QUIC stream would. */
    void noteActive(NodeKey peer) {
        loop.execute(() -> {
            DirectPeer p = peers.get(peer);
            if (p != null) {
                p.activeUntilNanos = System.nanoTime() + DirectLimits.ACTIVE_DURATION.toNanos();
            }
        });
    }

    /** Opens a QUIC stream to {@code service} on {@code peer} (the channel has auto-read off). */
    public CompletableFuture<Channel> openStream(NodeKey peer, String service) {
        CompletableFuture<Channel> result = new CompletableFuture<>();
        loop.execute(() -> {
            DirectPeer p = peers.get(peer);
            long now = System.nanoTime();
            if (p == null || !p.direct(now)) {
                result.completeExceptionally(new IOException("no direct path to " + peer.shortId()));
                return;
            }
            p.activeUntilNanos = now + DirectLimits.ACTIVE_DURATION.toNanos();
            quic.openStream(p, service, result);
        });
        return result;
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
                spray.close();
                for (DirectPeer p : peers.all()) {
                    if (p.quic != null) {
                        p.quic.close();
                    }
                    if (p.sprayed != null) {
                        p.sprayed.close();
                    }
                }
                peers.clear();
                sockets.server.close();
                sockets.client.close();
            } finally {
                done.complete(null);
            }
        });
        done.orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null).join();
        EventLoopGroup own = ownLoops;
        if (own != null) {
            own.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        }
    }

    /** Makes {@link #close} shut {@code loops} down too: the group created for the direct sockets alone. */
    void ownLoops(EventLoopGroup loops) {
        this.ownLoops = loops;
    }

    /** Tests: each socket announces exactly {@code candidates.apply(its port)} from now on (discovery stops). */
    void useOnlyCandidates(java.util.function.IntFunction<List<InetSocketAddress>> candidates) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            for (DirectSocket s : List.of(sockets.server, sockets.client)) {
                List<InetSocketAddress> fixed =
                        List.copyOf(candidates.apply(s.localAddress().getPort()));
                s.replaceSources(new CandidateSource() {
                    @Override
                    public List<InetSocketAddress> candidates() {
                        return fixed;
                    }

                    @Override
                    public void close() {}
                });
            }
            done.complete(null);
        });
        done.join();
    }

    /** Tests: whether the socket towards {@code peer} carries IPv6 too (bound dual-stack). */
    boolean dualStackFor(NodeKey peer) {
        return sockets.forRole(identity.nodeKey().compareTo(peer) < 0).ipv6();
    }

    /** Tests: the bound address of the socket used towards {@code peer}. */
    InetSocketAddress localAddressFor(NodeKey peer) {
        return sockets.forRole(identity.nodeKey().compareTo(peer) < 0).localAddress();
    }

    /** Tests and status: every drop counter. */
    public Map<DiscoDropReason, Long> dropCounts() {
        Map<DiscoDropReason, Long> m = new EnumMap<>(DiscoDropReason.class);
        drops.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }
}
