package dev.burrow.stun.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.stun.client.BindingResult;
import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.metrics.CountingStunMetrics;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Interop with coturn on loopback, both directions: our client against turnserver, turnutils_stunclient against our server. */
class CoturnInteropTest {
    private static final Pattern REFLEXIVE = Pattern.compile("UDP reflexive addr: ([0-9.]+):(\\d+)");
    private static EventLoopGroup group;

    @BeforeAll
    static void startGroup() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void ourClientAgainstTurnserver(@TempDir Path dir) throws Exception {
        Path turnserver = Coturn.requireBinary("turnserver");
        int port = Coturn.freePort();
        Process coturn = Coturn.startTurnserver(turnserver, port, dir, List.of());
        CountingStunMetrics metrics = new CountingStunMetrics();
        try (StunClient client = StunClient.open(
                group,
                NioDatagramChannel.class,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(2)),
                metrics)) {
            InetSocketAddress server = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            BindingResult[] result = new BindingResult[1];
            // turnserver needs a moment to open its sockets
            Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                assertThat(coturn.isAlive())
                        .as("turnserver running; log: %s", log(dir))
                        .isTrue();
                result[0] = client.bind(server).get(3, TimeUnit.SECONDS);
                return true;
            });
            assertThat(result[0].mappedAddress()).isEqualTo(client.localAddress());
            assertThat(result[0].respondedFrom()).isEqualTo(server);
            // and several more, back to back
            for (int i = 0; i < 20; i++) {
                assertThat(client.bind(server).get(3, TimeUnit.SECONDS).mappedAddress())
                        .isEqualTo(client.localAddress());
            }
        } finally {
            Coturn.stop(coturn);
        }
    }

    @Test
    void turnutilsStunclientAgainstOurServer() throws Exception {
        Path stunclient = Coturn.requireBinary("turnutils_stunclient");
        CountingStunMetrics metrics = new CountingStunMetrics();
        try (StunServer server = StunServer.start(
                StunServerConfig.udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)),
                group,
                NioDatagramChannel.class,
                NioServerSocketChannel.class,
                metrics)) {
            String out = Coturn.run(
                    List.of(
                            stunclient.toString(),
                            "-p",
                            Integer.toString(server.udpAddress().getPort()),
                            "127.0.0.1"),
                    30);
            Matcher m = REFLEXIVE.matcher(out);
            assertThat(m.find()).as("reflexive address in output: %s", out).isTrue();
            assertThat(m.group(1)).isEqualTo("127.0.0.1");
            assertThat(Integer.parseInt(m.group(2))).isBetween(1, 65535);
            assertThat(metrics.responses(false))
                    .as("answered; metrics %s", metrics)
                    .isPositive();
            assertThat(metrics.totalDropped()).isZero();
        }
    }

    @Test
    void turnutilsStunclientRfc5780AgainstOurServer() throws Exception {
        Path stunclient = Coturn.requireBinary("turnutils_stunclient");
        CountingStunMetrics metrics = new CountingStunMetrics();
        StunServerConfig config = StunServerConfig.udp(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                .withRfc5780Alternate(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
        try (StunServer server = StunServer.start(config, group, NioDatagramChannel.class, null, metrics)) {
            String out = Coturn.run(
                    List.of(
                            stunclient.toString(),
                            "-f",
                            "-p",
                            Integer.toString(server.udpAddress().getPort()),
                            "127.0.0.1"),
                    20);
            InetSocketAddress other = server.udpAddresses().get(3);
            // coturn's client sends CHANGE-REQUEST, RESPONSE-PORT and PADDING; it prints each answer's origin.
            assertThat(out)
                    .as("output: %s", out)
                    .contains("Other addr: : 127.0.0.2:" + other.getPort())
                    .contains("Response origin: : 127.0.0.2:" + other.getPort())
                    .contains("UDP reflexive addr: 127.0.0.1:");
            assertThat(metrics.totalDropped()).isZero();
        }
    }

    private static String log(Path dir) {
        try {
            return Files.readString(dir.resolve("turnserver.log"));
        } catch (Exception e) {
            return "(no log)";
        }
    }

    static StunMetrics noop() {
        return StunMetrics.NOOP;
    }
}
