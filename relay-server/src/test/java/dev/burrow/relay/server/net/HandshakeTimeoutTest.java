package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** slowloris: slowloris connections are closed by the handshake deadline while a legitimate client connects normally. */
class HandshakeTimeoutTest {
    private RelayServer relay;

    @BeforeEach
    void start() throws Exception {
        // warm up TLS and the JIT on a relay with the default deadline, so that the legitimate client's
        // handshake below is not the JVM's first (which can take longer than the short deadline here)
        try (RelayServer warmRelay = TestRelays.start(Map.of());
                TestRelayClient warm = TestRelayClient.connect(
                        warmRelay.address(), TestRelays.clientTls(warmRelay), Options.control(Mode.UPGRADE))) {
            warm.authenticate(NodeIdentity.ephemeral("warm"), false);
        }
        relay = TestRelays.start(Map.of("timeouts.handshake", "5s"));
    }

    @AfterEach
    void stop() {
        relay.close();
    }

    /** True once the relay closed the socket (EOF or reset). */
    private static boolean closedByPeer(Socket s) {
        try {
            s.setSoTimeout(50);
            InputStream in = s.getInputStream();
            while (true) {
                int r = in.read();
                if (r < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (Exception e) {
            return true;
        }
    }

    @Test
    void silentPartialTlsAndPartialHttpAreClosedWhileALegitimateClientConnects() throws Exception {
        var addr = relay.address();
        try (Socket silent = new Socket(addr.getAddress(), addr.getPort());
                Socket partialTls = new Socket(addr.getAddress(), addr.getPort());
                SSLSocket partialHttp = trustingTls(addr.getHostString(), addr.getPort())) {
            OutputStream o = partialTls.getOutputStream();
            o.write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01}); // a ClientHello that never ends
            o.flush();
            partialHttp.startHandshake();
            partialHttp.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            partialHttp.getOutputStream().flush();

            NodeIdentity legit = NodeIdentity.ephemeral("legit");
            try (TestRelayClient c =
                    TestRelayClient.connect(addr, TestRelays.clientTls(relay), Options.control(Mode.UPGRADE))) {
                assertThat(c.authenticate(legit, false)).isInstanceOf(RelayFrame.ServerAccept.class);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> closedByPeer(silent) && closedByPeer(partialTls) && closedByPeer(partialHttp));
                // an established client outlives the deadline
                Thread.sleep(5500);
                assertThat(c.isOpen()).isTrue();
                c.send(new dev.burrow.protocol.frame.Frame.Ping(new byte[8]));
                c.awaitFrame(dev.burrow.protocol.frame.Frame.Pong.class);
            }
        }
        assertThat(relay.prometheus()
                        .find(RelayMetrics.HANDSHAKES)
                        .tag("outcome", "timeout")
                        .counter()
                        .count())
                .isGreaterThanOrEqualTo(3);
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.context().gate().handshakesInFlight() == 0);
    }

    private static SSLSocket trustingTls(String host, int port) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(
                null,
                new TrustManager[] {
                    new X509TrustManager() {
                        @Override
                        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

                        @Override
                        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

                        @Override
                        public X509Certificate[] getAcceptedIssuers() {
                            return new X509Certificate[0];
                        }
                    }
                },
                new SecureRandom());
        return (SSLSocket) ctx.getSocketFactory().createSocket(host, port);
    }
}
