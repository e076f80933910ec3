package dev.burrow.agent.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.stream.PeerStreamCodec;
import dev.burrow.agent.stream.PeerStreamMessage;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dialer builds one TLS client context per peer, not per stream, and a reused context is as
 * strict as a fresh one: pinned to the dialled key, so another node behind the path is refused.
 */
class PeerStreamDialerContextReuseTest {
    @TempDir
    Path tmp;

    EventLoopGroup group;
    final List<Channel> servers = new ArrayList<>();

    @BeforeEach
    void setUp() {
        group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("ctx-reuse", true));
    }

    @AfterEach
    void tearDown() {
        servers.forEach(s -> s.close().syncUninterruptibly());
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void streamsToOnePeerShareOneContextAndAnotherNodeIsStillRefused() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        NodeIdentity alice = ids.node("alice");
        NodeIdentity mallory = ids.node("mallory");
        NodeIdentity bob = ids.node("bob");
        PeerPath toAlice = pathTo(listenerAnsweringOk(NodeTls.server(alice, ids.verifier())));
        PeerPath toMallory = pathTo(listenerAnsweringOk(NodeTls.server(mallory, ids.verifier())));
        PeerStreamDialer dialer = new PeerStreamDialer(bob, ids.verifier());

        for (int i = 0; i < 3; i++) {
            PeerStream s = dialer.open(toAlice, alice.nodeKey(), "web").get(30, TimeUnit.SECONDS);
            assertThat(s.peer().nodeKey()).isEqualTo(alice.nodeKey());
            s.channel().close();
        }
        assertThat(dialer.tlsContextsBuilt()).isEqualTo(1);

        // the path leads to mallory while bob dials alice: the reused context pinned to alice refuses
        Throwable wrong = catchThrowable(
                () -> dialer.open(toMallory, alice.nodeKey(), "web").get(30, TimeUnit.SECONDS));
        assertThat(wrong).isInstanceOf(ExecutionException.class);
        assertThat(wrong.getCause()).isInstanceOf(SSLException.class);
        assertThat(dialer.tlsContextsBuilt()).isEqualTo(1);

        // a second peer gets a context of its own, pinned to it
        PeerStream m = dialer.open(toMallory, mallory.nodeKey(), "web").get(30, TimeUnit.SECONDS);
        assertThat(m.peer().nodeKey()).isEqualTo(mallory.nodeKey());
        m.channel().close();
        assertThat(dialer.tlsContextsBuilt()).isEqualTo(2);
    }

    /** A listener that completes TLS, reads OPEN and answers STATUS OK. */
    private Channel listenerAnsweringOk(SslContext serverTls) {
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(Transport.nio().serverSocketChannel())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(serverTls.newHandler(ch.alloc()));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ReferenceCountUtil.release(msg); // the OPEN
                                ctx.writeAndFlush(PeerStreamCodec.encode(PeerStreamMessage.Status.ok(), ctx.alloc()));
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close(); // the refused handshake
                            }
                        });
                    }
                })
                .bind("127.0.0.1", 0)
                .syncUninterruptibly()
                .channel();
        servers.add(server);
        return server;
    }

    private PeerPath pathTo(Channel server) {
        return new RawLoopbackPath(group, server);
    }
}
