package dev.burrow.relay.server.testing;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import dev.burrow.relay.server.net.WebSocketFrameAdapter;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;

/**
 * A small relay client for tests, written directly on the frame codec: connects with HTTP Upgrade
 * or WebSocket (over TLS pinned to the relay's fingerprint, or plain), authenticates with a node
 * identity, sends and receives frames, can stop reading (to play a stalled receiver), and on circuit
 * connections switches to raw bytes after CIRCUIT_ATTACHED.
 */
public final class TestRelayClient implements AutoCloseable {
    public enum Mode {
        UPGRADE,
        WEBSOCKET
    }

    public static final Duration WAIT = Duration.ofSeconds(20);

    private final EventLoopGroup group;
    private final Channel channel;
    private final LinkedBlockingQueue<RelayFrame.RecvDatagram> datagrams = new LinkedBlockingQueue<>();
    private final List<Frame> frames = new ArrayList<>(); // guarded by itself
    private final ByteArrayOutputStream circuitBytes = new ByteArrayOutputStream(); // guarded by itself
    private final AtomicInteger datagramCount = new AtomicInteger();
    private volatile boolean inputShutdown;
    private volatile boolean outputShutdown;
    private volatile boolean circuitMode;
    private final boolean webSocket;

    private TestRelayClient(EventLoopGroup group, Channel channel, boolean webSocket) {
        this.group = group;
        this.channel = channel;
        this.webSocket = webSocket;
    }

    /** Options for {@link #connect}. */
    public record Options(Mode mode, String path, int receiveBuffer) {
        public static Options control(Mode mode) {
            return new Options(mode, RelayProtocol.CONTROL_PATH, 0);
        }

        public static Options circuit(Mode mode) {
            return new Options(mode, RelayProtocol.CIRCUIT_PATH, 0);
        }

        public Options receiveBuffer(int bytes) {
            return new Options(mode, path, bytes);
        }
    }

