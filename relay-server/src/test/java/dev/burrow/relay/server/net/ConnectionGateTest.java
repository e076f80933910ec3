package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.relay.server.metrics.RelayMetrics;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class ConnectionGateTest {
    @Test
    void siblingRelaysSkipThePerIpLimitsButNotTheHandshakeCap() throws Exception {
        InetAddress sibling = InetAddress.getByName("10.0.0.2");
        InetAddress stranger = InetAddress.getByName("10.0.0.9");
        ConnectionGate gate = new ConnectionGate(0.001, 1, 100, 3, 1, RelayMetrics.NOOP, sibling::equals);
        assertThat(gate.tryAdmit(stranger)).isNotNull();
        assertThat(gate.tryAdmit(stranger)).isNull(); // burst of 1 spent
        assertThat(gate.tryAdmit(sibling)).isNotNull();
        ConnectionGate.Admission second =
                gate.tryAdmit(sibling); // one connection per cross-relay circuit: no per-IP limits
        assertThat(second).isNotNull();
        assertThat(gate.tryAdmit(sibling)).isNull(); // but the handshakes-in-flight cap (3) holds
        second.release();
        second.release(); // twice is harmless
        assertThat(gate.handshakesInFlight()).isEqualTo(2);
        assertThat(gate.tryAdmit(sibling)).isNotNull();
    }

    @Test
    void oneSourceHoldsAtMostItsShareOfTheHandshakeSlots() throws Exception {
        ConnectionGate gate = new ConnectionGate(1000, 1000, 100, 10, 3, RelayMetrics.NOOP);
        InetAddress flooder = InetAddress.getByName("2001:db8:1:2::1");
        ConnectionGate.Admission first = gate.tryAdmit(flooder);
        assertThat(first).isNotNull();
        assertThat(gate.tryAdmit(InetAddress.getByName("2001:db8:1:2::2"))).isNotNull(); // same /64
        assertThat(gate.tryAdmit(InetAddress.getByName("2001:db8:1:2:ffff::3"))).isNotNull();
        assertThat(gate.tryAdmit(InetAddress.getByName("2001:db8:1:2::4"))).isNull(); // its 3 slots are taken
        assertThat(gate.handshakesInFlight(flooder)).isEqualTo(3);
        assertThat(gate.tryAdmit(InetAddress.getByName("192.0.2.1"))).isNotNull(); // everyone else still gets in
        first.release();
        assertThat(gate.tryAdmit(flooder)).isNotNull();
        assertThat(gate.handshakesInFlight()).isEqualTo(4);
    }

    @Test
    void aRefusalByTheRelayWideCapGivesTheSourceItsSlotBack() throws Exception {
        ConnectionGate gate = new ConnectionGate(1000, 1000, 100, 1, 5, RelayMetrics.NOOP);
        InetAddress a = InetAddress.getByName("192.0.2.1");
        InetAddress b = InetAddress.getByName("192.0.2.2");
        assertThat(gate.tryAdmit(a)).isNotNull();
        assertThat(gate.tryAdmit(b)).isNull();
        assertThat(gate.handshakesInFlight(b)).isZero();
    }
}
