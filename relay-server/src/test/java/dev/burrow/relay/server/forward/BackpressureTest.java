package dev.burrow.relay.server.forward;

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
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** stalled receivers (stalled receiver isolation), rate abuse (read pacing), one key connected twice (same key twice) on real sockets. */
class BackpressureTest {
    private RelayServer relay;

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
    }

    private TestRelayClient client(NodeIdentity id, int receiveBuffer) throws Exception {
        TestRelayClient c = TestRelayClient.connect(
                relay.address(),
                TestRelays.clientTls(relay),
                Options.control(Mode.UPGRADE).receiveBuffer(receiveBuffer));
        assertThat(c.authenticate(id, false)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private double counter(String name, String tag, String value) {
        var c = relay.prometheus().find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void stalledReceiverIsDisconnectedAndNeverSlowsOthers() throws Exception {
        // a deeper queue than the default so that a CPU-starved CI machine cannot make B (which reads) drop;
        // head drop itself is proven deterministically in ClientSessionTest
        relay = TestRelays.start(Map.of("timeouts.write", "2s", "limits.send-queue-depth", "128"));
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        NodeIdentity c = NodeIdentity.ephemeral("c");
        try (TestRelayClient ca = client(a, 0);
                TestRelayClient cb = client(b, 0);
                TestRelayClient cc = client(c, 4096)) {
            cc.pauseReading(); // C stops reading
            byte[] toC = new byte[16 * 1024]; // large, to fill C's socket buffers quickly
            byte[] payload = new byte[1024];
            int toB = 0;
            long maxQueued = 0;
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos(); // 2.5 × the write timeout
            while (System.nanoTime() < end) {
                ca.sendDatagram(b.nodeKey(), payload);
                toB++;
                ca.sendDatagram(c.nodeKey(), toC);
                maxQueued = Math.max(maxQueued, relay.context().queuedDatagrams());
                Thread.sleep(2); // about 500 datagrams per second to each
            }
            int sentToB = toB;
            await().atMost(Duration.ofSeconds(30)).until(() -> cb.datagramsReceived() == sentToB);
            // bounded memory: never more than the two queues' depth of datagrams waiting
            assertThat(maxQueued)
                    .isLessThanOrEqualTo(2L * relay.config().limits().sendQueueDepth());
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> relay.context().registry().lookup(c.nodeKey()) == null);
            assertThat(counter(RelayMetrics.DROPS, "reason", "write_timeout")).isEqualTo(1);
            // everything for C was dropped: from its full queue, when it was disconnected, or as unknown afterwards
            assertThat(counter(RelayMetrics.DROPS, "reason", "queue_full")
                            + counter(RelayMetrics.DROPS, "reason", "gone")
                            + counter(RelayMetrics.DROPS, "reason", "unknown_dest"))
                    .isGreaterThan(0);
            assertThat(cc.datagramsReceived()).isLessThan(sentToB);
            // A→B still flows after C is gone
            ca.sendDatagram(b.nodeKey(), "after".getBytes());
            await().atMost(Duration.ofSeconds(5)).until(() -> cb.datagramsReceived() == sentToB + 1);
            assertThat(relay.context().queuedDatagrams()).isZero();
        }
    }

    @Test
    void fastSenderIsPacedNotDropped() throws Exception {
        relay = TestRelays.start(
                Map.of("limits.client-bytes-per-second", "300000", "limits.client-burst-bytes", "65573"));
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        try (TestRelayClient ca = client(a, 0);
                TestRelayClient cb = client(b, 0)) {
            int n = 40;
            for (int i = 0; i < n; i++) {
                ca.sendDatagram(b.nodeKey(), new byte[16 * 1024]);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> cb.datagramsReceived() == n);
            RelayFrame.RateLimited notice = ca.awaitFrame(RelayFrame.RateLimited.class);
            assertThat(notice.bytesPerSecond()).isEqualTo(300_000);
            assertThat(ca.count(RelayFrame.RateLimited.class)).isZero(); // only one notice
            assertThat(counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "client_read"))
                    .isGreaterThan(0);
            assertThat(counter(RelayMetrics.DROPS, "reason", "queue_full")).isZero();

            // live reload: unlimited, then no more pauses. Unpaced, the burst may overrun b's bounded
            // queue on a loaded machine: datagrams may then be dropped (counted), as designed.
            relay.updateClientRateLimit(0, 0);
            double before = counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "client_read");
            double droppedBefore = counter(RelayMetrics.DROPS, "reason", "queue_full");
            for (int i = 0; i < n; i++) {
                ca.sendDatagram(b.nodeKey(), new byte[16 * 1024]);
            }
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> cb.datagramsReceived()
                                    + (counter(RelayMetrics.DROPS, "reason", "queue_full") - droppedBefore)
                            >= 2 * n);
            assertThat(counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "client_read"))
                    .isEqualTo(before);
        }
    }

    @Test
    void sameKeyTwiceNewestWinsOldIsToldAndClosed() throws Exception {
        relay = TestRelays.start(Map.of());
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        try (TestRelayClient ca = client(a, 0);
                TestRelayClient old = client(b, 0)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.clientCount() == 2);
            try (TestRelayClient fresh = client(b, 0)) {
                RelayFrame.Health h = old.awaitFrame(RelayFrame.Health.class);
                assertThat(h.problem()).isEqualTo(ClientRegistry.DUPLICATE_PROBLEM);
                old.awaitClosed();
                ca.sendDatagram(b.nodeKey(), "to the newest".getBytes());
                assertThat(new String(fresh.takeDatagram().payload())).isEqualTo("to the newest");
                // no kick-loop: the newest stays, the old one's close does not unregister it
                Thread.sleep(500);
                assertThat(fresh.isOpen()).isTrue();
                assertThat(relay.clientCount()).isEqualTo(2);
                assertThat(ca.count(RelayFrame.PeerGone.class)).isZero();
                assertThat(counter(RelayMetrics.DUPLICATE_CLIENTS, "x", "x")
                                + relay.prometheus()
                                        .get(RelayMetrics.DUPLICATE_CLIENTS)
                                        .counter()
                                        .count())
                        .isEqualTo(1);
            }
        }
    }
}
