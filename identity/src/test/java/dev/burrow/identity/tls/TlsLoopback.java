package dev.burrow.identity.tls;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A TLS server and client on loopback with Netty; reports both handshake results. */
final class TlsLoopback implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final CompletableFuture<SslHandler> serverHandler = new CompletableFuture<>();
    private Channel serverChannel;
    private Channel clientChannel;

    record Result(SslHandler server, Throwable serverError, SslHandler client, Throwable clientError) {
        boolean ok() {
            return serverError == null && clientError == null;
        }
    }

    Result handshake(SslContext serverCtx, SslContext clientCtx) throws Exception {
        serverChannel = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler h = serverCtx.newHandler(ch.alloc());
                        ch.pipeline().addLast(h);
                        serverHandler.complete(h);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        int port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
        CompletableFuture<SslHandler> clientHandler = new CompletableFuture<>();
        clientChannel = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler h = clientCtx.newHandler(ch.alloc(), "127.0.0.1", port);
                        ch.pipeline().addLast(h);
                        clientHandler.complete(h);
                    }
                })
                .connect("127.0.0.1", port)
                .sync()
                .channel();
        SslHandler c = clientHandler.get(10, TimeUnit.SECONDS);
        SslHandler s = serverHandler.get(10, TimeUnit.SECONDS);
        Future<Channel> cf = c.handshakeFuture().await();
        Future<Channel> sf = s.handshakeFuture().await();
        if (!cf.await(10, TimeUnit.SECONDS) || !sf.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("handshake did not finish");
        }
        return new Result(s, sf.cause(), c, cf.cause());
    }

    @Override
    public void close() throws Exception {
        if (clientChannel != null) {
            clientChannel.close().await(5, TimeUnit.SECONDS);
        }
        if (serverChannel != null) {
            serverChannel.close().await(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }
}
