package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.caller.Caller;
import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.forward.PeerStreamDialer;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.InboundStreamGate;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.PeerStreamCodec;
import dev.burrow.agent.stream.PeerStreamMessage;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The direct path end to end on loopback with the real pieces: two direct managers with a QUIC
 * connection between node certificates, the real inbound gate on the listener, a forward listener
 * with the real dialer on the other side, and a real TCP target. Direct streams carry no TLS inside
 * them (ALPN {@code burrow-direct/2}): OPEN in the clear inside QUIC, the peer taken from the QUIC
 * connection's certificate. The gate's rules, whois, PROXY v2, half-close and resets hold as on a
 * relay circuit, and bytes a dialer sends with OPEN never reach the target of a refused stream.
 */
@Timeout(120)
class DirectStreamGateTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final NodeIdentity listener = NodeIdentity.ephemeral("alice");
    private final NodeIdentity dialer = NodeIdentity.ephemeral("bob");
    private final NodeVerifier verifier = NodeVerifier.builder().build();
    private final ServiceRegistry registry = new ServiceRegistry();
    private final ActiveStreams inboundActive = new ActiveStreams();
    private final RecentRefusals inboundRefusals = new RecentRefusals();
    private final RecentRefusals outboundRefusals = new RecentRefusals();
    private final WhoisTable whois = new WhoisTable();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final ExecutorService targetThreads = Executors.newCachedThreadPool();
    private final AtomicInteger targetAccepted = new AtomicInteger();
    private StunServer stun;
    private DirectManager dialerSide;
    private DirectManager listenerSide;
    private ServerSocket target;

    @BeforeEach
    void setUp() throws Exception {
        target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        stun = StunServer.start(
                StunServerConfig.udp(new InetSocketAddress("127.0.0.1", 0)),
                group,
                NioDatagramChannel.class,
                null,
                StunMetrics.NOOP);
        List<InetSocketAddress> servers = List.of(stun.udpAddress());
        InboundStreamGate gate = new InboundStreamGate(
                listener,
                verifier,
                registry,
                Transport.nio(),
                AgentMetrics.NOOP,
                inboundActive,
                inboundRefusals,
                whois);
        AtomicReference<DirectManager> toDialer = new AtomicReference<>();
        AtomicReference<DirectManager> toListener = new AtomicReference<>();
        InetSocketAddress any = new InetSocketAddress("0.0.0.0", 0);
        dialerSide = new DirectManager(
                dialer,
                verifier,
                group,
                NioDatagramChannel.class,
                (peer, buf) -> relay(toListener.get(), dialer.nodeKey(), buf),
                () -> servers,
                k -> k.equals(listener.nodeKey()),
                s -> s.channel().close(), // the dialer exposes nothing
                any,
                any);
        listenerSide = new DirectManager(
                listener,
                verifier,
                group,
                NioDatagramChannel.class,
                (peer, buf) -> relay(toDialer.get(), listener.nodeKey(), buf),
                () -> servers,
                k -> k.equals(dialer.nodeKey()),
                gate::accept,
                any,
                any);
        toDialer.set(dialerSide);
        toListener.set(listenerSide);
        dialerSide.start();
        listenerSide.start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !dialerSide.endpointsFor(listener.nodeKey()).get().isEmpty()
                        && !listenerSide.endpointsFor(dialer.nodeKey()).get().isEmpty());
        dialerSide.want(listener.nodeKey());
        await().atMost(Duration.ofSeconds(20))
                .until(() -> dialerSide.hasDirect(listener.nodeKey()) && listenerSide.hasDirect(dialer.nodeKey()));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
        dialerSide.close();
        listenerSide.close();
        stun.close();
        target.close();
        targetThreads.shutdownNow();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static boolean relay(DirectManager to, NodeKey from, ByteBuf buf) {
        try {
            return to.receiveFromRelay(from, buf);
        } finally {
            buf.release();
        }
    }

    private void expose(String name, String allowedNode, ProxyProtocol proxy) {
        List<ExposedService> services = new ArrayList<>(registry.all());
        services.add(new ExposedService(
                name,
                TargetPolicy.of(new TargetSpec("127.0.0.1", target.getLocalPort())),
                AllowList.parse(List.of("node:" + allowedNode)),
                10,
                10,
                Duration.ofMinutes(1),
                proxy));
        registry.replaceAll(services);
    }

    private ForwardListener forward(String service) throws Exception {
        return forward(service, PathSelector.only(dialerSide.path()));
    }

    private ForwardListener forward(String service, PathSelector paths) throws Exception {
        ForwardListener f = new ForwardListener(
                new ForwardSpec("127.0.0.1", 0, listener.nodeKey(), "alice", service),
                paths,
                new PeerStreamDialer(dialer, verifier),
                group,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                outboundRefusals,
                Duration.ofMinutes(1),
                100);
        f.start().get(10, TimeUnit.SECONDS);
        closeables.add(f);
        return f;
    }

    private static Socket connect(ForwardListener f) throws IOException {
        Socket s = new Socket();
        s.connect(f.boundAddress(), 5000);
        s.setSoTimeout(30_000);
        return s;
    }

    /** Target: each connection reads to EOF, then answers the SHA-256 of what it read and {@code answer}, and closes. */
    private void serveDigestThen(byte[] answer) {
        targetThreads.submit(() -> {
            while (!target.isClosed()) {
                Socket s = target.accept();
                targetAccepted.incrementAndGet();
                targetThreads.submit(() -> {
                    try (s) {
                        byte[] in = s.getInputStream().readAllBytes();
                        OutputStream out = s.getOutputStream();
                        out.write(sha(in));
                        out.write(answer);
                        s.shutdownOutput();
                        s.getInputStream().read();
                    } catch (IOException ignored) {
                        // test peer gone
                    }
                    return null;
                });
            }
            return null;
        });
    }

    private static byte[] sha(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String readUntilEnd(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // drain
            }
            return "eof";
        } catch (SocketException e) {
            return "reset";
        }
    }

    @Test
    void bulkBothWaysWithHalfCloseOnTwoStreamsAtOnce() throws Exception {
        expose("bulk", dialer.nodeKey().nodeId(), ProxyProtocol.OFF);
        byte[] answer = random(3 << 20, 7);
        serveDigestThen(answer);
        ForwardListener f = forward("bulk");
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            byte[] upload = random(4 << 20, i);
            runs.add(CompletableFuture.runAsync(() -> {
                try (Socket s = connect(f)) {
                    s.getOutputStream().write(upload);
                    s.shutdownOutput(); // the target answers only after EOF: half-close crosses the direct path
                    byte[] got = s.getInputStream().readAllBytes();
                    assertThat(Arrays.copyOfRange(got, 0, 32)).isEqualTo(sha(upload));
                    assertThat(sha(Arrays.copyOfRange(got, 32, got.length))).isEqualTo(sha(answer));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(90, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> inboundActive.count() == 0);
        assertThat(inboundActive.endedBytesFromPeers()).isEqualTo(2L * (4 << 20));
    }

    @Test
    void theSelectorLearnsTheDirectPathsBulkSpeedFromTheForward() throws Exception {
        expose("bulk", dialer.nodeKey().nodeId(), ProxyProtocol.OFF);
        serveDigestThen(new byte[0]);
        PeerPath noRelay = new PeerPath() {
            @Override
            public String name() {
                return "relay";
            }

            @Override
            public CompletableFuture<Channel> open(NodeKey peer, String service) {
                return CompletableFuture.failedFuture(new IOException("no relay in this test"));
            }

            @Override
            public boolean isUp() {
                return false;
            }
        };
        DirectPathSelector selector = new DirectPathSelector(noRelay, System::nanoTime, true);
        selector.attach(dialerSide);
        ForwardListener f = forward("bulk", selector);
        byte[] upload = random((int) DirectPathSelector.BULK_SAMPLE_BYTES + 1024, 3);
        try (Socket s = connect(f)) {
            s.getOutputStream().write(upload);
            s.shutdownOutput();
            assertThat(Arrays.copyOfRange(s.getInputStream().readAllBytes(), 0, 32))
                    .isEqualTo(sha(upload));
        }
        // measured on the direct path only: one stream in PROBE_EVERY now tries the relay
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            int relay = 0;
            for (int i = 0; i < DirectPathSelector.PROBE_EVERY; i++) {
                relay += selector.preferRelay(listener.nodeKey(), "bulk") ? 1 : 0;
            }
            return relay == 1;
        });
    }

    @Test
    void whoisAndProxyV2NameTheQuicVerifiedDialer() throws Exception {
        expose("pp", dialer.nodeKey().nodeId(), ProxyProtocol.V2);
        CompletableFuture<byte[]> proxyHeader = new CompletableFuture<>();
        CompletableFuture<Caller> caller = new CompletableFuture<>();
        targetThreads.submit(() -> {
            try (Socket s = target.accept()) {
                // the PROXY v2 header comes before any byte of the peer: 12 signature bytes, 4 more, then the rest
                byte[] head = s.getInputStream().readNBytes(16);
                int len = ((head[14] & 0xff) << 8) | (head[15] & 0xff);
                s.getInputStream().readNBytes(len);
                proxyHeader.complete(head);
                caller.complete(whois.lookup((InetSocketAddress) s.getRemoteSocketAddress())
                        .orElse(null));
                s.getOutputStream().write("ok".getBytes(StandardCharsets.US_ASCII));
                s.getInputStream().read();
            }
            return null;
        });
        ForwardListener f = forward("pp");
        try (Socket s = connect(f)) {
            s.getOutputStream().write('x');
            assertThat(new String(s.getInputStream().readNBytes(2), StandardCharsets.US_ASCII))
                    .isEqualTo("ok");
        }
        byte[] head = proxyHeader.get(10, TimeUnit.SECONDS);
        assertThat(Arrays.copyOfRange(head, 0, 12))
                .isEqualTo(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        Caller c = caller.get(10, TimeUnit.SECONDS);
        assertThat(c).isNotNull();
        assertThat(c.nodeId()).isEqualTo(dialer.nodeKey().nodeId());
        assertThat(c.path()).isEqualTo(DirectPath.NAME);
        assertThat(c.service()).isEqualTo("pp");
    }

    @Test
    void resetsCrossTheDirectPathBothWays() throws Exception {
        expose("web", dialer.nodeKey().nodeId(), ProxyProtocol.OFF);
        CompletableFuture<String> targetSaw = new CompletableFuture<>();
        targetThreads.submit(() -> {
            // first connection: the target resets
            try (Socket s = target.accept()) {
                s.getInputStream().read();
                s.setSoLinger(true, 0);
            }
            // second connection: the client resets; the target must see a reset, not an EOF
            try (Socket s = target.accept()) {
                s.getOutputStream().write('r');
                targetSaw.complete(readUntilEnd(s));
            }
            return null;
        });
        ForwardListener f = forward("web");
        try (Socket s = connect(f)) {
            s.getOutputStream().write(1);
            assertThat(readUntilEnd(s)).isEqualTo("reset");
        }
        try (Socket s = connect(f)) {
            assertThat(s.getInputStream().read()).isEqualTo('r');
            s.setSoLinger(true, 0);
        }
        assertThat(targetSaw.get(20, TimeUnit.SECONDS)).isEqualTo("reset");
    }

    @Test
    void aRefusedStreamSendsNothingToATargetWhileAnotherStreamOfThePeerContinues() throws Exception {
        expose("web", dialer.nodeKey().nodeId(), ProxyProtocol.OFF);
        expose("secret", NodeIdentity.ephemeral("carol").nodeKey().nodeId(), ProxyProtocol.OFF);
        byte[] answer = "answer".getBytes(StandardCharsets.US_ASCII);
        serveDigestThen(answer);
        ForwardListener web = forward("web");
        try (Socket open = connect(web)) {
            open.getOutputStream().write("first half ".getBytes(StandardCharsets.US_ASCII));
            await().atMost(Duration.ofSeconds(10)).until(() -> targetAccepted.get() == 1);

            // a raw dialer sends OPEN for a service it may not use with its request right behind it
            // (optimistic open) and ends its direction: refused, and the target never gets a connection
            Raw refused = raw("secret", "GET /secret HTTP/1.0\r\n\r\n", true);
            PeerStreamMessage.Status status = refused.status.get(10, TimeUnit.SECONDS);
            assertThat(status.isOk()).isFalse();
            assertThat(status.code()).isEqualTo(StreamStatusCode.NOT_ALLOWED);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> !inboundRefusals.snapshot().isEmpty());
            assertThat(targetAccepted.get()).isEqualTo(1);

            // the same optimistic open for an allowed service: the bytes and the end travel with OPEN
            Raw allowed = raw("web", "early", true);
            assertThat(allowed.status.get(10, TimeUnit.SECONDS).isOk()).isTrue();
            byte[] got = allowed.after.get(10, TimeUnit.SECONDS);
            assertThat(Arrays.copyOfRange(got, 0, 32)).isEqualTo(sha("early".getBytes(StandardCharsets.US_ASCII)));
            assertThat(Arrays.copyOfRange(got, 32, got.length)).isEqualTo(answer);

            // the first stream was not disturbed
            open.getOutputStream().write("second half".getBytes(StandardCharsets.US_ASCII));
            open.shutdownOutput();
            byte[] back = open.getInputStream().readAllBytes();
            assertThat(Arrays.copyOfRange(back, 0, 32))
                    .isEqualTo(sha("first half second half".getBytes(StandardCharsets.US_ASCII)));
        }
        assertThat(targetAccepted.get()).isEqualTo(2);
    }

    @Test
    void aStreamWithoutOpenOrWithAnotherServiceIsRefused() throws Exception {
        expose("web", dialer.nodeKey().nodeId(), ProxyProtocol.OFF);
        serveDigestThen(new byte[0]);
        // the header names one service and OPEN another (the announced service must match)
        Channel s = dialerSide.openStream(listener.nodeKey(), "web").get(10, TimeUnit.SECONDS);
        Raw mismatched = new Raw(s);
        s.attr(PeerPath.STREAM_PREFIX).set(null);
        ByteBuf first = Unpooled.buffer();
        first.writeBytes(DirectStreamHeader.encodeBytes("web"));
        first.writeBytes(PeerStreamCodec.encode(PeerStreamMessage.Open.of("other"), s.alloc()));
        s.eventLoop().execute(() -> s.writeAndFlush(first));
        assertThat(mismatched.status.get(10, TimeUnit.SECONDS).code()).isEqualTo(StreamStatusCode.BAD_REQUEST);
        // a v1 dialer (TLS inside the stream) would start with a TLS ClientHello: not an OPEN
        Raw tls = rawBytes(new byte[] {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5});
        assertThat(tls.status.get(10, TimeUnit.SECONDS).isOk()).isFalse();
        assertThat(targetAccepted.get()).isZero();
    }

    /** A hand-driven direct stream: header, OPEN and optional bytes in one write, then STATUS and what follows. */
    private Raw raw(String service, String early, boolean fin) throws Exception {
        Channel s = dialerSide.openStream(listener.nodeKey(), service).get(10, TimeUnit.SECONDS);
        Raw r = new Raw(s);
        byte[] prefix = s.attr(PeerPath.STREAM_PREFIX).getAndSet(null);
        s.eventLoop().execute(() -> {
            ByteBuf first = s.alloc().buffer();
            first.writeBytes(prefix);
            ByteBuf open = PeerStreamCodec.encode(PeerStreamMessage.Open.of(service), s.alloc());
            first.writeBytes(open);
            open.release();
            first.writeBytes(early.getBytes(StandardCharsets.US_ASCII));
            s.writeAndFlush(first);
            if (fin) {
                ((QuicStreamChannel) s).shutdownOutput();
            }
        });
        return r;
    }

    private Raw rawBytes(byte[] afterHeader) throws Exception {
        Channel s = dialerSide.openStream(listener.nodeKey(), "web").get(10, TimeUnit.SECONDS);
        Raw r = new Raw(s);
        byte[] prefix = s.attr(PeerPath.STREAM_PREFIX).getAndSet(null);
        s.eventLoop().execute(() -> {
            ByteBuf first = s.alloc().buffer();
            first.writeBytes(prefix).writeBytes(afterHeader);
            s.writeAndFlush(first);
        });
        return r;
    }

    /** Reads STATUS (type, u16 length, payload) and then everything up to the listener's end. */
    private static final class Raw {
        final CompletableFuture<PeerStreamMessage.Status> status = new CompletableFuture<>();
        final CompletableFuture<byte[]> after = new CompletableFuture<>();

        Raw(Channel s) {
            ByteBuf got = Unpooled.buffer();
            s.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf m = (ByteBuf) msg;
                    got.writeBytes(m);
                    m.release();
                    if (!status.isDone() && got.readableBytes() >= 3) {
                        int len = got.getUnsignedShort(got.readerIndex() + 1);
                        if (got.readableBytes() >= 3 + len) {
                            int type = got.readUnsignedByte();
                            got.skipBytes(2);
                            status.complete(
                                    (PeerStreamMessage.Status) PeerStreamCodec.decode(type, got.readSlice(len)));
                        }
                    }
                }

                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt instanceof ChannelInputShutdownEvent) {
                        finish();
                    }
                }

                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                    finish();
                }

                private void finish() {
                    byte[] rest = new byte[got.readableBytes()];
                    got.readBytes(rest);
                    after.complete(rest);
                    status.completeExceptionally(new IOException("ended before STATUS"));
                }
            });
            s.config().setAutoRead(true);
            s.read();
        }
    }
}
