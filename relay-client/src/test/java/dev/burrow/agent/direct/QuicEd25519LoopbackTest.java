package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.identity.tls.NodeTrustManager;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.quic.BoringSSLContextOption;
import io.netty.handler.codec.quic.InsecureQuicTokenHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Feasibility: QUIC with Ed25519 node certificates on BoringSSL, both peers verified by NodeVerifier. */
@Timeout(60)
class QuicEd25519LoopbackTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

    @AfterEach
    void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void mutualEd25519HandshakeAndEcho() throws Exception {
        NodeIdentity server = NodeIdentity.ephemeral("server");
        NodeIdentity client = NodeIdentity.ephemeral("client");
        NodeVerifier anySelfSigned =
                NodeVerifier.builder().acceptAnySelfSigned(true).build();
        NodeVerifier strict = NodeVerifier.builder().build();
        CompletableFuture<VerifiedPeer> serverSaw = new CompletableFuture<>();

        ChannelHandler serverCodec = new QuicServerCodecBuilder()
                .sslContext(DirectTls.server(server, anySelfSigned))
                .maxIdleTimeout(5, TimeUnit.SECONDS)
                .initialMaxData(1 << 20)
                .initialMaxStreamDataBidirectionalLocal(1 << 18)
                .initialMaxStreamDataBidirectionalRemote(1 << 18)
                .initialMaxStreamsBidirectional(16)
                .tokenHandler(InsecureQuicTokenHandler.INSTANCE)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        QuicChannel qc = (QuicChannel) ctx.channel();
                        try {
                            serverSaw.complete(
                                    NodeTls.verifiedPeer(qc.sslEngine().getSession(), strict, client.nodeKey()));
                        } catch (Exception e) {
                            serverSaw.completeExceptionally(e);
                        }
                    }
                })
                .streamHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ctx.writeAndFlush(msg);
                    }
                })
                .build();
        Channel serverSocket = new Bootstrap()
                .group(group)
                .channel(NioDatagramChannel.class)
                .handler(serverCodec)
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();

        ChannelHandler clientCodec = new QuicClientCodecBuilder()
                .sslContext(DirectTls.client(client, strict, server.nodeKey()))
                .maxIdleTimeout(5, TimeUnit.SECONDS)
                .initialMaxData(1 << 20)
                .initialMaxStreamDataBidirectionalLocal(1 << 18)
                .initialMaxStreamDataBidirectionalRemote(1 << 18)
                .build();
        Channel clientSocket = new Bootstrap()
                .group(group)
                .channel(NioDatagramChannel.class)
                .handler(clientCodec)
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();

        QuicChannel qc = QuicChannel.newBootstrap(clientSocket)
                .streamHandler(new ChannelInboundHandlerAdapter())
                .remoteAddress(serverSocket.localAddress())
                .connect()
                .get(10, TimeUnit.SECONDS);
        VerifiedPeer clientSaw = NodeTls.verifiedPeer(qc.sslEngine().getSession(), strict, server.nodeKey());
        assertThat(clientSaw.nodeKey()).isEqualTo(server.nodeKey());
        assertThat(serverSaw.get(10, TimeUnit.SECONDS).nodeKey()).isEqualTo(client.nodeKey());

        CompletableFuture<String> echo = new CompletableFuture<>();
        QuicStreamChannel stream = qc.createStream(QuicStreamType.BIDIRECTIONAL, new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf b = (ByteBuf) msg;
                        echo.complete(b.toString(StandardCharsets.UTF_8));
                        b.release();
                    }
                })
                .get(10, TimeUnit.SECONDS);
        stream.writeAndFlush(Unpooled.copiedBuffer("hello over QUIC", StandardCharsets.UTF_8));
        assertThat(echo.get(10, TimeUnit.SECONDS)).isEqualTo("hello over QUIC");
        qc.close().sync();
        clientSocket.close().sync();
        serverSocket.close().sync();
    }

    /** An agent of the previous direct stream format (ALPN burrow-direct/1) never gets a QUIC connection. */
    @Test
    void aVersion1PeerFailsTheHandshake() throws Exception {
        NodeIdentity server = NodeIdentity.ephemeral("server");
        NodeIdentity client = NodeIdentity.ephemeral("client");
        NodeVerifier strict = NodeVerifier.builder().build();
        AtomicBoolean serverUp = new AtomicBoolean();
        Channel serverSocket = new Bootstrap()
                .group(group)
                .channel(NioDatagramChannel.class)
                .handler(new QuicServerCodecBuilder()
                        .sslContext(DirectTls.server(
                                server,
                                NodeVerifier.builder().acceptAnySelfSigned(true).build()))
                        .maxIdleTimeout(5, TimeUnit.SECONDS)
                        .initialMaxData(1 << 20)
                        .initialMaxStreamsBidirectional(16)
                        .tokenHandler(InsecureQuicTokenHandler.INSTANCE)
                        .handler(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                serverUp.set(true);
                            }
                        })
                        .streamHandler(new ChannelInboundHandlerAdapter())
                        .build())
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        QuicSslContext v1 = QuicSslContextBuilder.forClient()
                .keyManager(new DirectKeyManager(client), null)
                .trustManager(new NodeTrustManager(strict, server.nodeKey()))
                .applicationProtocols("burrow-direct/1")
                .option(BoringSSLContextOption.SIGNATURE_ALGORITHMS, DirectTls.SIGNATURE_ALGORITHMS)
                .earlyData(false)
                .build();
        Channel clientSocket = new Bootstrap()
                .group(group)
                .channel(NioDatagramChannel.class)
                .handler(new QuicClientCodecBuilder()
                        .sslContext(v1)
                        .maxIdleTimeout(3, TimeUnit.SECONDS)
                        .initialMaxData(1 << 20)
                        .build())
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        var connect = QuicChannel.newBootstrap(clientSocket)
                .streamHandler(new ChannelInboundHandlerAdapter())
                .remoteAddress(serverSocket.localAddress())
                .connect();
        connect.await(15, TimeUnit.SECONDS);
        assertThat(connect.isDone()).isTrue();
        assertThat(connect.isSuccess()).isFalse();
        assertThat(serverUp).isFalse();
        clientSocket.close().sync();
        serverSocket.close().sync();
    }
}
