package dev.burrow.enrol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.enrol.RelayEnroller;
import dev.burrow.agent.relay.RelayTrust;
import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.identity.enrol.EnrolmentResponse;
import dev.burrow.identity.enrol.EnrolmentService;
import dev.burrow.identity.token.JoinTokenStore;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.relay.server.net.EnrolmentEndpoints;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code burrow agent --join TOKEN}: a join token traded at a real relay for a CA-issued certificate. */
class JoinEnrolmentTest {
    @TempDir
    Path tmp;

    private RelayServer relay;
    private JoinTokenStore tokens;
    private URI url;

    @BeforeEach
    void startRelay() throws Exception {
        Path caDir = tmp.resolve("ca");
        FleetCa ca = FleetCa.init(caDir, "test-fleet", Clock.systemUTC());
        tokens = JoinTokenStore.open(caDir, Clock.systemUTC());
        relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                        "listen",
                        "127.0.0.1:0",
                        "admin-listen",
                        "off",
                        "stun-listen",
                        "off",
                        "tls.mode",
                        "dev",
                        "auth.mode",
                        "open")))
                .enrolment(EnrolmentEndpoints.of(new EnrolmentService(ca, tokens, Duration.ofDays(1))))
                .build()
                .start();
        url = URI.create("https://127.0.0.1:" + relay.address().getPort());
    }

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
    }

    @Test
    void aTokenBuysACaIssuedCertificateOnceAndTheCertificateIsInstalled() throws Exception {
        String token = tokens.create(Set.of("dev"), 1, Duration.ofHours(1), null)
                .token()
                .reveal();
        NodeIdentity alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"));
        assertThat(alice.certificate().selfSigned()).isTrue();

        EnrolmentResponse issued = RelayEnroller.enrol(
                url,
                RelayTrust.pinned(relay.tlsFingerprint()).sslContext(),
                alice,
                token,
                "alice",
                Duration.ofSeconds(20));

        assertThat(issued.name()).isEqualTo("alice");
        assertThat(issued.tags()).containsExactly("dev");
        NodeIdentity reloaded = NodeIdentity.load(tmp.resolve("alice"));
        NodeCertificate cert = reloaded.certificate();
        assertThat(cert.selfSigned()).isFalse();
        assertThat(cert.nodeKey()).isEqualTo(alice.nodeKey());

        // The one-time token is spent: a second node gets a clear refusal, and no certificate.
        NodeIdentity mallory = NodeIdentity.loadOrCreate(tmp.resolve("mallory"));
        assertThatThrownBy(() -> RelayEnroller.enrol(
                        url,
                        RelayTrust.pinned(relay.tlsFingerprint()).sslContext(),
                        mallory,
                        token,
                        "mallory",
                        Duration.ofSeconds(20)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("enrolment refused by the relay")
                .hasMessageNotContaining(token);
        assertThat(NodeIdentity.load(tmp.resolve("mallory")).certificate().selfSigned())
                .isTrue();
    }

    @Test
    void aRelayWithAnotherCertificateIsNotTrustedWithTheToken() throws Exception {
        String token =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        NodeIdentity bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"));
        String wrongPin = "sha256:" + "00".repeat(32);
        assertThatThrownBy(() -> RelayEnroller.enrol(
                        url, RelayTrust.pinned(wrongPin).sslContext(), bob, token, null, Duration.ofSeconds(20)))
                .isInstanceOf(IOException.class);
        // The token was never sent, so it still works with the right relay.
        RelayEnroller.enrol(
                url, RelayTrust.pinned(relay.tlsFingerprint()).sslContext(), bob, token, null, Duration.ofSeconds(20));
        assertThat(NodeIdentity.load(tmp.resolve("bob")).certificate().selfSigned())
                .isFalse();
    }
}
