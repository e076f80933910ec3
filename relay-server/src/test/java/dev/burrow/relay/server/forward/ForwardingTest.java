package dev.burrow.relay.server.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ForwardingTest {
    private RelayServer relay;

    @BeforeEach
    void start() throws Exception {
        relay = TestRelays.start(Map.of());
    }

    @AfterEach
    void stop() {
        relay.close();
    }

    private TestRelayClient client(Mode mode, NodeIdentity id) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(mode));
        assertThat(c.authenticate(id, false)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void forwardsDatagramsBetweenKeysWithTheAuthenticatedSource(Mode mode) throws Exception {
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        try (TestRelayClient ca = client(mode, a);
                TestRelayClient cb = client(mode, b)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.clientCount() == 2);
            ca.sendDatagram(b.nodeKey(), "hello b".getBytes());
            TestRelayClient.Received r = cb.takeDatagram();
            assertThat(r.source()).isEqualTo(a.nodeKey());
            assertThat(new String(r.payload())).isEqualTo("hello b");

            byte[] big = new byte[65536];
            big[65535] = 7;
            cb.sendDatagram(a.nodeKey(), big);
            TestRelayClient.Received r2 = ca.takeDatagram();
            assertThat(r2.source()).isEqualTo(b.nodeKey());
            assertThat(r2.payload()).isEqualTo(big);
        }
    }

    @Test
    void unknownDestinationGetsPeerGoneNotHereRateLimited() throws Exception {
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity nobody = NodeIdentity.ephemeral("nobody");
        try (TestRelayClient ca = client(Mode.UPGRADE, a)) {
            long start = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                ca.sendDatagram(nobody.nodeKey(), new byte[] {1, 2, 3});
            }
            long seconds = (System.nanoTime() - start) / 1_000_000_000L + 1;
            RelayFrame.PeerGone g = ca.awaitFrame(RelayFrame.PeerGone.class);
            assertThat(g.peer()).isEqualTo(nobody.nodeKey());
            assertThat(g.reason()).isEqualTo(PeerGoneReason.NOT_HERE);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> counter(RelayMetrics.DROPS, "reason", "unknown_dest") >= 20);
            // 1 per second with burst 3 per sender: at most 3 notices plus one per second the loop ran
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "peer_gone_notice")
                                    + ca.count(RelayFrame.PeerGone.class)
                                    + 1
                            == 20);
            assertThat(ca.count(RelayFrame.PeerGone.class) + 1).isBetween(1L, 3L + seconds);
        }
    }

    @Test
    void peersThatSentToAClientHearWhenItLeavesAndComesBack() throws Exception {
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        try (TestRelayClient ca = client(Mode.UPGRADE, a)) {
            TestRelayClient cb = client(Mode.UPGRADE, b);
            ca.sendDatagram(b.nodeKey(), new byte[] {1});
            cb.takeDatagram();
            cb.close();
            RelayFrame.PeerGone gone = ca.awaitFrame(RelayFrame.PeerGone.class);
            assertThat(gone.reason()).isEqualTo(PeerGoneReason.DISCONNECTED);
            try (TestRelayClient cb2 = client(Mode.UPGRADE, b)) {
                assertThat(ca.awaitFrame(RelayFrame.PeerPresent.class).peer()).isEqualTo(b.nodeKey());
            }
        }
    }

    private double counter(String name, String tag, String value) {
        var c = relay.prometheus().find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }
}
