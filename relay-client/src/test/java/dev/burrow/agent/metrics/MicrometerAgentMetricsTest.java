package dev.burrow.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.agent.relay.RelaySwitchReason;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/** The home relay switch counter: documented name, bounded reason tag. */
class MicrometerAgentMetricsTest {

    @Test
    void relaySwitchesAreCountedByReason() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        AgentMetrics m = new MicrometerAgentMetrics(registry);
        m.relaySwitched(RelaySwitchReason.DRAINING);
        m.relaySwitched(RelaySwitchReason.DRAINING);
        m.relaySwitched(RelaySwitchReason.DEAD);
        assertThat(registry.get(AgentMetrics.RELAY_SWITCHES)
                        .tag("reason", "draining")
                        .counter()
                        .count())
                .isEqualTo(2.0);
        assertThat(registry.get(AgentMetrics.RELAY_SWITCHES)
                        .tag("reason", "dead")
                        .counter()
                        .count())
                .isEqualTo(1.0);
        assertThat(registry.find(AgentMetrics.RELAY_SWITCHES)
                        .tag("reason", "latency")
                        .counter())
                .isNull();
        AgentMetrics.NOOP.relaySwitched(RelaySwitchReason.LATENCY); // the no-op recorder accepts it
    }
}
