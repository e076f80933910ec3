package dev.burrow.relay.server.circuit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CircuitTest {
    private RelayServer relay;
    private final NodeIdentity dialerId = NodeIdentity.ephemeral("dialer");
    private final NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
    private TestRelayClient dialer;
    private TestRelayClient listener;

    @BeforeEach
    void start() throws Exception {
        relay = TestRelays.start(Map.of("timeouts.circuit-token", "5s", "limits.pending-circuits-per-client", "3"));
        dialer = control(dialerId, false);
        listener = control(listenerId, true);
    }

    @AfterEach
    void stop() {
        dialer.close();
        listener.close();
        relay.close();
    }

    private static TestRelayClient controlOn(RelayServer r, NodeIdentity id, boolean accepts) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(r.address(), TestRelays.clientTls(r), Options.control(Mode.UPGRADE));
        assertThat(c.authenticate(id, accepts)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private TestRelayClient control(NodeIdentity id, boolean accepts) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE));
        assertThat(c.authenticate(id, accepts)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private TestRelayClient attach(Mode mode, RelayFrame f) throws Exception {
        return attach(mode, f, true);
    }

    private TestRelayClient attach(Mode mode, RelayFrame f, boolean relayTls) throws Exception {
        TestRelayClient c = TestRelayClient.connect(
                relay.address(), relayTls ? TestRelays.clientTls(relay) : null, Options.circuit(mode));
        if (f instanceof RelayFrame.CircuitOffer o) {
            c.send(new ClientFrame.CircuitAttach(o.circuitId(), o.token()));
        } else {
            RelayFrame.CircuitAccepted a = (RelayFrame.CircuitAccepted) f;
            c.send(new ClientFrame.CircuitAttach(a.circuitId(), a.token()));
        }
        return c;
    }

    private record Negotiated(RelayFrame.CircuitOffer offer, RelayFrame.CircuitAccepted accepted) {}

    private Negotiated negotiate(long requestId) {
        dialer.send(new ClientFrame.CircuitRequest(requestId, listenerId.nodeKey(), "ssh"));
        RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
        assertThat(offer.source()).isEqualTo(dialerId.nodeKey());
        assertThat(offer.service()).isEqualTo("ssh");
        listener.send(new ClientFrame.CircuitAccept(offer.circuitId()));
        RelayFrame.CircuitAccepted accepted = dialer.awaitFrame(RelayFrame.CircuitAccepted.class);
        assertThat(accepted.requestId()).isEqualTo(requestId);
        assertThat(accepted.circuitId()).isEqualTo(offer.circuitId());
        return new Negotiated(offer, accepted);
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void offerAcceptAttachAndCopyBothWaysWithHalfClose(Mode mode) throws Exception {
        Negotiated n = negotiate(7);
        try (TestRelayClient l = attach(mode, n.offer());
                TestRelayClient d = attach(mode, n.accepted())) {
            l.awaitFrame(RelayFrame.CircuitAttached.class);
            d.awaitFrame(RelayFrame.CircuitAttached.class);
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.activeCircuits() == 1);

            Random rnd = new Random(42);
            byte[] up = new byte[1 << 20];
            byte[] down = new byte[700_001];
            rnd.nextBytes(up);
            rnd.nextBytes(down);
            for (int off = 0; off < up.length; off += 16 * 1024) {
                d.writeRaw(java.util.Arrays.copyOfRange(up, off, Math.min(up.length, off + 16 * 1024)));
            }
            for (int off = 0; off < down.length; off += 16 * 1024) {
                l.writeRaw(java.util.Arrays.copyOfRange(down, off, Math.min(down.length, off + 16 * 1024)));
            }
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> l.circuitBytes().length >= up.length && d.circuitBytes().length >= down.length);
            assertThat(sha256(l.circuitBytes())).isEqualTo(sha256(up));
            assertThat(sha256(d.circuitBytes())).isEqualTo(sha256(down));

            if (mode == Mode.UPGRADE) {
                // half-close: the dialer is done sending; the listener still answers
                d.shutdownOutput();
                await().atMost(Duration.ofSeconds(5)).until(l::inputShutdown);
                assertThat(l.isOpen()).isTrue();
                l.writeRaw("late answer".getBytes());
                await().atMost(Duration.ofSeconds(5))
                        .until(() -> new String(d.circuitBytes(), java.nio.charset.StandardCharsets.ISO_8859_1)
                                .endsWith("late answer"));
                l.shutdownOutput();
                d.awaitClosed();
                l.awaitClosed();
            } else {
                d.close();
                await().atMost(Duration.ofSeconds(5)).until(() -> l.inputShutdown() || !l.isOpen());
            }
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> relay.activeCircuits() == 0 && relay.pendingCircuits() == 0);
        }
    }

    @Test
    void circuitConnectionsWithoutRelayTlsCarryBytesAndHalfClose() throws Exception {
        Negotiated n = negotiate(8);
        try (TestRelayClient l = attach(Mode.UPGRADE, n.offer(), false);
                TestRelayClient d = attach(Mode.UPGRADE, n.accepted(), false)) {
            l.awaitFrame(RelayFrame.CircuitAttached.class);
            d.awaitFrame(RelayFrame.CircuitAttached.class);
            byte[] up = new byte[300_000];
            new Random(8).nextBytes(up);
            for (int off = 0; off < up.length; off += 16 * 1024) {
                d.writeRaw(java.util.Arrays.copyOfRange(up, off, Math.min(up.length, off + 16 * 1024)));
            }
            d.shutdownOutput(); // a FIN: the relay passes it on as a FIN
            await().atMost(Duration.ofSeconds(20)).until(l::inputShutdown);
            assertThat(sha256(l.circuitBytes())).isEqualTo(sha256(up));
            l.writeRaw("late answer".getBytes());
            l.shutdownOutput();
            // d sees the FIN after its own: it is done. (l read its one FIN already: nothing more
            // arrives for it, so it closes on its own at try-with-resources end.)
            d.awaitClosed();
            assertThat(new String(d.circuitBytes(), java.nio.charset.StandardCharsets.ISO_8859_1))
                    .isEqualTo("late answer");
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.activeCircuits() == 0);
        }
    }

    @Test
    void aConnectionWithoutTlsMayOnlyAttachACircuit() {
        // Control connections, WebSocket and every other path need relay TLS.
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> TestRelayClient.connect(relay.address(), null, Options.control(Mode.UPGRADE))
                                .close())
                .hasMessageContaining("403");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> TestRelayClient.connect(relay.address(), null, Options.circuit(Mode.WEBSOCKET))
                        .close());
        assertThat(relay.activeCircuits()).isZero();
    }

    @Test
    void withPlainCircuitsOffAConnectionWithoutTlsIsClosed() throws Exception {
        try (RelayServer tlsOnly = TestRelays.start(Map.of("tls.plain-circuits", "false"))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(
                    () -> TestRelayClient.connect(tlsOnly.address(), null, Options.circuit(Mode.UPGRADE))
                            .close());
        }
    }

    @Test
    void reusedAndLateTokensAreRefused() throws Exception {
        Negotiated n = negotiate(1);
        try (TestRelayClient l = attach(Mode.UPGRADE, n.offer());
                TestRelayClient again = attach(Mode.UPGRADE, n.offer())) {
            assertThat(again.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.AUTH_FAILED);
            again.awaitClosed();
            assertThat(counter(RelayMetrics.CIRCUIT_EVENTS, "event", "token_refused"))
                    .isEqualTo(1);
        }
        // the dialer never attached: after the TTL the circuit is gone and its token is late
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.pendingCircuits() == 0);
        try (TestRelayClient late = attach(Mode.UPGRADE, n.accepted())) {
            assertThat(late.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.AUTH_FAILED);
            late.awaitClosed();
        }
        assertThat(counter(RelayMetrics.CIRCUIT_EVENTS, "event", "token_refused"))
                .isEqualTo(2);
    }

    @Test
    void listenerRejectionReachesTheDialerWithItsReason() {
        dialer.send(new ClientFrame.CircuitRequest(5, listenerId.nodeKey(), "web"));
        RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
        listener.send(new ClientFrame.CircuitReject(
                offer.circuitId(), CircuitRejectReason.SERVICE_UNKNOWN, "no such service"));
        RelayFrame.CircuitRejected r = dialer.awaitFrame(RelayFrame.CircuitRejected.class);
        assertThat(r.requestId()).isEqualTo(5);
        assertThat(r.reason()).isEqualTo(CircuitRejectReason.SERVICE_UNKNOWN);
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.pendingCircuits() == 0);
    }

    @Test
    void unansweredOfferTimesOut() {
        dialer.send(new ClientFrame.CircuitRequest(9, listenerId.nodeKey(), "web"));
        listener.awaitFrame(RelayFrame.CircuitOffer.class);
        RelayFrame.CircuitRejected r = dialer.awaitFrame(RelayFrame.CircuitRejected.class);
        assertThat(r.reason()).isEqualTo(CircuitRejectReason.TIMEOUT);
        assertThat(relay.pendingCircuits()).isZero();
    }

    @Test
    void badRequestsAreRefused() throws Exception {
        dialer.send(new ClientFrame.CircuitRequest(1, dialerId.nodeKey(), "ssh"));
        assertThat(dialer.awaitFrame(RelayFrame.CircuitRejected.class).reason())
                .isEqualTo(CircuitRejectReason.BAD_REQUEST);
        dialer.send(
                new ClientFrame.CircuitRequest(2, NodeIdentity.ephemeral("x").nodeKey(), "ssh"));
        assertThat(dialer.awaitFrame(RelayFrame.CircuitRejected.class).reason())
                .isEqualTo(CircuitRejectReason.PEER_NOT_FOUND);
        // the listener asks the dialer, which does not accept circuits
        listener.send(new ClientFrame.CircuitRequest(3, dialerId.nodeKey(), "ssh"));
        assertThat(listener.awaitFrame(RelayFrame.CircuitRejected.class).reason())
                .isEqualTo(CircuitRejectReason.NOT_ALLOWED);
    }

    @Test
    void pendingCapIsEnforcedWithLimitReached() throws Exception {
        // The listener's 3 pending slots, filled by three dialers (one dialer alone may hold only
        // its share, see the next test); a fourth dialer is refused.
        TestRelayClient d2 = control(NodeIdentity.ephemeral("dialer-2"), false);
        TestRelayClient d3 = control(NodeIdentity.ephemeral("dialer-3"), false);
        TestRelayClient d4 = control(NodeIdentity.ephemeral("dialer-4"), false);
        try {
            dialer.send(new ClientFrame.CircuitRequest(1, listenerId.nodeKey(), "ssh"));
            d2.send(new ClientFrame.CircuitRequest(2, listenerId.nodeKey(), "ssh"));
            d3.send(new ClientFrame.CircuitRequest(3, listenerId.nodeKey(), "ssh"));
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.pendingCircuits() == 3);
            d4.send(new ClientFrame.CircuitRequest(4, listenerId.nodeKey(), "ssh"));
            RelayFrame.CircuitRejected r = d4.awaitFrame(RelayFrame.CircuitRejected.class);
            assertThat(r.requestId()).isEqualTo(4);
            assertThat(r.reason()).isEqualTo(CircuitRejectReason.LIMIT_REACHED);
            assertThat(relay.pendingCircuits()).isEqualTo(3);
        } finally {
            // the dialers leave: their pending circuits and all per-client state go with them
            dialer.close();
            d2.close();
            d3.close();
            d4.close();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.pendingCircuits() == 0);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> relay.context().circuits().trackedClients() == 0);
    }

    @Test
    void oneDialerHoldsOnlyItsShareOfAListenersPendingSlots() throws Exception {
        // 8 pending slots per client: one dialer that never attaches may hold 2 of the listener's,
        // so other dialers still reach it.
        try (RelayServer r8 = TestRelays.start(Map.of("limits.pending-circuits-per-client", "8"))) {
            TestRelayClient hog = controlOn(r8, NodeIdentity.ephemeral("hog"), false);
            TestRelayClient l = controlOn(r8, listenerId, true);
            TestRelayClient other = controlOn(r8, NodeIdentity.ephemeral("other"), false);
            try {
                for (int i = 1; i <= 3; i++) {
                    hog.send(new ClientFrame.CircuitRequest(i, listenerId.nodeKey(), "ssh"));
                }
                RelayFrame.CircuitRejected r = hog.awaitFrame(RelayFrame.CircuitRejected.class);
                assertThat(r.requestId()).isEqualTo(3);
                assertThat(r.reason()).isEqualTo(CircuitRejectReason.LIMIT_REACHED);
                assertThat(r8.pendingCircuits()).isEqualTo(2);
                other.send(new ClientFrame.CircuitRequest(9, listenerId.nodeKey(), "ssh"));
                await().atMost(Duration.ofSeconds(5)).until(() -> r8.pendingCircuits() == 3);
                assertThat(other.count(RelayFrame.CircuitRejected.class)).isZero();
            } finally {
                hog.close();
                l.close();
                other.close();
            }
        }
    }

    @Test
    void dialersThatNeverAttachCannotKeepAWellBehavedDialerFromAFullListener() throws Exception {
        // 8 pending slots, a share of 2: four hogs that never attach fill the listener completely.
        // The listener (like the agent) accepts and attaches each offer and waits for the dialer.
        // (a token TTL long enough that no hog circuit times out while the test looks: loaded machines)
        try (RelayServer r8 =
                TestRelays.start(Map.of("limits.pending-circuits-per-client", "8", "timeouts.circuit-token", "120s"))) {
            TestRelayClient l = controlOn(r8, listenerId, true);
            List<TestRelayClient> hogs = new java.util.ArrayList<>();
            java.util.Map<CircuitId, TestRelayClient> listenerEnds = new java.util.HashMap<>();
            NodeIdentity goodId = NodeIdentity.ephemeral("good");
            TestRelayClient good = controlOn(r8, goodId, false);
            try {
                for (int h = 0; h < 4; h++) {
                    TestRelayClient hog = controlOn(r8, NodeIdentity.ephemeral("hog" + h), false);
                    hogs.add(hog);
                    hog.send(new ClientFrame.CircuitRequest(1, listenerId.nodeKey(), "ssh"));
                    hog.send(new ClientFrame.CircuitRequest(2, listenerId.nodeKey(), "ssh"));
                }
                for (int i = 0; i < 8; i++) {
                    RelayFrame.CircuitOffer o = l.awaitFrame(RelayFrame.CircuitOffer.class);
                    l.send(new ClientFrame.CircuitAccept(o.circuitId()));
                    TestRelayClient end = TestRelayClient.connect(
                            r8.address(), TestRelays.clientTls(r8), Options.circuit(Mode.UPGRADE));
                    end.send(new ClientFrame.CircuitAttach(o.circuitId(), o.token()));
                    listenerEnds.put(o.circuitId(), end);
                }
                for (TestRelayClient hog : hogs) {
                    hog.awaitFrame(RelayFrame.CircuitAccepted.class);
                    hog.awaitFrame(RelayFrame.CircuitAccepted.class); // ...and never attach
                }
                assertThat(r8.pendingCircuits()).isEqualTo(8);

                // the well-behaved dialer gets a slot: the oldest unattached circuit of a hog gives way
                good.send(new ClientFrame.CircuitRequest(9, listenerId.nodeKey(), "ssh"));
                RelayFrame.CircuitOffer offer = l.awaitFrame(RelayFrame.CircuitOffer.class);
                assertThat(offer.source()).isEqualTo(goodId.nodeKey());
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> hogs.stream()
                                        .mapToLong(h -> h.count(RelayFrame.CircuitRejected.class))
                                        .sum()
                                == 1);
                TestRelayClient loser = hogs.stream()
                        .filter(h -> h.count(RelayFrame.CircuitRejected.class) == 1)
                        .findFirst()
                        .orElseThrow();
                RelayFrame.CircuitRejected evicted = loser.awaitFrame(RelayFrame.CircuitRejected.class);
                assertThat(evicted.requestId()).as("the hog's oldest circuit").isEqualTo(1);
                assertThat(evicted.reason()).isEqualTo(CircuitRejectReason.LIMIT_REACHED);
                // the listener's end of the evicted circuit is closed at once (its agent stops waiting)
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> listenerEnds.values().stream()
                                        .filter(e -> !e.isOpen())
                                        .count()
                                == 1);
                assertThat(r8.prometheus()
                                .get(RelayMetrics.CIRCUIT_EVENTS)
                                .tag(RelayMetrics.TAG_EVENT, "evicted")
                                .counter()
                                .count())
                        .isEqualTo(1);

                // no churn between equals: the hog that lost a slot (now 1 against 2) cannot take one back while the
                // listener is full
                loser.send(new ClientFrame.CircuitRequest(3, listenerId.nodeKey(), "ssh"));
                RelayFrame.CircuitRejected again = loser.awaitFrame(RelayFrame.CircuitRejected.class);
                assertThat(again.requestId()).isEqualTo(3);
                assertThat(again.reason()).isEqualTo(CircuitRejectReason.LIMIT_REACHED);
                assertThat(r8.prometheus()
                                .get(RelayMetrics.CIRCUIT_EVENTS)
                                .tag(RelayMetrics.TAG_EVENT, "evicted")
                                .counter()
                                .count())
                        .isEqualTo(1);

                // the circuit works end to end
                l.send(new ClientFrame.CircuitAccept(offer.circuitId()));
                RelayFrame.CircuitAccepted accepted = good.awaitFrame(RelayFrame.CircuitAccepted.class);
                try (TestRelayClient le = TestRelayClient.connect(
                                r8.address(), TestRelays.clientTls(r8), Options.circuit(Mode.UPGRADE));
                        TestRelayClient de = TestRelayClient.connect(
                                r8.address(), TestRelays.clientTls(r8), Options.circuit(Mode.UPGRADE))) {
                    le.send(new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));
                    de.send(new ClientFrame.CircuitAttach(accepted.circuitId(), accepted.token()));
                    le.awaitFrame(RelayFrame.CircuitAttached.class);
                    de.awaitFrame(RelayFrame.CircuitAttached.class);
                    de.writeRaw("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    await().atMost(Duration.ofSeconds(10)).until(() -> le.circuitBytes().length == 5);
                }

            } finally {
                listenerEnds.values().forEach(TestRelayClient::close);
                hogs.forEach(TestRelayClient::close);
                good.close();
                l.close();
            }
        }
    }

    @Test
    void idleCircuitsAreClosedAndActiveCapRefuses() throws Exception {
        relay.close();
        dialer.close();
        listener.close();
        relay = TestRelays.start(Map.of("timeouts.circuit-idle", "1s", "limits.active-circuits-per-client", "1"));
        dialer = control(dialerId, false);
        listener = control(listenerId, true);
        Negotiated n = negotiate(1);
        try (TestRelayClient l = attach(Mode.UPGRADE, n.offer());
                TestRelayClient d = attach(Mode.UPGRADE, n.accepted())) {
            d.awaitFrame(RelayFrame.CircuitAttached.class);
            l.awaitFrame(RelayFrame.CircuitAttached.class);
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.activeCircuits() == 1);
            // one active circuit is this client's cap
            dialer.send(new ClientFrame.CircuitRequest(2, listenerId.nodeKey(), "ssh"));
            assertThat(dialer.awaitFrame(RelayFrame.CircuitRejected.class).reason())
                    .isEqualTo(CircuitRejectReason.LIMIT_REACHED);
            // nothing flows: the idle timeout closes both ends
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> (!d.isOpen() || d.inputShutdown()) && (!l.isOpen() || l.inputShutdown()));
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.activeCircuits() == 0);
        }
        negotiate(3); // the cap is free again
    }

    @Test
    void circuitRequestOnACircuitConnectionIsRefused() throws Exception {
        try (TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.circuit(Mode.UPGRADE))) {
            c.send(new ClientFrame.CircuitRequest(1, listenerId.nodeKey(), "ssh"));
            assertThat(c.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.PROTOCOL_ERROR);
            c.awaitClosed();
        }
    }

    private double counter(String name, String tag, String value) {
        var c = relay.prometheus().find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }
}
