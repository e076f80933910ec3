package dev.burrow.cli.stun;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.cli.Main;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code burrow stun-probe} and {@code burrow stun-server} option handling, in-process. */
class StunCommandsTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(run("stun-server", "--rate-limit", "abc").exit()).isEqualTo(2);
        assertThat(run("stun-server", "--listen", "127.0.0.1:70000").exit()).isEqualTo(2);
        assertThat(run("stun-server", "--listen", "127.0.0.1:3478", "--rfc5780-alt", "127.0.0.1:3479")
                        .exit())
                .isEqualTo(2);
        assertThat(run("stun-probe", "127.0.0.1:0").exit()).isEqualTo(2);
        assertThat(run("stun-probe", "--timeout", "forever", "127.0.0.1").exit())
                .isEqualTo(2);
        assertThat(run("stun-probe", "::1:3478").err()).contains("brackets");
    }

    @Test
    void probePrintsTextAndJson() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        try (StunServer a = StunServer.start(
                        StunServerConfig.udp(new InetSocketAddress(lo, 0)),
                        group,
                        NioDatagramChannel.class,
                        null,
                        StunMetrics.NOOP);
                StunServer b = StunServer.start(
                        StunServerConfig.udp(new InetSocketAddress(lo, 0)),
                        group,
                        NioDatagramChannel.class,
                        null,
                        StunMetrics.NOOP)) {
            String s1 = "127.0.0.1:" + a.udpAddress().getPort();
            String s2 = "127.0.0.1:" + b.udpAddress().getPort();
            Run text = run("stun-probe", "--transport", "nio", "--bind", "127.0.0.1:0", s1, s2);
            assertThat(text.exit()).as(text.err()).isZero();
            assertThat(text.out())
                    .contains("mapping behaviour:   endpoint-independent")
                    .contains("NAT:                 no");
            Run json = run("stun-probe", "--transport", "nio", "--bind", "127.0.0.1:0", "-o", "json", s1, s2);
            assertThat(json.exit()).isZero();
            var j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
            assertThat(j.path("mapping").asText()).isEqualTo("endpoint_independent");
            assertThat(j.path("nat").isBoolean()).isTrue();
            assertThat(j.path("nat").asBoolean()).isFalse();
            assertThat(j.path("observations").findValuesAsText("server")).contains(s1);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
