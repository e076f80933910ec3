package dev.burrow.agent.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.identity.tls.NodeTls;
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
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Found by the kill -9 fault test: when the path's transport ends its input before STATUS (the
 * relay process died, with half-closure on so the channel stays active), the open must fail at
 * once with a clear error instead of waiting for {@code OPEN_TIMEOUT} (90 s) while the local client
 * hangs. Here the "listener" completes end-to-end TLS, reads OPEN and sends a bare FIN.
 */
class PeerStreamDialerHalfCloseTest {
    @TempDir
    Path tmp;

    EventLoopGroup group;
    Channel server;

    @BeforeEach
    void setUp() {
        group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("half-close", true));
    }

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aTransportThatEndsBeforeStatusFailsTheOpenWithAClearError() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        NodeIdentity listener = ids.node("alice");
        NodeIdentity dialer = ids.node("bob");
        SslContext serverTls = NodeTls.server(listener, ids.verifier());
        server = new ServerBootstrap()
                .group(group)
                .channel(Transport.nio().serverSocketChannel())
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(serverTls.newHandler(ch.alloc()));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ReferenceCountUtil.release(
                                        msg); // the OPEN: answer with a FIN, no STATUS, no close_notify
                                ((SocketChannel) ctx.channel()).shutdownOutput();
                            }
                        });
                    }
                })
                .bind("127.0.0.1", 0)
                .syncUninterruptibly()
                .channel();
        PeerPath path = new RawLoopbackPath(group, server);
        CompletableFuture<PeerStream> open =
                new PeerStreamDialer(dialer, ids.verifier()).open(path, listener.nodeKey(), "web");
        // bounded well below OPEN_TIMEOUT: before the fix this get() timed out
        Throwable failure = catchThrowable(() -> open.get(30, TimeUnit.SECONDS));
        assertThat(failure).isInstanceOf(ExecutionException.class);
        assertThat(failure.getCause()).isInstanceOf(IOException.class).hasMessageContaining("before STATUS");
    }
}
