package dev.burrow.identity.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.PeerVerificationException;
import dev.burrow.identity.enrol.EnrolmentException;
import dev.burrow.identity.enrol.EnrolmentService;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.identity.token.JoinTokenStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityMetricsTest {
    @TempDir
    Path tmp;

    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final IdentityMetrics metrics = new MicrometerIdentityMetrics(registry);

    double count(String name, String tag, String value) {
        return registry.get(name).tag(tag, value).counter().count();
    }

    @Test
    void countsVerificationOutcomes() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        NodeIdentity alice = ids.node("alice");
        NodeIdentity bob = ids.selfSignedNode("bob");
        NodeVerifier v = NodeVerifier.builder()
                .trustCa(ids.caCertificate())
                .metrics(metrics)
                .build();
        v.verify(alice.certificateChain().toArray(X509Certificate[]::new), null);
        v.verify(bob.certificateChain().toArray(X509Certificate[]::new), bob.nodeKey());
        assertThatThrownBy(() -> v.verify(bob.certificateChain().toArray(X509Certificate[]::new), null))
                .isInstanceOf(PeerVerificationException.class);
        assertThat(count(IdentityMetrics.PEER_VERIFICATIONS, "outcome", "ca")).isEqualTo(1);
        assertThat(count(IdentityMetrics.PEER_VERIFICATIONS, "outcome", "key_only"))
                .isEqualTo(1);
        assertThat(count(IdentityMetrics.PEER_VERIFICATIONS, "outcome", "untrusted_issuer"))
                .isEqualTo(1);
    }

    @Test
    void countsEnrolmentsAndTokenRefusals() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        JoinTokenStore tokens = JoinTokenStore.open(ids.ca().dir(), Clock.systemUTC());
        EnrolmentService service = new EnrolmentService(ids.ca(), tokens, Duration.ofDays(1), metrics);
        String token =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        service.enrol(EnrolmentService.createRequest(NodeIdentity.ephemeral("a"), token, null));
        assertThatThrownBy(
                        () -> service.enrol(EnrolmentService.createRequest(NodeIdentity.ephemeral("b"), token, null)))
                .isInstanceOf(EnrolmentException.class);
        assertThatThrownBy(() -> service.handle(new byte[100_000])).isInstanceOf(EnrolmentException.class);
        assertThat(count(IdentityMetrics.ENROLMENTS, "outcome", "ok")).isEqualTo(1);
        assertThat(count(IdentityMetrics.ENROLMENTS, "outcome", "token_refused"))
                .isEqualTo(1);
        assertThat(count(IdentityMetrics.ENROLMENTS, "outcome", "too_large")).isEqualTo(1);
        assertThat(count(IdentityMetrics.TOKENS_REFUSED, "reason", "used_up")).isEqualTo(1);
    }
}
