package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.disco.DiscoBox;
import dev.burrow.agent.disco.DiscoDropReason;
import dev.burrow.agent.disco.DiscoMessage;
import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.agent.service.TargetConnector;
import dev.burrow.agent.stream.EarlyInput;
import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two direct-path managers on this host, signalling through each other (standing in for the relay's
 * keyed datagrams): punching finds a path, QUIC comes up with verified node certificates, streams in
 * both directions carry data intact, and disco from strangers is dropped without an answer.
 */
@Timeout(90)
class DirectManagerLoopbackTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final NodeIdentity a = NodeIdentity.ephemeral("a");
    private final NodeIdentity b = NodeIdentity.ephemeral("b");
    private StunServer stun;
    private DirectManager ma;
    /** The peer of the QUIC session every inbound stream arrived with. */
    private final Set<NodeKey> sessionPeers = ConcurrentHashMap.newKeySet();

    private DirectManager mb;

    @AfterEach
    void close() {
        if (ma != null) {
            ma.close();
        }
        if (mb != null) {
            mb.close();
        }
        if (stun != null) {
            stun.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * The test's stand-in for the gate: echoes every byte of every inbound stream. Every stream
     * carries the QUIC connection's TLS session, whose peer certificate is the dialer's.
     */
    private void echo(InboundStream s) {
        try {
            var leaf = (X509Certificate) s.pathSession().getPeerCertificates()[0];
            sessionPeers.add(NodeCertificate.parse(leaf).nodeKey());
        } catch (Exception e) {
            s.channel().close();
            return;
        }
        s.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.writeAndFlush(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                    ctx.close(); // like cat: the dialer's end of input ends the echo, and the stream
                }
                ctx.fireUserEventTriggered(evt);
            }
        });
        s.channel().config().setAutoRead(true);
    }

    private void startBoth() throws Exception {
        startBoth(new InetSocketAddress("0.0.0.0", 0));
    }

    private void startBoth(InetSocketAddress any) throws Exception {
        startBoth(any, group, NioDatagramChannel.class, null, this::echo);
    }

    private void startBoth(
            InetSocketAddress any,
            EventLoopGroup directLoops,
            Class<? extends io.netty.channel.socket.DatagramChannel> channelType,
            EventLoopGroup targetLoops,
            java.util.function.Consumer<InboundStream> gate)
            throws Exception {
        stun = StunServer.start(
                StunServerConfig.udp(new InetSocketAddress("127.0.0.1", 0)),
                group,
                NioDatagramChannel.class,
                null,
                StunMetrics.NOOP);
        List<InetSocketAddress> servers = List.of(stun.udpAddress());
        NodeVerifier verifier = NodeVerifier.builder().build();
        AtomicReference<DirectManager> toA = new AtomicReference<>();
        AtomicReference<DirectManager> toB = new AtomicReference<>();
        ma = new DirectManager(
                a,
                verifier,
                directLoops,
                channelType,
                (peer, buf) -> relay(toB.get(), a.nodeKey(), buf),
                () -> servers,
                k -> k.equals(b.nodeKey()),
                gate,
                any,
                any,
                targetLoops);
        mb = new DirectManager(
                b,
                verifier,
                directLoops,
                channelType,
                (peer, buf) -> relay(toA.get(), b.nodeKey(), buf),
                () -> servers,
                k -> k.equals(a.nodeKey()),
                gate,
                any,
                any,
                targetLoops);
        toA.set(ma);
        toB.set(mb);
        ma.start();
        mb.start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !ma.endpointsFor(b.nodeKey()).get().isEmpty()
                        && !mb.endpointsFor(a.nodeKey()).get().isEmpty());
    }

    private static boolean relay(DirectManager to, NodeKey from, ByteBuf buf) {
        try {
            return to.receiveFromRelay(from, buf);
        } finally {
            buf.release();
        }
    }

    private static byte[] roundTrip(Channel stream, byte[] data) throws Exception {
        CompletableFuture<byte[]> back = new CompletableFuture<>();
        ByteBuf got = Unpooled.buffer(data.length);
        stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf m = (ByteBuf) msg;
                got.writeBytes(m);
                m.release();
                if (got.readableBytes() >= data.length) {
                    byte[] out = new byte[got.readableBytes()];
                    got.readBytes(out);
                    back.complete(out);
                }
            }
        });
        stream.config().setAutoRead(true);
        // what the dialer sends first on a direct stream (before OPEN; this test's gate only echoes)
        byte[] prefix = stream.attr(PeerPath.STREAM_PREFIX).getAndSet(null);
        assertThat(prefix).isNotNull();
        assertThat(stream.attr(PeerPath.PATH_SESSION).get()).isNotNull();
        stream.write(Unpooled.wrappedBuffer(prefix));
        stream.writeAndFlush(Unpooled.wrappedBuffer(data));
        return back.get(30, TimeUnit.SECONDS);
    }

    /**
     * Direct sockets on their own epoll loop (for segmentation offload) while the agent's TCP
     * sockets run on NIO: an inbound stream names the agent's loops, and the gate's target
     * connection ({@link TargetConnector}) is registered there, not on the stream's epoll loop
     * (which cannot host an NIO socket: every such stream was refused before).
     */
    @Test
    void epollDirectSocketsConnectTargetsOnTheAgentsNioLoops() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "epoll not available");
        EventLoopGroup epoll = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        Channel target = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ctx.writeAndFlush(msg); // echo
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        List<EventLoop> targetSocketLoops = new CopyOnWriteArrayList<>();
        try {
            startBoth(new InetSocketAddress("0.0.0.0", 0), epoll, EpollDatagramChannel.class, group, s -> {
                Channel stream = s.channel();
                // bytes that came with the stream header arrive at once: held until the target is there
                List<Object> early = new ArrayList<>();
                AtomicReference<Channel> connected = new AtomicReference<>();
                stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        Channel t = connected.get();
                        if (t == null) {
                            early.add(msg);
                        } else {
                            t.writeAndFlush(msg);
                        }
                    }
                });
                TargetConnector.connect(stream, Transport.nio(), (InetSocketAddress) target.localAddress(), null, null)
                        .addListener((ChannelFuture f) -> {
                            if (!f.isSuccess()) {
                                stream.close();
                                return;
                            }
                            Channel t = f.channel();
                            targetSocketLoops.add(t.eventLoop());
                            // the echo target sends nothing unasked: nothing is held yet (a splice would hand it over)
                            t.pipeline().remove(EarlyInput.NAME);
                            t.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    stream.writeAndFlush(msg);
                                }
                            });
                            t.config().setAutoRead(true);
                            stream.eventLoop().execute(() -> {
                                early.forEach(t::write);
                                early.clear();
                                t.flush();
                                connected.set(t);
                                stream.config().setAutoRead(true);
                            });
                        });
            });
            ma.want(b.nodeKey());
            await().atMost(Duration.ofSeconds(15)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
            Channel stream = ma.openStream(b.nodeKey(), "echo").get(10, TimeUnit.SECONDS);
            assertThat(stream.eventLoop().parent()).isSameAs(epoll);
            byte[] data = new byte[100_000];
            new java.util.Random(7).nextBytes(data);
            byte[] back = roundTrip(stream, data);
            assertThat(back).isEqualTo(data);
            assertThat(targetSocketLoops).hasSize(1);
            assertThat(targetSocketLoops.get(0).parent()).isSameAs(group);
        } finally {
            ma.close();
            mb.close();
            ma = null;
            mb = null;
            target.close().syncUninterruptibly();
            epoll.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void punchesConnectsAndCarriesStreamsBothWays() throws Exception {
        startBoth();
        ma.want(b.nodeKey());
        await().atMost(Duration.ofSeconds(15)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
        assertThat(ma.status(b.nodeKey()).orElseThrow().endpoint().getPort())
                .isEqualTo(mb.localAddressFor(a.nodeKey()).getPort());
        assertThat(ma.status(b.nodeKey()).orElseThrow().rttMillis()).isNotNull();

        byte[] data = new byte[1 << 20];
        new Random(1).nextBytes(data);
        Channel s1 = ma.openStream(b.nodeKey(), "echo").get(10, TimeUnit.SECONDS);
        assertThat(sha(roundTrip(s1, data))).isEqualTo(sha(data));
        Channel s2 = mb.openStream(a.nodeKey(), "echo").get(10, TimeUnit.SECONDS);
        assertThat(sha(roundTrip(s2, data))).isEqualTo(sha(data));
        // more streams on the same connection, both ways (one stream initialiser serves them all)
        for (int i = 0; i < 3; i++) {
            Channel more = (i % 2 == 0 ? ma.openStream(b.nodeKey(), "echo") : mb.openStream(a.nodeKey(), "echo"))
                    .get(10, TimeUnit.SECONDS);
            assertThat(sha(roundTrip(more, data))).isEqualTo(sha(data));
            more.close();
        }
        s1.close();
        s2.close();
        // each side's streams were accepted with the session of a connection authenticated as the other
        assertThat(sessionPeers).containsOnly(a.nodeKey(), b.nodeKey()).contains(a.nodeKey(), b.nodeKey());
    }

    /**
     * More streams at once than the peer's QUIC stream credit (256): the ones beyond it wait for
     * credit instead of failing with STREAM_LIMIT_ERROR, and go out as soon as earlier streams end.
     */
    @Test
    void streamsBeyondThePeersCreditWaitForItInsteadOfFailing() throws Exception {
        startBoth();
        ma.want(b.nodeKey());
        await().atMost(Duration.ofSeconds(15)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
        int credit = 256;
        List<Channel> held = new ArrayList<>();
        try {
            for (int i = 0; i < credit; i++) {
                Channel s = ma.openStream(b.nodeKey(), "echo").get(10, TimeUnit.SECONDS);
                held.add(s);
                assertThat(roundTrip(s, new byte[] {(byte) i})).containsExactly((byte) i);
            }
            List<CompletableFuture<Channel>> beyond = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                beyond.add(ma.openStream(b.nodeKey(), "echo"));
            }
            Thread.sleep(300);
            assertThat(beyond).noneMatch(CompletableFuture::isDone); // waiting, not failed
            for (int i = 0; i < 10; i++) {
                held.remove(0).close();
            }
            for (CompletableFuture<Channel> f : beyond) {
                Channel s = f.get(10, TimeUnit.SECONDS);
                held.add(s);
                assertThat(roundTrip(s, new byte[] {42})).containsExactly((byte) 42);
            }
        } finally {
            held.forEach(Channel::close);
        }
    }

    /**
     * Dual-stack sockets (bound to [::]) with only IPv6 candidates: punching, QUIC and streams run
     * over IPv6, and status shows the IPv6 endpoint in brackets.
     */
    @Test
    void dualStackSocketsGoDirectOverIpv6() throws Exception {
        startBoth(new InetSocketAddress("::", 0));
        org.junit.jupiter.api.Assumptions.assumeTrue(
                ma.dualStackFor(b.nodeKey()) && mb.dualStackFor(a.nodeKey()), "no IPv6 on this host");
        ma.useOnlyCandidates(port -> List.of(new InetSocketAddress("::1", port)));
        mb.useOnlyCandidates(port -> List.of(new InetSocketAddress("::1", port)));
        ma.want(b.nodeKey());
        await().atMost(Duration.ofSeconds(15)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
        DirectPeerStatus s = ma.status(b.nodeKey()).orElseThrow();
        assertThat(s.endpoint())
                .isEqualTo(new InetSocketAddress(
                        "::1", mb.localAddressFor(a.nodeKey()).getPort()));
        assertThat(s.reason()).startsWith("direct: punched via [::1]:");
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        Channel st = ma.openStream(b.nodeKey(), "echo").get(10, TimeUnit.SECONDS);
        assertThat(sha(roundTrip(st, data))).isEqualTo(sha(data));
        st.close();
    }

    /**
     * Both families work (IPv4 announced first): the path settles on IPv6, which is no worse, and
     * carries the data; the dual-stack sockets still do STUN and disco over IPv4.
     */
    @Test
    void dualStackSocketsPreferIpv6WhenBothFamiliesWork() throws Exception {
        startBoth(new InetSocketAddress("::", 0));
        org.junit.jupiter.api.Assumptions.assumeTrue(
                ma.dualStackFor(b.nodeKey()) && mb.dualStackFor(a.nodeKey()), "no IPv6 on this host");
        assertThat(ma.endpointsFor(b.nodeKey()).get())
                .as("STUN over IPv4 from a dual-stack socket")
                .anyMatch(e -> e.getAddress().getHostAddress().equals("127.0.0.1"));
        ma.useOnlyCandidates(
                port -> List.of(new InetSocketAddress("127.0.0.1", port), new InetSocketAddress("::1", port)));
        mb.useOnlyCandidates(
                port -> List.of(new InetSocketAddress("127.0.0.1", port), new InetSocketAddress("::1", port)));
        ma.want(b.nodeKey());
        await().atMost(Duration.ofSeconds(15)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
        // The first path verified may be IPv4 (both are probed at once); the path then settles on
        // IPv6 once its pong is in, which can come a moment after the first verification.
        await().atMost(Duration.ofSeconds(15))
                .untilAsserted(() -> assertThat(
                                ma.status(b.nodeKey()).orElseThrow().endpoint().getAddress())
                        .isInstanceOf(java.net.Inet6Address.class));
        byte[] data = new byte[256 << 10];
        new Random(4).nextBytes(data);
        Channel st = mb.openStream(a.nodeKey(), "echo").get(10, TimeUnit.SECONDS);
        assertThat(sha(roundTrip(st, data))).isEqualTo(sha(data));
        st.close();
    }

    /**
     * Warm-up: a warm peer goes direct with no stream asking for it (no want), and once it is no
     * longer warm this side stops its heartbeats and no longer uses the path.
     */
    @Test
    void aWarmPeerGoesDirectWithoutAStreamAndIsReleasedWhenNoLongerWarm() throws Exception {
        startBoth();
        ma.setWarm(Set.of(b.nodeKey()));
        await().atMost(Duration.ofSeconds(10)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
        assertThat(ma.warmPeers().get(5, TimeUnit.SECONDS)).containsExactly(b.nodeKey());
        assertThat(ma.status(b.nodeKey()).orElseThrow().reason()).startsWith("direct: punched via 127.0.0.1:");
        byte[] data = new byte[64 << 10];
        new Random(2).nextBytes(data);
        Channel s = ma.openStream(b.nodeKey(), "echo").get(10, TimeUnit.SECONDS);
        assertThat(sha(roundTrip(s, data))).isEqualTo(sha(data));
        s.close();

        // still warm with no stream: the heartbeats keep it (well past the trust window)
        Thread.sleep(DirectLimits.TRUST_DURATION.toMillis() + 1000);
        assertThat(ma.hasDirect(b.nodeKey())).isTrue();

        ma.setWarm(Set.of());
        assertThat(ma.warmPeers().get(5, TimeUnit.SECONDS)).isEmpty();
    }

    /**
     * A warm path without streams keeps its QUIC connection: keepalive datagrams go out (and are not
     * handed to the UDP-service handler), and when the connection closes anyway (an idle timeout, a
     * restart) the QUIC client side connects again and streams go direct.
     */
    @Test
    void aWarmPeersQuicConnectionIsKeptAliveAndReconnectsAfterItCloses() throws Exception {
        startBoth();
        AtomicInteger handed = new AtomicInteger();
        mb.setDatagramHandler((k, buf) -> handed.incrementAndGet());
        ma.setDatagramHandler((k, buf) -> handed.incrementAndGet());
        ma.setWarm(Set.of(b.nodeKey()));
        await().atMost(Duration.ofSeconds(10)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
        await().atMost(Duration.ofSeconds(5)).until(() -> ma.quicKeepalivesSent.sum() > 0);
        Thread.sleep(500);
        assertThat(handed.get()).as("keepalives are not UDP-service packets").isZero();

        ma.closeQuic(b.nodeKey()).get(5, TimeUnit.SECONDS);
        byte[] data = new byte[64 << 10];
        new Random(5).nextBytes(data);
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> {
                    if (!ma.hasDirect(b.nodeKey())) {
                        return false;
                    }
                    try {
                        Channel s = ma.openStream(b.nodeKey(), "echo").get(5, TimeUnit.SECONDS);
                        boolean same = sha(roundTrip(s, data)).equals(sha(data));
                        s.close();
                        return same;
                    } catch (Exception e) {
                        return false;
                    }
                });
    }

    /** Warm and then cooled before any stream: heartbeats stop at once and the path lapses. */
    @Test
    void coolingAWarmPeerStopsItsHeartbeatsAndThePathLapses() throws Exception {
        startBoth();
        ma.setWarm(Set.of(b.nodeKey()));
        await().atMost(Duration.ofSeconds(10)).until(() -> ma.hasDirect(b.nodeKey()) && mb.hasDirect(a.nodeKey()));
        ma.setWarm(Set.of());
        await().atMost(DirectLimits.TRUST_DURATION.plusSeconds(3)).until(() -> !ma.hasDirect(b.nodeKey()));
        long pings = ma.pingsSent.sum();
        Thread.sleep(DirectLimits.HEARTBEAT_INTERVAL.toMillis() * 2);
        assertThat(ma.pingsSent.sum())
                .as("no heartbeats from a once b is not wanted")
                .isEqualTo(pings);
        assertThat(ma.status(b.nodeKey()).map(DirectPeerStatus::reason).orElse("relay: forgotten"))
                .startsWith("relay: ");
    }

    /** unknown or malformed disco messages: a well-formed ping from a key nobody knows, sent straight to the socket, gets no answer. */
    @Test
    void strangersGetNoAnswer() throws Exception {
        startBoth();
        NodeIdentity mallory = NodeIdentity.ephemeral("mallory");
        DiscoBox box = new DiscoBox(mallory, k -> true);
        ByteBuf ping = box.seal(b.nodeKey(), new DiscoMessage.Ping(new byte[12], 0), UnpooledByteBufAllocator.DEFAULT);
        byte[] bytes = new byte[ping.readableBytes()];
        ping.readBytes(bytes);
        ping.release();
        InetSocketAddress target = new InetSocketAddress(
                "127.0.0.1", mb.localAddressFor(a.nodeKey()).getPort());
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            s.setSoTimeout(1500);
            s.send(new DatagramPacket(bytes, bytes.length, target));
            byte[] junk = new byte[100];
            junk[0] = (byte) 0x8B;
            junk[1] = 'd';
            junk[2] = 's';
            junk[3] = 'c';
            s.send(new DatagramPacket(junk, junk.length, target));
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> mb.dropCounts().get(DiscoDropReason.UNKNOWN_SENDER) >= 1
                            && mb.dropCounts().get(DiscoDropReason.MALFORMED)
                                            + mb.dropCounts().get(DiscoDropReason.UNKNOWN_SENDER)
                                    >= 2);
            byte[] buf = new byte[2048];
            boolean answered;
            try {
                s.receive(new DatagramPacket(buf, buf.length));
                answered = true;
            } catch (java.net.SocketTimeoutException expected) {
                answered = false;
            }
            assertThat(answered).isFalse();
        }
        assertThat(mb.hasDirect(mallory.nodeKey())).isFalse();
        assertThat(mb.pongsSent.sum()).isZero();
    }

    private static String sha(byte[] d) throws Exception {
        return java.util.HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(d));
    }
}
