package dev.burrow.relay.server.circuit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import dev.burrow.transport.Transport;
import dev.burrow.transport.TransportKind;
import dev.burrow.transport.TransportSelector;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Circuits on every transport the relay runs in production. The relay moves one end of a circuit
 * onto the other end's event loop before copying (see {@link CircuitProxy#join}); that move
 * (deregister, register elsewhere) is transport code, so it is checked on io_uring and epoll too,
 * with many circuits at once so that the two ends usually start on different loops.
 */
class CircuitTransportsTest {
    private static final int CIRCUITS = 8;

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void manyCircuitsCopyBothWaysAndHalfCloseOnEveryTransport(TransportKind kind) throws Exception {
        Transport transport = new TransportSelector().select(kind);
        // skipped on a machine without it, a failure with CI=true (CI machines run io_uring and epoll)
        dev.burrow.netlab.NetLabSupport.requireFeature(
                transport.kind() == kind, kind + " is not available here: " + transport.reason(), true);
        Map<String, String> m = TestRelays.defaults();
        m.put("transport", kind.configName());
        NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
        try (RelayServer relay = RelayServer.builder(TestRelays.config(m))
                        .transport(transport)
                        .build()
                        .start();
                TestRelayClient dialer = control(relay, NodeIdentity.ephemeral("dialer"), false);
                TestRelayClient listener = control(relay, listenerId, true)) {
            List<TestRelayClient[]> pairs = new ArrayList<>();
            try {
                for (int i = 0; i < CIRCUITS; i++) {
                    dialer.send(new ClientFrame.CircuitRequest(i + 1, listenerId.nodeKey(), "svc"));
                    RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
                    listener.send(new ClientFrame.CircuitAccept(offer.circuitId()));
                    RelayFrame.CircuitAccepted accepted = dialer.awaitFrame(RelayFrame.CircuitAccepted.class);
                    boolean relayTls = i % 2 == 0; // both kinds of circuit connection
                    TestRelayClient l = attach(relay, relayTls, offer.circuitId(), offer.token());
                    TestRelayClient d = attach(relay, relayTls, accepted.circuitId(), accepted.token());
                    pairs.add(new TestRelayClient[] {d, l});
                }
                for (TestRelayClient[] p : pairs) {
                    p[0].awaitFrame(RelayFrame.CircuitAttached.class);
                    p[1].awaitFrame(RelayFrame.CircuitAttached.class);
                }
                byte[] up = random(600_000, 1);
                byte[] down = random(400_000, 2);
                for (TestRelayClient[] p : pairs) {
                    write(p[0], up);
                    write(p[1], down);
                    p[0].shutdownOutput();
                }
                for (TestRelayClient[] p : pairs) {
                    await().atMost(Duration.ofSeconds(30))
                            .until(() -> p[1].inputShutdown() && p[0].circuitBytes().length >= down.length);
                    assertThat(sha256(p[1].circuitBytes())).isEqualTo(sha256(up));
                    assertThat(sha256(p[0].circuitBytes())).isEqualTo(sha256(down));
                    p[1].shutdownOutput();
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> relay.activeCircuits() == 0);
            } finally {
                for (TestRelayClient[] p : pairs) {
                    p[0].close();
                    p[1].close();
                }
            }
        }
    }

    private static TestRelayClient control(RelayServer relay, NodeIdentity id, boolean accepts) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE));
        assertThat(c.authenticate(id, accepts)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private static TestRelayClient attach(
            RelayServer relay,
            boolean relayTls,
            dev.burrow.protocol.frame.CircuitId id,
            dev.burrow.protocol.frame.CircuitToken token)
            throws Exception {
        TestRelayClient c = TestRelayClient.connect(
                relay.address(), relayTls ? TestRelays.clientTls(relay) : null, Options.circuit(Mode.UPGRADE));
        c.send(new ClientFrame.CircuitAttach(id, token));
        return c;
    }

    private static void write(TestRelayClient c, byte[] data) {
        for (int off = 0; off < data.length; off += 16 * 1024) {
            c.writeRaw(Arrays.copyOfRange(data, off, Math.min(data.length, off + 16 * 1024)));
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }
}
