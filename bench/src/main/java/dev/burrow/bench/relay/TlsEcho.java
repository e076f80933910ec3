package dev.burrow.bench.relay;

import dev.burrow.identity.tls.RelayTls;
import dev.burrow.protocol.HostPort;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The latency floor: a TLS 1.3 echo server with the relay's own TLS setup (JDK provider, the same
 * development certificate kind), so that a ping-pong over one direct TLS connection can be compared
 * with the same ping-pong through the relay. Runs in its own JVM, like the relay.
 *
 * <pre>java ... RelayBench tls-echo --listen 127.0.0.1:0 --transport epoll</pre>
 * Prints {@code ECHO port=P fingerprint=sha256:...} and serves until killed.
 */
final class TlsEcho {
    static void serve(Args a) throws Exception {
        String listen = a.string("listen", "127.0.0.1:0");
        Transport t = BenchClients.transport(a.string("transport", "epoll"));
        a.done();
        RelayTls.ServerCredentials creds = RelayTls.devSelfSigned(null, List.of());
        SslContext ssl = creds.sslContext();
        EventLoopGroup group = t.newEventLoopGroup(1, new DefaultThreadFactory("echo", false));
        HostPort bindTo = HostPort.parse(listen, HostPort.PORT_REQUIRED);
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(t.serverSocketChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc()), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ctx.writeAndFlush(msg);
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress(bindTo.host(), bindTo.port()))
                .sync()
                .channel();
        System.out.println("ECHO port=" + ((InetSocketAddress) server.localAddress()).getPort() + " fingerprint="
                + creds.fingerprint());
        System.out.flush();
        server.closeFuture().sync();
    }
}
