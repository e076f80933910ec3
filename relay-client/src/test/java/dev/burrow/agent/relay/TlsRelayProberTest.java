package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The latency probe against a fake relay, a relay we do not trust, a closed port and a silent server. */
class TlsRelayProberTest {
    private static final long WAIT_SECONDS = 60;

    private EventLoopGroup group;
    private FakeRelay relay;

    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        relay = new FakeRelay();
    }

    @AfterEach
    void stop() {
        relay.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private TlsRelayProber prober(String fingerprint, Duration timeout) throws Exception {
        return new TlsRelayProber(
                group.next(),
                NioSocketChannel.class,
                RelayTrust.pinned(fingerprint).sslContext(),
                timeout);
    }

    @Test
    void measuresATrustedRelayWithoutOpeningASession() throws Exception {
        Duration rtt = prober(relay.fingerprint(), Duration.ofSeconds(20))
                .probe(relay.url())
                .get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(rtt).isPositive();
        assertThat(relay.controlConnections.get()).isZero();
        assertThat(relay.upgradeRequests.get()).isZero();
    }

    @Test
    void aRelayWithAnotherCertificateIsUnreachable() throws Exception {
        try (FakeRelay other = new FakeRelay()) {
            assertThatThrownBy(() -> prober(relay.fingerprint(), Duration.ofSeconds(20))
                            .probe(other.url())
                            .get(WAIT_SECONDS, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
        }
    }

    @Test
    void aClosedPortFails() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        URI closed = URI.create("https://127.0.0.1:" + port);
        assertThatThrownBy(() -> prober(relay.fingerprint(), Duration.ofSeconds(20))
                        .probe(closed)
                        .get(WAIT_SECONDS, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class);
    }

    @Test
    void aSilentServerTimesOut() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try (Socket s = silent.accept()) {
                    s.getInputStream().readAllBytes(); // reads, never answers
                } catch (Exception ignored) {
                    // closed by the test
                }
            });
            URI url = URI.create("https://127.0.0.1:" + silent.getLocalPort());
            assertThatThrownBy(() -> prober(relay.fingerprint(), Duration.ofMillis(500))
                            .probe(url)
                            .get(WAIT_SECONDS, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(RelayTimeoutException.class);
            acceptor.interrupt();
        }
    }

    @Test
    void aBadUrlFailsTheFuture() throws Exception {
        assertThatThrownBy(() -> prober(relay.fingerprint(), Duration.ofSeconds(1))
                        .probe(URI.create("http://x"))
                        .get(WAIT_SECONDS, TimeUnit.SECONDS))
                .hasCauseInstanceOf(IllegalArgumentException.class);
    }
}
