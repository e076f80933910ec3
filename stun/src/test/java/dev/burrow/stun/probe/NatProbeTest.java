package dev.burrow.stun.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The probe against our own servers on loopback, where there is no NAT. */
class NatProbeTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void startGroup() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static StunServer server(StunServerConfig config) throws Exception {
        return StunServer.start(config, group, NioDatagramChannel.class, null, StunMetrics.NOOP);
    }

    private static StunClient client(InetAddress bind) throws Exception {
        return StunClient.open(
                group,
                NioDatagramChannel.class,
                new InetSocketAddress(bind, 0),
                RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(2)),
                StunMetrics.NOOP);
    }

    @Test
    void twoServersOnLoopbackAreEndpointIndependentWithoutNat() throws Exception {
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        try (StunServer a = server(StunServerConfig.udp(new InetSocketAddress(lo, 0)));
                StunServer b = server(StunServerConfig.udp(new InetSocketAddress(lo, 0)));
                StunClient client = client(lo)) {
            NatProbeReport r = new NatProbe(client, RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(2)))
                    .run(List.of(a.udpAddress(), b.udpAddress()));
            assertThat(r.observations()).hasSize(2).allMatch(ServerObservation::succeeded);
            assertThat(r.mapping()).isEqualTo(MappingBehavior.ENDPOINT_INDEPENDENT);
            assertThat(r.filtering()).isEqualTo(FilteringBehavior.UNKNOWN);
            assertThat(r.natDetected()).isFalse();
            assertThat(r.publicEndpoints()).containsExactly(client.localAddress());
        }
    }

    @Test
    void rfc5780ServerOnLoopbackShowsEndpointIndependentMappingAndFiltering() throws Exception {
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        StunServerConfig config = StunServerConfig.udp(new InetSocketAddress(lo, 0))
                .withRfc5780Alternate(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
        try (StunServer s = server(config);
                StunClient client = client(lo)) {
            NatProbeReport r = new NatProbe(client, RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(2)))
                    .run(List.of(s.udpAddress()));
            assertThat(r.observations())
                    .extracting(ServerObservation::test)
                    .containsExactly(
                            "binding",
                            "filtering: change IP and port",
                            "rfc5780 alternate IP",
                            "rfc5780 alternate IP and port");
            assertThat(r.mapping()).isEqualTo(MappingBehavior.ENDPOINT_INDEPENDENT);
            assertThat(r.filtering()).isEqualTo(FilteringBehavior.ENDPOINT_INDEPENDENT);
            assertThat(r.natDetected()).isFalse();
        }
    }

    @Test
    void unansweredServerIsReportedAndLeavesMappingUnknown() throws Exception {
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        try (StunServer a = server(StunServerConfig.udp(new InetSocketAddress(lo, 0)));
                java.net.DatagramSocket silent = new java.net.DatagramSocket(new InetSocketAddress(lo, 0));
                StunClient client = client(lo)) {
            NatProbeReport r = new NatProbe(client, RetransmissionPolicy.rfc8489Within(Duration.ofMillis(600)))
                    .run(List.of(a.udpAddress(), (InetSocketAddress) silent.getLocalSocketAddress()));
            assertThat(r.observations().get(1).error()).isEqualTo("no answer");
            assertThat(r.mapping()).isEqualTo(MappingBehavior.UNKNOWN);
        }
    }
}
