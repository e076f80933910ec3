package dev.burrow.agent.relay;

import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.FrameType;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Opens TLS connections to a relay and sets up the HTTP upgrade or WebSocket handshake in front of
 * the relay frame codec. The control connection lives on the client's event loop; a circuit
 * connection on the loop of whatever it will be spliced to.
 *
 * <p>Pipeline, upgrade mode: {@code tls, [bytes], http, upgrade, frame-decoder, frame-encoder, <top>};
 * the {@code http} and {@code upgrade} handlers leave on {@code 101}. WebSocket mode:
 * {@code tls, [bytes], http, ws-aggregator, ws, ws-adapter, frame-decoder, frame-encoder, <top>}
 * (Netty's handshaker swaps {@code http} for the WebSocket frame codec).
 */
final class RelayDialer {
    static final String TLS = "tls";
    static final String BYTES = "bytes";
    static final String HTTP = "http";
    static final String UPGRADE = "upgrade";
    static final String WS = "ws";
    static final String WS_ADAPTER = "ws-adapter";
    static final String FRAME_DECODER = "frame-decoder";
    static final String FRAME_ENCODER = "frame-encoder";

    /** Longest HTTP status line we read from a relay or proxy. */
    static final int MAX_HTTP_INITIAL_LINE = 4096;
    /** Largest HTTP response header block: a 101 has a handful of headers; 8 KiB is generous. */
    static final int MAX_HTTP_HEADERS = 8192;
    /** Largest (aggregated) HTTP body read during a WebSocket handshake; a refusal's body is not needed. */
    static final int MAX_HANDSHAKE_BODY = 8192;
    /**
     * Largest WebSocket message: one maximal frame (a 64 KiB datagram plus key and header) with
     * room for circuit data chunks, which relays send in pieces of at most 64 KiB. Bounds what one
     * message can make us buffer.
     */
    static final int MAX_WEBSOCKET_MESSAGE = 4 * (FrameLimits.HEADER_LENGTH + FrameType.SEND_DATAGRAM.maxPayload());

    private final Class<? extends SocketChannel> channelClass;
    private final SslContext sslContext;
    private final Duration connectTimeout;
    private final Duration handshakeTimeout;

    RelayDialer(
            Class<? extends SocketChannel> channelClass,
            SslContext sslContext,
            Duration connectTimeout,
            Duration handshakeTimeout) {
        this.channelClass = channelClass;
        this.sslContext = sslContext;
        this.connectTimeout = connectTimeout;
        this.handshakeTimeout = handshakeTimeout;
    }

    /**
     * Connects to {@code address} and prepares the pipeline.
     *
     * @param on        the event loop of the new channel (the client's, or one near the circuit's other end)
     * @param remote    the resolved address to connect to ({@code address} still names the host for SNI,
     *                  certificate checks and HTTP)
     * @param mode      {@link ConnectMode#UPGRADE} or {@link ConnectMode#WEBSOCKET}
     * @param path      {@link RelayProtocol#CONTROL_PATH} or {@link RelayProtocol#CIRCUIT_PATH}
     * @param policy    what the frame decoder accepts
     * @param counter   byte counter, or null
     * @param top       the handler above the frame codec (control or attach)
     * @param halfClose allow half-closure (circuit connections)
     * @param relayTls  false for a circuit connection without relay TLS (upgrade mode only)
     */
    ChannelFuture connect(
            EventLoop on,
            RelayAddress address,
            SocketAddress remote,
            ConnectMode mode,
            String path,
            FramePolicy policy,
            ByteCounter counter,
            ChannelHandler top,
            boolean halfClose,
            boolean relayTls) {
        if (!relayTls && (mode != ConnectMode.UPGRADE || !RelayProtocol.CIRCUIT_PATH.equals(path))) {
            throw new IllegalArgumentException("only circuit connections in upgrade mode may skip relay TLS");
        }
        if (mode != ConnectMode.UPGRADE && mode != ConnectMode.WEBSOCKET) {
            throw new IllegalArgumentException("dial with a concrete mode, not " + mode);
        }
        Bootstrap b = new Bootstrap()
                .group(on)
                .channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int)
                        Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, halfClose)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (relayTls) {
                            SslHandler tls = sslContext.newHandler(ch.alloc(), address.host(), address.port());
                            tls.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
                            p.addLast(TLS, tls);
                        }
                        if (counter != null) {
                            p.addLast(BYTES, counter);
                        }
                        p.addLast(
                                HTTP, new HttpClientCodec(MAX_HTTP_INITIAL_LINE, MAX_HTTP_HEADERS, MAX_HANDSHAKE_BODY));
                        if (mode == ConnectMode.UPGRADE) {
                            p.addLast(UPGRADE, new HttpUpgradeHandler(address.authority(), path));
                            p.addLast(FRAME_DECODER, new RelayFrameDecoder(policy));
                            p.addLast(FRAME_ENCODER, RelayFrameEncoder.INSTANCE);
                        } else {
                            p.addLast("ws-aggregator", new HttpObjectAggregator(MAX_HANDSHAKE_BODY));
                            p.addLast(WS, new WebSocketClientProtocolHandler(webSocketConfig(address, path)));
                            p.addLast(WS_ADAPTER, new WebSocketBinaryAdapter());
                            p.addLast(FRAME_DECODER, new RelayFrameDecoder(policy));
                            p.addLast(FRAME_ENCODER, SingleBufferFrameEncoder.INSTANCE);
                        }
                        p.addLast(top);
                    }
                });
        return b.connect(remote);
    }

    private WebSocketClientProtocolConfig webSocketConfig(RelayAddress address, String path) {
        return WebSocketClientProtocolConfig.newBuilder()
                .webSocketUri(address.webSocketUri(path))
                .version(WebSocketVersion.V13)
                .subprotocol(RelayProtocol.WEBSOCKET_SUBPROTOCOL)
                .allowExtensions(false)
                .customHeaders(new DefaultHttpHeaders())
                .maxFramePayloadLength(MAX_WEBSOCKET_MESSAGE)
                .handleCloseFrames(true)
                .dropPongFrames(true)
                .handshakeTimeoutMillis(handshakeTimeout.toMillis())
                .build();
    }

    /**
     * Resolves the relay's host off the event loop (the JDK resolver blocks), on a virtual thread;
     * IP literals need no lookup. Happy eyeballs is not attempted: the first address is used.
     */
    static CompletableFuture<InetSocketAddress> resolve(RelayAddress address) {
        String host = address.host();
        if (NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)) {
            return CompletableFuture.completedFuture(
                    new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(host), address.port()));
        }
        CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
        Thread.ofVirtual().name("burrow-relay-dns").start(() -> {
            try {
                result.complete(new InetSocketAddress(InetAddress.getByName(host), address.port()));
            } catch (UnknownHostException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }
}
