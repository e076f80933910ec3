package dev.burrow.agent.service;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeKey;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * A test path: each stream is a loopback TCP connection whose server end goes straight into a gate,
 * with the claimed peer and service the test chooses (or, by default, the dialer's key and the
 * requested service, as an honest relay would report them).
 */
final class LoopbackPath implements PeerPath {
    private final EventLoopGroup group;
    private final Transport transport = Transport.nio();
    private final Channel server;
    private volatile NodeKey dialerKey;
    private volatile NodeKey claimedOverride;
    private volatile UnaryOperator<String> announcedService = s -> s;
    private volatile String lastRequestedService;

    LoopbackPath(EventLoopGroup group, InboundStreamGate gate) {
        this.group = group;
        this.server = new ServerBootstrap()
                .group(group)
                .channel(transport.serverSocketChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new io.netty.channel.ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        NodeKey claimed = claimedOverride != null ? claimedOverride : dialerKey;
                        ch.eventLoop()
                                .execute(() -> gate.accept(new InboundStream(
                                        ch, "loopback", claimed, announcedService.apply(lastRequestedService))));
                    }
                })
                .bind("127.0.0.1", 0)
                .syncUninterruptibly()
                .channel();
    }

    void dialerKey(NodeKey k) {
        dialerKey = k;
    }

    /** Makes the path lie about who opened the stream (identity spoofing in routing metadata). */
    void claim(NodeKey k) {
        claimedOverride = k;
    }

    void announce(UnaryOperator<String> f) {
        announcedService = f;
    }

    @Override
    public String name() {
        return "loopback";
    }

    @Override
    public boolean isUp() {
        return true;
    }

    @Override
    public CompletableFuture<Channel> open(NodeKey peer, String service) {
        lastRequestedService = service;
        CompletableFuture<Channel> f = new CompletableFuture<>();
        new Bootstrap()
                .group(group)
                .channel(transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new ChannelInboundHandlerAdapter())
                .connect((InetSocketAddress) server.localAddress())
                .addListener((io.netty.channel.ChannelFutureListener) cf -> {
                    if (cf.isSuccess()) {
                        f.complete(cf.channel());
                    } else {
                        f.completeExceptionally(cf.cause());
                    }
                });
        return f;
    }

    void close() {
        server.close().syncUninterruptibly();
    }
}
