package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Meter names and bounded tags of the Micrometer recorder. */
class MicrometerRelayClientMetricsTest {

    @Test
    void recordsUnderTheDocumentedNamesWithEnumTags() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RelayClientMetrics m = new MicrometerRelayClientMetrics(registry);
        m.connectAttempt();
        m.connected();
        m.reconnectScheduled(Duration.ofMillis(500));
        m.rtt(Duration.ofMillis(12));
        m.denied(DenyReason.NOT_ALLOWED);
        m.deadRelay(RelayClientMetrics.DeadCause.PING);
        m.datagramSent(10);
        m.datagramReceived(20);
        m.datagramDropped(SendResult.DROPPED_BACKPRESSURE);
        m.protocolViolation(ProtocolViolation.Kind.FRAME_TOO_LARGE);
        m.unknownFrame();
        m.circuitOpened(true);
        m.circuitFailed(CircuitRejectReason.TIMEOUT);

        assertThat(registry.get(RelayClientMetrics.CONNECT_ATTEMPTS).counter().count())
                .isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.RTT).timer().count()).isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.DENIALS)
                        .tag("reason", "not_allowed")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.DEAD_RELAY)
                        .tag("cause", "ping")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.DATAGRAMS_DROPPED)
                        .tag("result", "dropped_backpressure")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.PROTOCOL_VIOLATIONS)
                        .tag("kind", "frame_too_large")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.CIRCUITS_OPENED)
                        .tag("role", "dialer")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.CIRCUITS_FAILED)
                        .tag("reason", "timeout")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get(RelayClientMetrics.DATAGRAMS_SENT).summary().totalAmount())
                .isEqualTo(10);
    }
}