    public static TestRelayClient connect(InetSocketAddress relay, SslContext sslOrNull, Options opts)
            throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        boolean ws = opts.mode() == Mode.WEBSOCKET;
        CompletableFuture<TestRelayClient> ready = new CompletableFuture<>();
        TestRelayClient[] self = new TestRelayClient[1];
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(
                        ChannelOption.ALLOW_HALF_CLOSURE,
                        RelayProtocol.CIRCUIT_PATH.equals(opts.path())) // half-close is a circuit feature
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (sslOrNull != null) {
                            SslHandler tls = sslOrNull.newHandler(ch.alloc(), relay.getHostString(), relay.getPort());
                            tls.setHandshakeTimeoutMillis(WAIT.toMillis()); // loaded CI machines are slow
                            ch.pipeline().addLast("tls", tls);
                        }
                        if (Boolean.getBoolean("burrow.test.wirelog")) {
                            ch.pipeline()
                                    .addLast(new io.netty.handler.logging.LoggingHandler(
                                            "client-wire", io.netty.handler.logging.LogLevel.INFO));
                        }
                        ch.pipeline().addLast("http", new HttpClientCodec());
                        ch.pipeline().addLast("agg", new HttpObjectAggregator(64 * 1024));
                    }
                });
        if (opts.receiveBuffer() > 0) {
            b.option(ChannelOption.SO_RCVBUF, opts.receiveBuffer());
        }
        Channel ch = b.connect(relay).sync().channel();
        ch.closeFuture()
                .addListener(f -> ready.completeExceptionally(new IllegalStateException("connection closed by relay")));
        boolean circuit = RelayProtocol.CIRCUIT_PATH.equals(opts.path());
        TestRelayClient client = new TestRelayClient(group, ch, ws);
        self[0] = client;
        String host = relay.getHostString() + ":" + relay.getPort();
        if (ws) {
            URI uri = new URI((sslOrNull != null ? "wss://" : "ws://") + host + opts.path());
            WebSocketClientHandshaker hs = WebSocketClientHandshakerFactory.newHandshaker(
                    uri,
                    WebSocketVersion.V13,
                    RelayProtocol.WEBSOCKET_SUBPROTOCOL,
                    false,
                    new DefaultHttpHeaders(),
                    WebSocketFrameAdapter.MAX_MESSAGE);
            // The handshake's write listener puts the WebSocket encoder next to the HTTP codec, and
            // finishHandshake takes the codec out: a 101 read before that listener has run must wait
            // for it, or the listener finds no codec and fails the handshake.
            // The promise's listeners may also run later than the 101's read (Netty defers them past a
            // stack depth), so bytes the relay sends right after the 101 (its ServerHello) are held
            // here until the WebSocket decoder is in place, then passed to it.
            ChannelPromise requestSent = ch.newPromise();
            ch.pipeline().addLast("upgrade", new ChannelInboundHandlerAdapter() {
                private final java.util.List<Object> early = new java.util.ArrayList<>();
                private boolean upgraded;

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (upgraded) {
                        early.add(msg);
                    } else if (msg instanceof FullHttpResponse resp) {
                        upgraded = true;
                        requestSent.addListener(sent -> {
                            try {
                                if (!sent.isSuccess()) {
                                    ready.completeExceptionally(sent.cause());
                                    return;
                                }
                                hs.finishHandshake(ctx.channel(), resp);
                                client.installFraming(circuit);
                                ChannelHandlerContext beforeDecoder =
                                        ctx.pipeline().context("tls");
                                java.util.List<Object> held = new java.util.ArrayList<>(early);
                                early.clear();
                                ctx.pipeline().remove(this);
                                for (Object m : held) { // into the WebSocket decoder, in order
                                    if (beforeDecoder != null) {
                                        beforeDecoder.fireChannelRead(m);
                                    } else {
                                        ctx.pipeline().fireChannelRead(m);
                                    }
                                }
                                ready.complete(client);
                            } catch (RuntimeException e) {
                                ready.completeExceptionally(e);
                            } finally {
                                resp.release();
                            }
                        });
                    } else {
                        ReferenceCountUtil.release(msg);
                    }
                }

                @Override
                public void handlerRemoved(ChannelHandlerContext ctx) {
                    early.forEach(ReferenceCountUtil::release);
                    early.clear();
                }
            });
            if (sslOrNull != null) {
                ch.pipeline().get(SslHandler.class).handshakeFuture().sync();
            }
            hs.handshake(ch, requestSent).sync();
        } else {
            ch.pipeline().addLast("upgrade", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof FullHttpResponse resp) {
                        try {
                            if (resp.status().code() != 101) {
                                ready.completeExceptionally(
                                        new IllegalStateException("upgrade refused: " + resp.status()));
                                return;
                            }
                            ctx.pipeline().remove("agg");
                            ctx.pipeline().remove(this);
                            client.installFraming(circuit);
                            ctx.pipeline().remove("http"); // leftover bytes flow on to the frame decoder
                            ready.complete(client);
                        } finally {
                            resp.release();
                        }
                    } else {
                        ReferenceCountUtil.release(msg);
                    }
                }
            });
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(
                    HttpVersion.HTTP_1_1, HttpMethod.GET, opts.path(), Unpooled.EMPTY_BUFFER);
            req.headers().set(HttpHeaderNames.HOST, host);
            req.headers().set(HttpHeaderNames.UPGRADE, RelayProtocol.UPGRADE_TOKEN);
            req.headers().set(HttpHeaderNames.CONNECTION, "Upgrade");
            ch.writeAndFlush(req).sync();
        }
        try {
            return ready.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            client.close();
            throw e;
        }
    }

    private void installFraming(boolean circuit) {
        var p = channel.pipeline();
        if (webSocket) {
            p.addLast("ws-adapter", new WebSocketFrameAdapter());
        }
        p.addLast(
                "frame-decoder",
                new RelayFrameDecoder(circuit ? FramePolicy.CLIENT_AWAITING_ATTACHED : FramePolicy.CLIENT_CONTROL));
        if (!webSocket) {
            p.addLast("frame-encoder", RelayFrameEncoder.INSTANCE);
        }
        p.addLast("collector", new Collector());
    }

    private final class Collector extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf) {
                synchronized (circuitBytes) {
                    byte[] b = new byte[buf.readableBytes()];
                    buf.readBytes(b);
                    circuitBytes.write(b, 0, b.length);
                }
                buf.release();
                return;
            }
            if (msg instanceof RelayFrame.RecvDatagram d) {
                datagramCount.incrementAndGet();
                datagrams.add(d);
                return;
            }
            if (msg instanceof Frame f) {
                synchronized (frames) {
                    frames.add(f);
                }
                if (f instanceof RelayFrame.CircuitAttached) {
                    circuitMode = true;
                    if (ctx.pipeline().get("frame-decoder") != null) {
                        ctx.pipeline().remove("frame-decoder"); // the rest is circuit data
                    }
                }
                return;
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
                inputShutdown = true;
                if (!circuitMode || outputShutdown) {
                    ctx.close(); // the relay is done and so are we; in circuit mode we may still be sending
                }
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    // ------------------------------------------------------------------ actions

    /** Waits for SERVER_HELLO, proves {@code id}, and returns SERVER_ACCEPT or DENY. */
    public RelayFrame authenticate(NodeIdentity id, boolean acceptsCircuits) {
        return authenticate(id, acceptsCircuits, false);
    }

    /** As {@link #authenticate(NodeIdentity, boolean)}; with {@code sendChain} the identity's certificate chain goes along. */
    public RelayFrame authenticate(NodeIdentity id, boolean acceptsCircuits, boolean sendChain) {
        RelayFrame.ServerHello hello = awaitFrame(RelayFrame.ServerHello.class);
        byte[] sig = RelayAuthProof.sign(id, hello.challenge());
        List<byte[]> chain = new ArrayList<>();
        if (sendChain) {
            for (java.security.cert.X509Certificate c : id.certificateChain()) {
                try {
                    chain.add(c.getEncoded());
                } catch (java.security.cert.CertificateEncodingException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        send(new ClientFrame.ClientAuth(
                RelayProtocol.VERSION,
                acceptsCircuits ? ClientFrame.FLAG_ACCEPTS_CIRCUITS : 0,
                id.nodeKey(),
                sig,
                chain,
                "test-client"));
        return awaitAny(RelayFrame.ServerAccept.class, RelayFrame.Deny.class);
    }

    public void send(Frame frame) {
        channel.writeAndFlush(frame).syncUninterruptibly();
    }

    public void sendNoWait(Frame frame) {
        channel.writeAndFlush(frame);
    }

    public void sendDatagram(NodeKey to, byte[] payload) {
        send(new ClientFrame.SendDatagram(to, Unpooled.wrappedBuffer(payload)));
    }

    /** Writes raw bytes (circuit data, or hostile input). */
    public void writeRaw(byte[] bytes) {
        channel.writeAndFlush(Unpooled.wrappedBuffer(bytes)).syncUninterruptibly();
    }

    public void pauseReading() {
        channel.config().setAutoRead(false);
    }

    public void resumeReading() {
        channel.config().setAutoRead(true);
        channel.read();
    }

    /** Half-closes: TLS close_notify (or TCP FIN without TLS); reading continues. */
    public void shutdownOutput() throws Exception {
        outputShutdown = true;
        if (inputShutdown) {
            channel.eventLoop().execute(() -> {
                // both directions are done once our close_notify/FIN is out
            });
        }
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl != null) {
            ssl.closeOutbound().sync();
        } else {
            ((io.netty.channel.socket.SocketChannel) channel).shutdownOutput().sync();
        }
    }

    // ------------------------------------------------------------------ observations

    public <T extends Frame> T awaitFrame(Class<T> type) {
        return type.cast(awaitAny(type));
    }

    @SafeVarargs
    public final <T extends Frame> T awaitAny(Class<? extends T>... types) {
        Object[] found = new Object[1];
        Awaitility.await().atMost(WAIT).until(() -> {
            synchronized (frames) {
                for (int i = 0; i < frames.size(); i++) {
                    for (Class<? extends T> t : types) {
                        if (t.isInstance(frames.get(i))) {
                            found[0] = frames.remove(i);
                            return true;
                        }
                    }
                }
            }
            return false;
        });
        @SuppressWarnings("unchecked")
        T t = (T) found[0];
        return t;
    }

    /** Control frames received and not yet awaited. */
    public List<Frame> frames() {
        synchronized (frames) {
            return List.copyOf(frames);
        }
    }

    public <T extends Frame> long count(Class<T> type) {
        synchronized (frames) {
            return frames.stream().filter(type::isInstance).count();
        }
    }

    public BlockingQueue<RelayFrame.RecvDatagram> datagrams() {
        return datagrams;
    }

    /** Takes the next datagram's bytes (releasing it) or fails after {@link #WAIT}. */
    public Received takeDatagram() throws InterruptedException {
        RelayFrame.RecvDatagram d = datagrams.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (d == null) {
            throw new AssertionError("no datagram within " + WAIT);
        }
        try {
            byte[] b = new byte[d.payload().readableBytes()];
            d.payload().getBytes(d.payload().readerIndex(), b);
            return new Received(d.source(), b);
        } finally {
            d.release();
        }
    }

    public record Received(NodeKey source, byte[] payload) {}

    public int datagramsReceived() {
        return datagramCount.get();
    }

    public byte[] circuitBytes() {
        synchronized (circuitBytes) {
            return circuitBytes.toByteArray();
        }
    }

    public boolean inCircuitMode() {
        return circuitMode;
    }

    public boolean inputShutdown() {
        return inputShutdown;
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    public Channel channel() {
        return channel;
    }

    public void awaitClosed() {
        Awaitility.await().atMost(WAIT).until(() -> !channel.isActive());
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        RelayFrame.RecvDatagram d;
        while ((d = datagrams.poll()) != null) {
            d.release();
        }
    }
}
