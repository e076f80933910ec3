package dev.burrow.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.client.StunDemuxHandler;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How {@link EndpointDiscovery} judges the NAT's mapping from real STUN servers on loopback (no NAT:
 * every server sees the same endpoint). The symmetric verdict comes from the NAT lab
 * ({@code SprayNatTest}: {@code masquerade random} gives each server another port).
 */
@Timeout(30)
class EndpointDiscoveryMappingTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private InetSocketAddress stunServer() throws Exception {
        StunServer s = StunServer.start(
                StunServerConfig.udp(new InetSocketAddress("127.0.0.1", 0)),
                group,
                NioDatagramChannel.class,
                null,
                StunMetrics.NOOP);
        closing.add(s);
        return s.udpAddress();
    }

    /** A UDP port that receives and never answers. */
    private InetSocketAddress silentServer() throws Exception {
        DatagramSocket d = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        closing.add(d);
        return (InetSocketAddress) d.getLocalSocketAddress();
    }

    private EndpointDiscovery discovery(List<InetSocketAddress> servers) {
        StunClient[] stun = new StunClient[1];
        Channel ch = new Bootstrap()
                .group(group)
                .channel(NioDatagramChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        stun[0] = StunClient.attach(
                                c, RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(1)), StunMetrics.NOOP);
                        c.pipeline().addLast(new StunDemuxHandler(stun[0]));
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .syncUninterruptibly()
                .channel();
        closing.add(() -> ch.close().syncUninterruptibly());
        int port = ((InetSocketAddress) ch.localAddress()).getPort();
        return new EndpointDiscovery(stun[0], port, () -> servers, group.next(), eps -> {});
    }

    @Test
    void twoServersThatSeeOneEndpointMeanEndpointIndependentMapping() throws Exception {
        EndpointDiscovery d = discovery(List.of(stunServer(), stunServer()));
        assertThat(d.mappingVaries()).isNull(); // nothing asked yet
        d.refresh().get(10, TimeUnit.SECONDS);
        assertThat(d.mappingVaries()).isFalse();
        assertThat(d.stunUnanswered()).isFalse();
    }

    @Test
    void oneServerTellsNothing() throws Exception {
        EndpointDiscovery d = discovery(List.of(stunServer(), silentServer()));
        d.refresh().get(10, TimeUnit.SECONDS);
        assertThat(d.mappingVaries()).as("one answer of two").isNull();
        assertThat(d.stunUnanswered()).isFalse();
    }

    @Test
    void noAnswerAtAllMeansNoUdp() throws Exception {
        EndpointDiscovery d = discovery(List.of(silentServer(), silentServer()));
        d.refresh().get(10, TimeUnit.SECONDS);
        assertThat(d.stunUnanswered()).isTrue();
        assertThat(d.mappingVaries()).isNull();
    }

    @Test
    void aVerdictSurvivesARefreshWithFewerAnswers() throws Exception {
        InetSocketAddress live = stunServer();
        List<InetSocketAddress> servers = new ArrayList<>(List.of(live, stunServer()));
        EndpointDiscovery d = discovery(java.util.Collections.unmodifiableList(servers));
        d.refresh().get(10, TimeUnit.SECONDS);
        assertThat(d.mappingVaries()).isFalse();
        servers.set(1, silentServer());
        d.refresh().get(10, TimeUnit.SECONDS);
        assertThat(d.mappingVaries()).as("the last verdict stands").isFalse();
    }
}
