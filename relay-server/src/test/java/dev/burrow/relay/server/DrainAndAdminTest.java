package dev.burrow.relay.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.config.RelayDefaults;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DrainAndAdminTest {
    private RelayServer relay;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
    }

    private HttpResponse<String> admin(String path) throws Exception {
        var a = relay.adminAddress();
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.getPort() + path))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private TestRelayClient client(NodeIdentity id, boolean accepts) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.WEBSOCKET));
        assertThat(c.authenticate(id, accepts)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    @Test
    void adminServesHealthReadinessAndPrometheusMetrics() throws Exception {
        relay = TestRelays.start(Map.of());
        try (TestRelayClient c = client(NodeIdentity.ephemeral("a"), false)) {
            assertThat(admin("/healthz").statusCode()).isEqualTo(200);
            assertThat(admin("/readyz").statusCode()).isEqualTo(200);
            HttpResponse<String> m = admin("/metrics");
            assertThat(m.statusCode()).isEqualTo(200);
            assertThat(m.body())
                    .contains("burrow_relay_clients 1.0")
                    .contains("burrow_relay_info{transport=\"nio\",version=\"")
                    .contains("burrow_relay_handshakes_total{outcome=\"ok\"} 1.0")
                    .doesNotContain(c.channel().localAddress().toString().substring(1));
            assertThat(admin("/nope").statusCode()).isEqualTo(404);
        }
    }

    @Test
    void drainSendsRestartingRefusesNewWorkAndStopsWhenEmpty() throws Exception {
        relay = TestRelays.start(Map.of());
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        TestRelayClient ca = client(a, false);
        TestRelayClient cb = client(b, true);
        var done = relay.drain(Duration.ofSeconds(30));
        RelayFrame.Restarting r = ca.awaitFrame(RelayFrame.Restarting.class);
        assertThat(r.tryForMillis()).isEqualTo(30_000);
        cb.awaitFrame(RelayFrame.Restarting.class);
        assertThat(admin("/readyz").statusCode()).isEqualTo(503);
        assertThat(admin("/healthz").statusCode()).isEqualTo(200);

        ca.send(new ClientFrame.CircuitRequest(1, b.nodeKey(), "ssh"));
        assertThat(ca.awaitFrame(RelayFrame.CircuitRejected.class).reason())
                .isEqualTo(CircuitRejectReason.RELAY_DRAINING);
        try (TestRelayClient late =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE))) {
            RelayFrame f = late.authenticate(NodeIdentity.ephemeral("late"), false);
            assertThat(f).isInstanceOf(RelayFrame.Deny.class);
            assertThat(((RelayFrame.Deny) f).reason()).isEqualTo(DenyReason.DRAINING);
        }
        assertThat(done).isNotDone();
        ca.close();
        cb.close();
        await().atMost(Duration.ofSeconds(10)).until(done::isDone);
        assertThat(relay.ready()).isFalse();
    }

    @Test
    void embeddedStunServerAnswersBindingRequests() throws Exception {
        relay = TestRelays.start(Map.of("stun-listen", "127.0.0.1:0"));
        assertThat(relay.stunAddress()).isNotNull();
        try (java.net.DatagramSocket s = new java.net.DatagramSocket()) {
            s.setSoTimeout(5000);
            java.nio.ByteBuffer req = java.nio.ByteBuffer.allocate(20)
                    .putShort((short) 0x0001)
                    .putShort((short) 0)
                    .putInt(0x2112A442)
                    .put(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
            s.send(new java.net.DatagramPacket(req.array(), 20, relay.stunAddress()));
            java.net.DatagramPacket resp = new java.net.DatagramPacket(new byte[512], 512);
            s.receive(resp);
            assertThat(((resp.getData()[0] & 0xFF) << 8) | (resp.getData()[1] & 0xFF))
                    .isEqualTo(0x0101);
        }
    }

    @Test
    void drainEndsAtTheGracePeriodWhenClientsStay() throws Exception {
        relay = TestRelays.start(Map.of());
        try (TestRelayClient stubborn = client(NodeIdentity.ephemeral("s"), false)) {
            var done = relay.drain(Duration.ofMillis(500));
            await().atMost(Duration.ofSeconds(10)).until(done::isDone);
            stubborn.awaitClosed();
        }
    }

    @Test
    void publicPortAnswers404ForOtherPathsAndCapsEnrolment() throws Exception {
        relay = TestRelays.start(Map.of("tls.mode", "none"));
        String base = "http://127.0.0.1:" + relay.address().getPort();
        HttpResponse<String> r =
                http.send(HttpRequest.newBuilder(URI.create(base + "/")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(404);
        HttpResponse<String> noUpgrade = http.send(
                HttpRequest.newBuilder(URI.create(base + RelayProtocol.CONTROL_PATH))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(noUpgrade.statusCode()).isEqualTo(426);
        HttpResponse<String> big = http.send(
                HttpRequest.newBuilder(URI.create(base + RelayProtocol.ENROL_PATH))
                        .POST(HttpRequest.BodyPublishers.ofString("x".repeat(RelayDefaults.MAX_ENROL_BODY + 1)))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(big.statusCode()).isEqualTo(413);
        HttpResponse<String> disabled = http.send(
                HttpRequest.newBuilder(URI.create(base + RelayProtocol.ENROL_PATH))
                        .POST(HttpRequest.BodyPublishers.ofString("{}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(disabled.statusCode()).isEqualTo(404);
    }
}
