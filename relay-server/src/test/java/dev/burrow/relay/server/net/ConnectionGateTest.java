package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.relay.server.metrics.RelayMetrics;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class ConnectionGateTest {
    @Test
    void siblingRelaysSkipThePerIpLimitButNotTheHandshakeCap() throws Exception {
        InetAddress sibling = InetAddress.getByName("10.0.0.2");
        InetAddress stranger = InetAddress.getByName("10.0.0.9");
        ConnectionGate gate = new ConnectionGate(0.001, 1, 100, 3, RelayMetrics.NOOP, sibling::equals);
        assertThat(gate.tryAdmit(stranger)).isTrue();
        assertThat(gate.tryAdmit(stranger)).isFalse(); // burst of 1 spent
        assertThat(gate.tryAdmit(sibling)).isTrue();
        assertThat(gate.tryAdmit(sibling)).isTrue(); // one connection per cross-relay circuit: not rate limited
        assertThat(gate.tryAdmit(sibling)).isFalse(); // but the handshakes-in-flight cap (3) holds
        gate.handshakeDone();
        assertThat(gate.tryAdmit(sibling)).isTrue();
    }
}
