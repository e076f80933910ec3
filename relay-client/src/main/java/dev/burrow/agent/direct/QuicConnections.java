package dev.burrow.agent.direct;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.agent.service.TargetConnector;
import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.NodeTls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.handler.codec.quic.EpollQuicUtils;
import io.netty.handler.codec.quic.InsecureQuicTokenHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicChannelOption;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslEngine;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamLimitChangedEvent;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.handler.codec.quic.SegmentedDatagramPacketAllocator;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QUIC on the punched 5-tuple: the server and client codecs of the two sockets, the connection from
 * our client socket once a path is proven (we are the pair's client), accepting the connection on
 * our server socket (only from a verified peer we punch with), and streams both ways: outbound ones
 * start with a {@link DirectStreamHeader}, inbound ones go through a {@link DirectStreamAcceptor} to
 * the gate.
 */
final class QuicConnections {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    private static final AttributeKey<NodeKey> EXPECTED_PEER = AttributeKey.valueOf("burrow.direct.expected");
    private static final AttributeKey<NodeKey> PEER_KEY = AttributeKey.valueOf("burrow.direct.peer");

    // Final after construction.
    private final NodeIdentity identity;
    private final NodeVerifier verifier;
    private final EventLoop loop;
    /** Set on inbound streams as {@link TargetConnector#TARGET_LOOPS} (null: the stream's own loop). */
    private final EventLoopGroup targetLoops;

    private final DirectPeers peers;
    private final DirectSockets sockets;
    private final Consumer<InboundStream> gate;
    private final QuicTuning tuning = QuicTuning.fromEnvironment(System.getenv());
    /** UDP segmentation offload for sends (epoll sockets only), or null. */
    private final SegmentedDatagramPacketAllocator gso;

    // Any thread (the client codec asks from the sockets' loop): one TLS context per expected peer, bounded.
    private final Map<NodeKey, QuicSslContext> clientContexts = new ConcurrentHashMap<>();

    /**
     * QUIC idle timeout: well beyond the disco trust window, so an outage of a few tens of seconds
     * does not kill the streams on the connection. QUIC's probe timeouts back off exponentially
     * (probes about 1, 3, 7, 15, 31 s into an outage), and the idle timer counts from the last packet
     * received: with 30 s a 20 s outage killed the connection before the 31 s probe (measured in the
     * NAT lab), with 60 s that probe gets through.
     */
    static final Duration QUIC_IDLE_TIMEOUT = Duration.ofSeconds(60);

    /**
     * While the peer is wanted here and its QUIC connection carries no stream, one QUIC keepalive
     * datagram this often keeps both ends' idle timers from closing it: disco heartbeats travel
     * beside QUIC, not in it, so without this an idle direct path lost its connection after
     * {@link #QUIC_IDLE_TIMEOUT} and the next stream took the relay. A quarter of the idle timeout,
     * so two lost keepalives still leave time for a third.
     */
    static final Duration QUIC_KEEPALIVE_INTERVAL = QUIC_IDLE_TIMEOUT.dividedBy(4);

    /** A QUIC handshake that has not finished by then is abandoned and retried (quiche would wait for the idle timeout). */
    static final Duration QUIC_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    /** QUIC datagrams (RFC 9221) queued each way per connection; they carry sealed UDP-service packets. */
    static final int DATAGRAM_QUEUE = 256;

    /**
     * The one-byte QUIC datagram {@link #keepalive} sends: ack-eliciting, so both ends restart their
     * idle timers. UDP-service packets start with 0x8B, so a lone 0x00 is never one of them.
     */
    static final byte KEEPALIVE = 0x00;

    final LongAdder keepalivesSent = new LongAdder();

    /** Closes connections whose peer went silent while we send (see {@link QuicLiveness}). */
    final QuicLiveness liveness = new QuicLiveness();

    /** Receives each QUIC datagram with the connection's verified peer (on the loop; released after the call). */
    volatile BiConsumer<NodeKey, ByteBuf> datagrams = (k, b) -> {};

    QuicConnections(
            NodeIdentity identity,
            NodeVerifier verifier,
            EventLoop loop,
            DirectPeers peers,
            DirectSockets sockets,
            Consumer<InboundStream> gate,
            Class<? extends DatagramChannel> channelType,
            EventLoopGroup targetLoops) {
        this.targetLoops = targetLoops;
        this.identity = identity;
        this.verifier = verifier;
        this.loop = loop;
        this.peers = peers;
        this.sockets = sockets;
        this.gate = gate;
        this.gso = tuning.gsoSegments() > 0
                        && channelType == EpollDatagramChannel.class
                        && EpollDatagramChannel.isSegmentedDatagramPacketSupported()
                ? EpollQuicUtils.newSegmentedAllocator(tuning.gsoSegments())
                : null;
        log.debug("QUIC transport: {}{}", tuning, gso == null ? " (no GSO)" : "");
    }

    /** The server socket's codec: accepts connections from the peers we punch with. */
    ChannelHandler serverCodec() {
        QuicSslContext serverTls = DirectTls.server(identity, verifier.forHandshake());
        QuicServerCodecBuilder b = tuning.apply(new QuicServerCodecBuilder());
        if (gso != null) {
            b.option(QuicChannelOption.SEGMENTED_DATAGRAM_PACKET_ALLOCATOR, gso);
        }
        return b.sslContext(serverTls)
                .maxIdleTimeout(QUIC_IDLE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .initialMaxStreamsBidirectional(256)
                .datagram(DATAGRAM_QUEUE, DATAGRAM_QUEUE)
                .tokenHandler(InsecureQuicTokenHandler.INSTANCE)
                .handler(new ServerConnectionHandler())
                .streamHandler(new InboundStreamInit(null))
                .build();
    }

    /** The client socket's codec. */
    ChannelHandler clientCodec() {
        return tuning.apply(new QuicClientCodecBuilder())
                // TLS is per connection: the server must be exactly the peer we punched with
                .sslEngineProvider(ch ->
                        (QuicSslEngine) clientTls(ch.attr(EXPECTED_PEER).get()).newEngine(ch.alloc()))
                .maxIdleTimeout(QUIC_IDLE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .initialMaxStreamsBidirectional(256)
                .datagram(DATAGRAM_QUEUE, DATAGRAM_QUEUE)
                .build();
    }

    /**
     * Every accepted QUIC connection's handler: the codec adds this one instance to each connection,
     * so it must be sharable (a non-sharable one failed every connection after the first, and a
     * QUIC connection that closed never came back).
     */
    @ChannelHandler.Sharable
    private final class ServerConnectionHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            serverConnectionUp((QuicChannel) ctx.channel());
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            datagram(ctx, ctx.channel().attr(PEER_KEY).get(), msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            creditEvent(ctx, evt);
        }
    }

    /** New stream credit from the peer starts the streams waiting for it ({@link StreamCredit}). */
    private static void creditEvent(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof QuicStreamLimitChangedEvent) {
            StreamCredit.creditChanged((QuicChannel) ctx.channel());
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** A QUIC datagram (a ByteBuf) goes to the handler; anything else (new streams) on down the pipeline. */
    private void datagram(ChannelHandlerContext ctx, NodeKey peer, Object msg) {
        if (!(msg instanceof ByteBuf b)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (peer != null && !(b.readableBytes() == 1 && b.getByte(b.readerIndex()) == KEEPALIVE)) {
                datagrams.accept(peer, b);
            }
        } finally {
            b.release();
        }
    }

    /** On the loop: one keepalive datagram on {@code p}'s QUIC connection, when it is up. */
    void keepalive(DirectPeer p) {
        QuicChannel qc = p.quic;
        if (qc != null && qc.isActive()) {
            keepalivesSent.increment();
            qc.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {KEEPALIVE}));
        }
    }

    /** On the loop: one QUIC datagram to {@code p} (released when not sent). */
    boolean sendDatagram(DirectPeer p, ByteBuf packet) {
        QuicChannel qc = p.quic;
        if (qc == null || !qc.isActive()) {
            packet.release();
            return false;
        }
        qc.writeAndFlush(packet);
        return true;
    }

    /**
     * On the loop: opens a QUIC stream to {@code service} on {@code p}'s connection (auto-read off).
     * Nothing is sent yet: the stream carries the connection's TLS session
     * ({@link PeerPath#PATH_SESSION}, the peer it authenticated) and its {@link DirectStreamHeader}
     * ({@link PeerPath#STREAM_PREFIX}), which the dialer sends together with OPEN in one write.
     */
    void openStream(DirectPeer p, String service, CompletableFuture<Channel> result) {
        QuicChannel qc = p.quic;
        if (qc == null) {
            result.completeExceptionally(new IOException("no QUIC connection to " + p.key.shortId()));
            return;
        }
        qc.eventLoop()
                .execute(() -> StreamCredit.openWhenAllowed(
                        qc, () -> createStream(qc, service, result), result::completeExceptionally));
    }

    /** On the connection's loop, once the peer's credit allows it (unless the dialer gave up meanwhile). */
    private static void createStream(QuicChannel qc, String service, CompletableFuture<Channel> result) {
        if (result.isDone()) {
            return;
        }
        byte[] header = DirectStreamHeader.encodeBytes(service);
        qc.newStreamBootstrap()
                .type(QuicStreamType.BIDIRECTIONAL)
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInboundHandlerAdapter())
                .create()
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        result.completeExceptionally(f.cause());
                        return;
                    }
                    QuicStreamChannel s = (QuicStreamChannel) f.getNow();
                    s.attr(PeerPath.PATH_SESSION).set(qc.sslEngine().getSession());
                    s.attr(PeerPath.STREAM_PREFIX).set(header);
                    if (!result.complete(s)) {
                        s.close();
                    }
                });
    }

    /** On the loop: connects to the peer's best path (else where its pings come from) unless we are not its client or a connection is up or under way. */
    void ensure(DirectPeer p) {
        InetSocketAddress to = p.best != null ? p.best : p.lastPeerPingFrom;
        if (!p.weAreClient || (p.quic != null && p.quic.isActive()) || p.connecting != null || to == null) {
            return;
        }
        if (PathPreference.quicHeld(p, System.nanoTime())) {
            return; // an IPv6 path may still be proven; the punch tick calls again
        }
        CompletableFuture<QuicChannel> cf = new CompletableFuture<>();
        p.connecting = cf;
        p.connectingTo = to;
        Channel[] attempt = new Channel[1];
        ScheduledFuture<?> deadline = loop.schedule(
                () -> {
                    if (p.connecting == cf) {
                        log.info(
                                "QUIC handshake with {} at {} did not finish within {} s; retrying",
                                p.key.shortId(),
                                to,
                                QUIC_CONNECT_TIMEOUT.toSeconds());
                        p.connecting = null;
                        if (attempt[0] != null) {
                            attempt[0].close();
                        }
                    }
                },
                QUIC_CONNECT_TIMEOUT.toMillis(),
                TimeUnit.MILLISECONDS);
        // the client socket, or a spray socket that reached the peer
        var bootstrap = QuicChannel.newBootstrap(p.pathSock().channel());
        if (gso != null) {
            bootstrap.option(QuicChannelOption.SEGMENTED_DATAGRAM_PACKET_ALLOCATOR, gso);
        }
        var connect = bootstrap
                .attr(EXPECTED_PEER, p.key)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        attempt[0] = ctx.channel();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        datagram(ctx, p.key, msg);
                    }

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        creditEvent(ctx, evt);
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
                log.info(
                        "QUIC connection to {} at {} failed: {}",
                        p.key.shortId(),
                        to,
                        f.cause().toString());
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
            qc.closeFuture()
                    .addListener(c -> loop.execute(() -> {
                        if (p.quic == qc) {
                            p.quic = null;
                            peers.publish(p, System.nanoTime(), true);
                        }
                    }));
            peers.publish(p, System.nanoTime(), false);
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
        DirectPeer p = key == null ? null : peers.get(key);
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
        qc.closeFuture()
                .addListener(c -> loop.execute(() -> {
                    if (p.quic == qc) {
                        p.quic = null;
                        peers.publish(p, System.nanoTime(), true);
                    }
                }));
        log.info("QUIC connection from {} at {} up", p.key.shortId(), qc.remoteSocketAddress());
        peers.publish(p, System.nanoTime(), false);
    }

    private QuicSslContext clientTls(NodeKey expected) {
        if (clientContexts.size() > DirectLimits.MAX_PEERS) {
            clientContexts.clear();
        }
        return clientContexts.computeIfAbsent(expected, k -> DirectTls.client(identity, verifier, k));
    }

    /** The key of a self-signed peer certificate, verified strictly against itself (NodeVerifier with that key expected). */
    private NodeKey selfSignedKey(QuicChannel qc) {
        try {
            var certs = qc.sslEngine().getSession().getPeerCertificates();
            var leaf = NodeCertificate.parse((X509Certificate) certs[0]);
            NodeKey claimed = leaf.nodeKey();
            if (!peers.contains(claimed)) {
                return null;
            }
            return NodeTls.verifiedPeer(qc.sslEngine().getSession(), verifier, claimed)
                    .nodeKey();
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
            if (targetLoops != null) {
                s.attr(TargetConnector.TARGET_LOOPS).set(targetLoops);
            }
            if (clientSidePeer != null) {
                s.pipeline()
                        .addFirst(new DirectStreamAcceptor(
                                clientSidePeer, s.parent().sslEngine().getSession(), gate));
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
        s.pipeline()
                .addFirst(new DirectStreamAcceptor(key, s.parent().sslEngine().getSession(), gate));
    }
}
