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
import io.micrometer.core.instrument.Counter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 §4: partial TLS ClientHellos held from a few addresses filled every handshake slot of the
 * relay, so an agent that restarted meanwhile could not connect until they timed out. With a
 * per-source cap below the relay-wide one, the flood holds only its sources' share.
 *
 * <p>Scaled down (the relay-wide cap 48, 3 per source, 12 flooding addresses 127.0.0.2-13 with 8
 * connections each: 96 half-open handshakes offered, twice the cap) so that it needs few sockets;
 * the defaults keep the same proportions (1024 and 64: 16 sources to fill it).
 */
class HandshakeFloodPerSourceTest {
    static final int CAP = 48;
    static final int PER_SOURCE = 3;
    static final int SOURCES = 12;
    static final int PER_SOURCE_ATTEMPTS = 8;

    /** The first bytes of a TLS 1.3 ClientHello record: a handshake record that never completes. */
    static final byte[] PARTIAL_CLIENT_HELLO = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03
    };

    private RelayServer relay;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        if (relay != null) {
            relay.close();
        }
    }

    @Test
    void partialClientHellosFromAFewAddressesDoNotKeepAFreshAgentOut() throws Exception {
        relay = TestRelays.start(Map.of(
                "limits.max-handshakes",
                String.valueOf(CAP),
                "limits.max-handshakes-per-ip",
                String.valueOf(PER_SOURCE),
                "timeouts.handshake",
                "60s"));
        InetSocketAddress target = relay.address();
        for (int s = 0; s < SOURCES; s++) {
            InetAddress from = InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) (2 + s)});
            for (int i = 0; i < PER_SOURCE_ATTEMPTS; i++) {
                Socket sock = new Socket();
                open.add(sock);
                sock.bind(new InetSocketAddress(from, 0));
                sock.connect(target, 5_000);
                sock.getOutputStream().write(PARTIAL_CLIENT_HELLO);
                sock.getOutputStream().flush();
            }
        }
        // each source holds its share and no more; the rest of its connections were closed at accept
        // (and counted: the count of the last refusal can land just after the gauge settles)
        await().atMost(Duration.ofSeconds(10))
                .until(() -> relay.context().gate().handshakesInFlight() == SOURCES * PER_SOURCE
                        && counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "handshakes_per_source")
                                >= SOURCES * (PER_SOURCE_ATTEMPTS - PER_SOURCE));
        assertThat(relay.context().gate().handshakesInFlight(InetAddress.getByName("127.0.0.2")))
                .isEqualTo(PER_SOURCE);
        assertThat(counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "handshakes_per_source"))
                .isEqualTo((double) SOURCES * (PER_SOURCE_ATTEMPTS - PER_SOURCE));
        assertThat(counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "handshakes_in_flight"))
                .isZero();

        // a fresh agent (from 127.0.0.1) connects and authenticates while the flood holds its slots
        TestRelayClient agent =
                TestRelayClient.connect(target, TestRelays.clientTls(relay), Options.control(Mode.UPGRADE));
        open.add(agent);
        assertThat(agent.authenticate(NodeIdentity.ephemeral("fresh-agent"), true))
                .isInstanceOf(RelayFrame.ServerAccept.class);
        assertThat(relay.context().gate().handshakesInFlight()).isEqualTo(SOURCES * PER_SOURCE);
    }

    private double counter(String meter, String tag, String value) {
        Counter c = relay.prometheus().find(meter).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }
}
