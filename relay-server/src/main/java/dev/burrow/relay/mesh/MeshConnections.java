package dev.burrow.relay.mesh;

import dev.burrow.relay.mesh.protocol.MeshProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens mesh connections to siblings: TCP (TLS when this relay runs TLS, except pooled circuit
 * connections that may be plain), {@code GET /v1/mesh} with
 * {@code Upgrade: burrow-mesh-v1} ({@link MeshUpgrade}), then the dialer's side of the handshake
 * ({@link MeshHandshake}). Links ({@link MeshPeers}) and cross-relay circuits ({@link MeshForwarding})
 * both dial through it. Immutable after construction.
 */
final class MeshConnections {
    private static final Logger log = LoggerFactory.getLogger(MeshConnections.class);
    /** Connect timeout of a mesh connection: siblings are in the same cluster. */
    static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private final MeshNode node;
    private final EventLoop loop;
    private final Class<? extends SocketChannel> channelClass;
    private final WriteBufferWaterMark waterMark;
    /** A sibling that never finishes the handshake is cut off after this long. */
    private final Duration handshakeTimeout;

    private final SslContext clientTls;

    MeshConnections(
            MeshNode node,
            EventLoop loop,
            Class<? extends SocketChannel> channelClass,
            WriteBufferWaterMark waterMark,
            Duration handshakeTimeout,
            boolean tls)
            throws SSLException {
        this.node = node;
        this.loop = loop;
        this.channelClass = channelClass;
        this.waterMark = waterMark;
        this.handshakeTimeout = handshakeTimeout;
        // Siblings' certificates are not checked by a CA: the mesh key authenticates them, and the
        // AUTH MACs cover the certificate we were shown, so an interceptor cannot pass (see MeshAuth).
        this.clientTls = tls
                ? SslContextBuilder.forClient()
                        .trustManager(InsecureTrustManagerFactory.INSTANCE)
                        .protocols("TLSv1.3")
                        .build()
                : null;
    }

    /** True when this relay runs TLS, so its mesh connections do too (unless asked for plain ones). */
    boolean tls() {
        return clientTls != null;
    }

    /** Opens a mesh connection of {@code purpose} to {@code address}; {@code done} runs after the handshake. */
    ChannelFuture connect(InetSocketAddress address, MeshProtocol.Purpose purpose, MeshHandshake.Done done) {
        return connect(address, purpose, tls(), done);
    }

    /**
     * Like {@link #connect(InetSocketAddress, MeshProtocol.Purpose, MeshHandshake.Done)}, with relay
     * TLS only when {@code tls} (and this relay runs TLS): a pooled circuit connection may be plain
     * TCP, since it carries the agents' end-to-end TLS and is authenticated by the mesh key.
     */
    ChannelFuture connect(
            InetSocketAddress address, MeshProtocol.Purpose purpose, boolean tls, MeshHandshake.Done done) {
        SslContext ssl = tls ? clientTls : null;
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ChannelPipeline p = ch.pipeline();
                        // a sibling that never finishes the handshake is cut off
                        var deadline = ch.eventLoop()
                                .schedule(
                                        () -> {
                                            if (p.get(MeshHandshake.class) != null
                                                    || p.get(MeshUpgrade.class) != null) {
                                                ch.close();
                                            }
                                        },
                                        handshakeTimeout.toMillis(),
                                        TimeUnit.MILLISECONDS);
                        ch.closeFuture().addListener(f -> deadline.cancel(false));
                        if (ssl != null) {
                            p.addLast("tls", ssl.newHandler(ch.alloc(), address.getHostString(), address.getPort()));
                        }
                        p.addLast("http", new HttpClientCodec());
                        p.addLast(
                                "mesh-upgrade",
                                new MeshUpgrade(address.getHostString() + ":" + address.getPort(), ctx -> {
                                    p.addAfter("mesh-decoder", "mesh-encoder", MeshFrameEncoder.INSTANCE);
                                    p.addAfter(
                                            "mesh-encoder",
                                            "mesh-handshake",
                                            new MeshHandshake(node, MeshAuth.Role.DIALER, purpose, done));
                                }));
                    }
                });
        ChannelFuture f = b.connect(address);
        f.addListener(x -> {
            if (!x.isSuccess()) {
                log.atDebug()
                        .addKeyValue("event", "mesh_connect_failed")
                        .addKeyValue("address", address)
                        .addKeyValue("error", x.cause().toString())
                        .log("mesh connect failed");
            }
        });
        return f;
    }
}
