package dev.burrow.stun.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class MicrometerStunMetricsTest {
    @Test
    void countersAreRegisteredUpFrontWithBoundedTags() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MicrometerStunMetrics metrics = new MicrometerStunMetrics(registry);
        int expected = 2 * StunProtocol.values().length
                + DropReason.values().length
                + ClientOutcome.values().length
                + ClientIgnoreReason.values().length
                + 1;
        assertThat(registry.getMeters()).hasSize(expected);

        metrics.responded(StunProtocol.UDP, false);
        metrics.responded(StunProtocol.TCP, true);
        metrics.dropped(DropReason.BAD_COOKIE);
        metrics.dropped(DropReason.BAD_COOKIE);
        metrics.clientTransaction(ClientOutcome.TIMEOUT);
        metrics.clientIgnored(ClientIgnoreReason.WRONG_SOURCE);
        metrics.clientSent();

        assertThat(registry.get(StunMetrics.RESPONSES)
                        .tag("protocol", "udp")
                        .tag("class", "success")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(StunMetrics.RESPONSES)
                        .tag("protocol", "tcp")
                        .tag("class", "error")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(StunMetrics.DROPPED)
                        .tag("reason", "bad_cookie")
                        .counter()
                        .count())
                .isEqualTo(2);
        assertThat(registry.get(StunMetrics.CLIENT_TRANSACTIONS)
                        .tag("outcome", "timeout")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(StunMetrics.CLIENT_IGNORED)
                        .tag("reason", "wrong_source")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(StunMetrics.CLIENT_SENT).counter().count()).isEqualTo(1);
        assertThat(registry.getMeters()).hasSize(expected); // recording never adds meters
    }
}
