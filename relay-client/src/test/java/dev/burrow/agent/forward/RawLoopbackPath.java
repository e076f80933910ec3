package dev.burrow.agent.forward;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeKey;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A test path whose every stream is a plain loopback TCP connection (auto-read off, half-closure
 * on) to a stand-in listener; {@code onOpen} may decorate each channel (for example with
 * {@link PeerPath#PATH_SESSION}) before the dialer gets it.
 */
final class RawLoopbackPath implements PeerPath {
    private final EventLoopGroup group;
    private final Channel listener;
    private final Consumer<Channel> onOpen;

    RawLoopbackPath(EventLoopGroup group, Channel listener, Consumer<Channel> onOpen) {
        this.group = group;
        this.listener = listener;
        this.onOpen = onOpen;
    }

    RawLoopbackPath(EventLoopGroup group, Channel listener) {
        this(group, listener, ch -> {});
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
        CompletableFuture<Channel> f = new CompletableFuture<>();
        new Bootstrap()
                .group(group)
                .channel(Transport.nio().socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new ChannelInboundHandlerAdapter())
                .connect((InetSocketAddress) listener.localAddress())
                .addListener((ChannelFutureListener) cf -> {
                    if (cf.isSuccess()) {
                        onOpen.accept(cf.channel());
                        f.complete(cf.channel());
                    } else {
                        f.completeExceptionally(cf.cause());
                    }
                });
        return f;
    }
}
