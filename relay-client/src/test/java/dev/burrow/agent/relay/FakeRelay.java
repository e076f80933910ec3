package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.identity.tls.RelayTls;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A scriptable relay for client tests: TLS with a development certificate (pinned by the client),
 * HTTP Upgrade and WebSocket on the control and circuit paths, HELLO/AUTH/ACCEPT with real
 * signature verification, datagram forwarding by key, circuit offer/accept/attach and joining.
 * Knobs make it deny, stall, go silent, refuse upgrades, ignore circuit requests, or run arbitrary
 * code after accepting a client (send garbage, RESTARTING, close...). One event loop thread.
 */
final class FakeRelay implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    final RelayTls.ServerCredentials credentials;
    final Channel server;

    // Script knobs.
    volatile boolean sendHello = true;
    volatile DenyReason denyWith;
    volatile long keepaliveMillis = 60_000;
    volatile boolean answerPings = true;
    volatile boolean routeCircuits = true;
    volatile boolean refuseUpgrade;
    volatile boolean stallAfterAccept;
    /** Take connections without TLS (the real relay's plain circuits); otherwise close them. */
    volatile boolean plainCircuits;

    volatile Consumer<Session> onAccepted = s -> {};
    /** How LOOKUP_NAME is answered (a lying relay can map a name to any key); null: never answered. */
    volatile java.util.function.Function<String, List<NodeKey>> names = n -> List.of();

    // Observations.
    final AtomicInteger controlConnections = new AtomicInteger();
    final AtomicInteger upgradeRequests = new AtomicInteger();
    /** Connections whose first bytes were not TLS. */
    final AtomicInteger plainConnections = new AtomicInteger();

    final AtomicInteger webSocketRequests = new AtomicInteger();
    final AtomicInteger authVerified = new AtomicInteger();
    final AtomicInteger authRejected = new AtomicInteger();
    final AtomicInteger pingsAnswered = new AtomicInteger();
    final AtomicInteger datagramsForwarded = new AtomicInteger();
    final List<Long> acceptTimesNanos = new CopyOnWriteArrayList<>();
    final List<Long> connectionTimesNanos = new CopyOnWriteArrayList<>();
    final List<Session> sessions = new CopyOnWriteArrayList<>();
    final LinkedBlockingQueue<ClientFrame.ClientAuth> auths = new LinkedBlockingQueue<>();
    final List<CircuitToken> issuedTokens = new CopyOnWriteArrayList<>();

    private final Map<NodeKey, Session> byKey = new ConcurrentHashMap<>();
    private final Map<CircuitId, FakeCircuit> circuits = new ConcurrentHashMap<>();

    FakeRelay() throws Exception {
        this(RelayTls.devSelfSigned(null, List.of()));
    }

    /** A relay with the given certificate (several fake relays of one fleet share one, as real ones share a Secret). */
    FakeRelay(RelayTls.ServerCredentials shared) throws Exception {
        credentials = shared;
        var ssl = credentials.sslContext();
        server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.config().setOption(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, true);
                        ch.pipeline().addLast("tls", new io.netty.handler.ssl.OptionalSslHandler(ssl) {
                            @Override
                            protected io.netty.channel.ChannelHandler newNonSslHandler(ChannelHandlerContext ctx) {
                                plainConnections.incrementAndGet();
                                if (!plainCircuits) {
                                    ctx.close();
                                }
                                return null;
                            }
                        });
                        ch.pipeline().addLast("http", new HttpServerCodec());
                        ch.pipeline().addLast("agg", new HttpObjectAggregator(8192));
                        ch.pipeline().addLast("router", new Router());
                    }
                })
                .bind("127.0.0.1", 0)
                .sync()
                .channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    URI url() {
        return URI.create("https://127.0.0.1:" + port());
    }

    String fingerprint() {
        return credentials.fingerprint();
    }

    Session session(NodeKey key) {
        return byKey.get(key);
    }

    /**
     * Offers {@code listener} a circuit from {@code source} (a dialer that never shows up: the
     * listener's attach waits, as for a peer that asks and never attaches). Returns the circuit, whose
     * {@code listenerSide} is set once the listener attached.
     */
    FakeCircuit offerFrom(NodeKey source, Session listener, String service) {
        FakeCircuit c = new FakeCircuit(CircuitId.random(), 0, null, CircuitToken.random(), CircuitToken.random());
        circuits.put(c.id, c);
        listener.send(new RelayFrame.CircuitOffer(c.id, source, service, c.listenerToken));
        return c;
    }

    /** Authenticated control sessions whose channel is open. */
    List<Session> liveSessions() {
        return sessions.stream()
                .filter(s -> s.channel.isActive() && s.key != null)
                .toList();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    // ------------------------------------------------------------------ HTTP routing

    private final class Router extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof FullHttpRequest req)) {
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            try {
                route(ctx, req);
            } finally {
                req.release();
            }
        }

        private void route(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = req.uri();
            boolean control = path.equals(RelayProtocol.CONTROL_PATH);
            boolean circuit = path.equals(RelayProtocol.CIRCUIT_PATH);
            String upgrade = req.headers().get(HttpHeaderNames.UPGRADE, "");
            if (!control && !circuit) {
                respond(ctx, HttpResponseStatus.NOT_FOUND);
                return;
            }
            ChannelPipeline p = ctx.pipeline();
            if (upgrade.equalsIgnoreCase("websocket")) {
                webSocketRequests.incrementAndGet();
                WebSocketServerHandshaker hs = new WebSocketServerHandshakerFactory(
                                "wss://127.0.0.1:" + port() + path,
                                RelayProtocol.WEBSOCKET_SUBPROTOCOL,
                                false,
                                WebSocketBinaryAdapter.MAX_OUTBOUND_MESSAGE)
                        .newHandshaker(req); // the real relay's limit
                if (hs == null) {
                    WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
                    return;
                }
                hs.handshake(ctx.channel(), req).addListener(f -> {
                    if (!f.isSuccess()) {
                        ctx.close();
                        return;
                    }
                    p.addBefore("router", "ws-adapter", new WebSocketBinaryAdapter());
                    install(p, control, true);
                });
            } else if (upgrade.equalsIgnoreCase(RelayProtocol.UPGRADE_TOKEN)) {
                upgradeRequests.incrementAndGet();
                if (refuseUpgrade) {
                    respond(ctx, HttpResponseStatus.UPGRADE_REQUIRED);
                    return;
                }
                FullHttpResponse res =
                        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
                res.headers()
                        .set(HttpHeaderNames.UPGRADE, RelayProtocol.UPGRADE_TOKEN)
                        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
                ctx.writeAndFlush(res);
                p.remove("agg");
                p.remove("http");
                install(p, control, false);
            } else {
                respond(ctx, HttpResponseStatus.BAD_REQUEST);
            }
        }

        private void install(ChannelPipeline p, boolean control, boolean webSocket) {
            RelayFrameDecoder decoder = new RelayFrameDecoder(
                    control ? FramePolicy.RELAY_AWAITING_AUTH : FramePolicy.RELAY_AWAITING_ATTACH);
            p.addBefore("router", "frame-decoder", decoder);
            p.addBefore(
                    "router",
                    "frame-encoder",
                    webSocket ? SingleBufferFrameEncoder.INSTANCE : RelayFrameEncoder.INSTANCE);
            if (control) {
                Session s = new Session(p.channel(), decoder);
                p.replace("router", "session", s);
            } else {
                p.replace("router", "attach", new AttachSession());
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            closeOnInputEnd(ctx, evt);
        }

        private void respond(ChannelHandlerContext ctx, HttpResponseStatus status) {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status);
            res.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
            ctx.writeAndFlush(res).addListener(f -> ctx.close());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    // ------------------------------------------------------------------ control sessions

    final class Session extends ChannelInboundHandlerAdapter {
        final Channel channel;
        final RelayFrameDecoder decoder;
        final byte[] challenge = RelayAuthProof.newChallenge();
        final LinkedBlockingQueue<Frame> received = new LinkedBlockingQueue<>();
        volatile NodeKey key;
        volatile int flags;
        volatile List<X509Certificate> chain;
        volatile boolean answerPings = FakeRelay.this.answerPings;

        Session(Channel channel, RelayFrameDecoder decoder) {
            this.channel = channel;
            this.decoder = decoder;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            controlConnections.incrementAndGet();
            connectionTimesNanos.add(System.nanoTime());
            sessions.add(this);
            if (sendHello) {
                send(new RelayFrame.ServerHello(
                        RelayProtocol.VERSION, RelayProtocol.MIN_VERSION, challenge, "fake-relay"));
            }
        }

        void send(RelayFrame frame) {
            if (channel.eventLoop().inEventLoop()) {
                channel.writeAndFlush(frame);
            } else {
                channel.eventLoop().execute(() -> channel.writeAndFlush(frame));
            }
        }

        /** Writes bytes as they are (a hostile relay). */
        void sendRaw(byte[] bytes) {
            channel.eventLoop().execute(() -> channel.writeAndFlush(Unpooled.wrappedBuffer(bytes)));
        }

        void close() {
            channel.close();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof ClientFrame.SendDatagram d) {
                    forward(d);
                    return;
                }
                if (msg instanceof Frame f) {
                    received.add(f);
                }
                switch (msg) {
                    case ClientFrame.ClientAuth auth -> onAuth(ctx, auth);
                    case Frame.Ping ping -> {
                        if (answerPings) {
                            pingsAnswered.incrementAndGet();
                            ctx.writeAndFlush(new Frame.Pong(ping.data()));
                        }
                    }
                    case ClientFrame.CircuitRequest r -> onCircuitRequest(r);
                    case ClientFrame.LookupName l -> {
                        var answer = names;
                        if (answer != null) {
                            send(new RelayFrame.NameResult(l.requestId(), answer.apply(l.name())));
                        }
                    }
                    case ClientFrame.CircuitAccept a -> {
                        FakeCircuit c = circuits.get(a.circuitId());
                        if (c != null && c.dialer != null) { // no dialer: offerFrom's, which never attaches
                            c.dialer.send(new RelayFrame.CircuitAccepted(c.requestId, c.id, c.dialerToken));
                        }
                    }
                    case ClientFrame.CircuitReject r -> {
                        FakeCircuit c = circuits.remove(r.circuitId());
                        if (c != null && c.dialer != null) {
                            c.dialer.send(new RelayFrame.CircuitRejected(c.requestId, r.reason(), r.message()));
                        }
                    }
                    default -> {}
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void onAuth(ChannelHandlerContext ctx, ClientFrame.ClientAuth auth) {
            auths.add(auth);
            boolean ok = RelayAuthProof.verify(auth.key(), challenge, auth.signature());
            if (!ok) {
                authRejected.incrementAndGet();
                ctx.writeAndFlush(new RelayFrame.Deny(DenyReason.AUTH_FAILED, "bad proof"))
                        .addListener(f -> ctx.close());
                return;
            }
            authVerified.incrementAndGet();
            DenyReason deny = denyWith;
            if (deny != null) {
                ctx.writeAndFlush(new RelayFrame.Deny(deny, "scripted denial")).addListener(f -> ctx.close());
                return;
            }
            key = auth.key();
            flags = auth.flags();
            chain = parse(auth.certificateChain());
            byKey.put(key, this);
            decoder.policy(FramePolicy.RELAY_CONTROL);
            acceptTimesNanos.add(System.nanoTime());
            String observed = ctx.channel().remoteAddress().toString();
            ctx.writeAndFlush(new RelayFrame.ServerAccept(keepaliveMillis, 64 * 1024, observed));
            if (stallAfterAccept) {
                ctx.channel().config().setAutoRead(false);
            }
            onAccepted.accept(this);
        }

        private void forward(ClientFrame.SendDatagram d) {
            Session dst = byKey.get(d.destination());
            if (dst == null || !dst.channel.isActive()) {
                send(new RelayFrame.PeerGone(d.destination(), PeerGoneReason.NOT_HERE));
                return;
            }
            datagramsForwarded.incrementAndGet();
            dst.send(new RelayFrame.RecvDatagram(key, d.payload().retain()));
        }

        private void onCircuitRequest(ClientFrame.CircuitRequest r) {
            if (!routeCircuits) {
                return;
            }
            Session listener = byKey.get(r.destination());
            if (listener == null
                    || !listener.channel.isActive()
                    || (listener.flags & ClientFrame.FLAG_ACCEPTS_CIRCUITS) == 0) {
                send(new RelayFrame.CircuitRejected(r.requestId(), CircuitRejectReason.PEER_NOT_FOUND, "no such node"));
                return;
            }
            FakeCircuit c = new FakeCircuit(
                    CircuitId.random(), r.requestId(), this, CircuitToken.random(), CircuitToken.random());
            circuits.put(c.id, c);
            issuedTokens.add(c.listenerToken);
            issuedTokens.add(c.dialerToken);
            listener.send(new RelayFrame.CircuitOffer(c.id, key, r.service(), c.listenerToken));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            closeOnInputEnd(ctx, evt); // half-closure is on for circuits; a control connection just closes
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (key != null) {
                byKey.remove(key, this);
            }
        }
    }

    private static List<X509Certificate> parse(List<byte[]> der) {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new java.util.ArrayList<>();
            for (byte[] d : der) {
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(d)));
            }
            return out;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ circuits

    static final class FakeCircuit {
        final CircuitId id;
        final long requestId;
        final Session dialer;
        final CircuitToken listenerToken;
        final CircuitToken dialerToken;
        volatile Channel listenerSide;
        volatile Channel dialerSide;

        FakeCircuit(
                CircuitId id, long requestId, Session dialer, CircuitToken listenerToken, CircuitToken dialerToken) {
            this.id = id;
            this.requestId = requestId;
            this.dialer = dialer;
            this.listenerToken = listenerToken;
            this.dialerToken = dialerToken;
        }
    }

    private final class AttachSession extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (!(msg instanceof ClientFrame.CircuitAttach a)) {
                    ctx.close();
                    return;
                }
                FakeCircuit c = circuits.get(a.circuitId());
                if (c == null) {
                    deny(ctx);
                    return;
                }
                if (c.listenerToken.matches(a.token()) && c.listenerSide == null) {
                    c.listenerSide = ctx.channel();
                } else if (c.dialerToken.matches(a.token()) && c.dialerSide == null) {
                    c.dialerSide = ctx.channel();
                } else {
                    deny(ctx);
                    return;
                }
                if (c.listenerSide != null && c.dialerSide != null) {
                    circuits.remove(c.id);
                    join(c.listenerSide, c.dialerSide);
                    join(c.dialerSide, c.listenerSide);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            closeOnInputEnd(ctx, evt);
        }

        private void deny(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(new RelayFrame.Deny(DenyReason.AUTH_FAILED, "unknown circuit"))
                    .addListener(f -> ctx.close());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static void closeOnInputEnd(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent
                || evt instanceof io.netty.handler.ssl.SslCloseCompletionEvent) {
            ctx.close();
        }
    }

    /** Sends ATTACHED on {@code ch} and from then on copies its bytes to {@code other}. */
    private static void join(Channel ch, Channel other) {
        ChannelPipeline p = ch.pipeline();
        ch.writeAndFlush(new RelayFrame.CircuitAttached());
        p.remove("frame-encoder");
        p.replace("attach", "join", new Joiner(other));
        p.remove("frame-decoder");
    }

    private static final class Joiner extends ChannelInboundHandlerAdapter {
        private final Channel other;

        Joiner(Channel other) {
            this.other = other;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            other.writeAndFlush(msg);
            if (!other.isWritable()) {
                ctx.channel().config().setAutoRead(false);
                other.writeAndFlush(Unpooled.EMPTY_BUFFER)
                        .addListener(f -> ctx.channel().config().setAutoRead(true));
            }
        }

        private boolean inputEnded;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            boolean end = evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent
                    || evt instanceof io.netty.handler.ssl.SslCloseCompletionEvent;
            if (!end || inputEnded) {
                return;
            }
            inputEnded = true;
            if (ctx.pipeline().get(WebSocketBinaryAdapter.class) != null) {
                ctx.close();
                other.close();
                return;
            }
            // Pass the end of stream on (TLS close_notify), keep the other direction flowing.
            other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                io.netty.handler.ssl.SslHandler tls = other.pipeline().get(io.netty.handler.ssl.SslHandler.class);
                if (tls != null) {
                    tls.closeOutbound();
                } else if (other instanceof io.netty.channel.socket.DuplexChannel d) {
                    d.shutdownOutput(); // a circuit connection without relay TLS
                }
            });
            Joiner otherJoiner = other.pipeline().get(Joiner.class);
            if (otherJoiner != null && otherJoiner.inputEnded) {
                ctx.close();
                other.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> other.close());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
