package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Connecting, authenticating, keepalive, denial and reconnection against a {@link FakeRelay}. */
class RelayClientConnectTest {
    private static final Duration WAIT = Duration.ofSeconds(60); // an upper bound only: CI machines are loaded

    private FakeRelay relay;
    private RelayClient client;
    private final NodeIdentity alice = TestIdentities.ephemeral("alice");
    private final ClientFixture.Recorder events = new ClientFixture.Recorder();

    @BeforeEach
    void startRelay() throws Exception {
        relay = new FakeRelay();
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        relay.close();
    }

    @ParameterizedTest
    @EnumSource(
            value = ConnectMode.class,
            names = {"UPGRADE", "WEBSOCKET"})
    void connectsAndAuthenticatesWithAProofOfTheChallenge(ConnectMode mode) throws Exception {
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, mode).acceptsCircuits(true).build(), events);
        client.start();
        RelayConnectionInfo info = client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertThat(info.relayId()).isEqualTo("fake-relay");
        assertThat(info.mode()).isEqualTo(mode);
        assertThat(info.observedAddress()).contains("127.0.0.1");
        assertThat(client.state()).isEqualTo(RelayConnectionState.CONNECTED);
        assertThat(relay.authVerified.get()).isEqualTo(1);
        ClientFrame.ClientAuth auth = relay.auths.take();
        FakeRelay.Session session = relay.session(alice.nodeKey());
        assertThat(RelayAuthProof.verify(auth.key(), session.challenge, auth.signature()))
                .isTrue();
        assertThat(auth.key()).isEqualTo(alice.nodeKey());
        assertThat(auth.acceptsCircuits()).isTrue();
        assertThat(auth.software()).isEqualTo("test");
        assertThat(session.chain.get(0)).isEqualTo(alice.certificateChain().get(0));
        assertThat(mode == ConnectMode.UPGRADE ? relay.upgradeRequests.get() : relay.webSocketRequests.get())
                .isEqualTo(1);
        await().atMost(WAIT).until(() -> events.connected.size() == 1);
        assertThat(client.stats().bytesIn()).isPositive();
        assertThat(client.stats().bytesOut()).isPositive();
    }

    @Test
    void autoModeFallsBackToWebSocketWhenTheUpgradeIsRefused() throws Exception {
        relay.refuseUpgrade = true;
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.AUTO).build(), events);
        client.start();
        RelayConnectionInfo info = client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(info.mode()).isEqualTo(ConnectMode.WEBSOCKET);
        assertThat(relay.upgradeRequests.get()).isEqualTo(1);
        assertThat(relay.webSocketRequests.get()).isEqualTo(1);
    }

    @Test
    void measuresRttWithItsOwnPingsAndAnswersTheRelaysPings() throws Exception {
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE)
                        .pingInterval(Duration.ofMillis(100))
                        .build(),
                events);
        client.start();
        client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> events.rtts.size() >= 2);
        assertThat(client.stats().lastRtt()).isNotNull().isPositive();
        assertThat(relay.pingsAnswered.get()).isGreaterThanOrEqualTo(2);

        FakeRelay.Session session = relay.session(alice.nodeKey());
        byte[] data = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        session.send(new dev.burrow.protocol.frame.Frame.Ping(data));
        await().atMost(WAIT)
                .until(() -> session.received.stream()
                        .anyMatch(f -> f.equals(new dev.burrow.protocol.frame.Frame.Pong(data))));
    }

    @Test
    void denialIsSurfacedWithItsReasonAndRetriedOnlyAfterTheLongBackoff() throws Exception {
        relay.denyWith = DenyReason.NOT_ALLOWED;
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE)
                        .deniedBackoff(Duration.ofMinutes(10))
                        .build(),
                events);
        client.start();
        await().atMost(WAIT).until(() -> events.denied.size() == 1);
        RelayDeniedException denial = events.denied.get(0);
        assertThat(denial.reason()).isEqualTo(DenyReason.NOT_ALLOWED);
        assertThat(denial.relayMessage()).isEqualTo("scripted denial");
        assertThat(denial.definitive()).isTrue();
        assertThat(events.retryDelays.get(0)).isGreaterThan(Duration.ofMinutes(5));
        assertThat(client.lastDenial()).isSameAs(denial);
        assertThat(client.state()).isEqualTo(RelayConnectionState.DENIED);
        // No retry storm: the relay sees no second attempt for a while.
        Thread.sleep(800);
        assertThat(relay.controlConnections.get()).isEqualTo(1);
    }

    @Test
    void transientDenialUsesTheNormalBackoff() throws Exception {
        relay.denyWith = DenyReason.SERVER_FULL;
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE).build(), events);
        client.start();
        await().atMost(WAIT).until(() -> events.denied.size() >= 2);
        assertThat(events.denied.get(0).definitive()).isFalse();
        relay.denyWith = null;
        client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void reconnectsWithBackoffWhenTheRelayDropsTheConnection() throws Exception {
        relay.onAccepted = FakeRelay.Session::close;
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE)
                        .backoff(Duration.ofMillis(100), Duration.ofMillis(400))
                        .build(),
                events);
        client.start();
        await().atMost(WAIT).until(() -> events.retryDelays.size() >= 6);
        // Jittered exponential: the k-th delay lies in [c/2, c] with c = min(cap, base * 2^k).
        for (int k = 0; k < 6; k++) {
            long c = Math.min(400, 100L << k);
            assertThat(events.retryDelays.get(k).toMillis()).isBetween(c / 2, c);
        }
        // Bounded attempts, whatever the machine's speed: never more than one per minimal delay (50 ms).
        long t0 = System.nanoTime();
        int before = relay.controlConnections.get();
        Thread.sleep(1000);
        int attempts = relay.controlConnections.get() - before;
        long elapsedMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(attempts).isLessThanOrEqualTo((int) (elapsedMs / 50) + 2);
        assertThat(events.connected.size()).isGreaterThanOrEqualTo(5);

        relay.onAccepted = s -> {};
        await().atMost(WAIT)
                .until(() -> client.state() == RelayConnectionState.CONNECTED
                        && relay.liveSessions().size() == 1);
        assertThat(client.stats().reconnects()).isGreaterThanOrEqualTo(4);
    }

    @Test
    void aStableConnectionResetsTheBackoff() throws Exception {
        relay.onAccepted = s -> s.channel.eventLoop().schedule(s::close, 400, TimeUnit.MILLISECONDS);
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE)
                        .backoff(Duration.ofMillis(100), Duration.ofSeconds(10))
                        .stableAfter(Duration.ofMillis(200))
                        .build(),
                events);
        client.start();
        await().atMost(WAIT).until(() -> events.retryDelays.size() >= 4);
        // Each connection lived past stableAfter, so every delay is drawn from the first step again.
        assertThat(events.retryDelays.subList(0, 4))
                .allSatisfy(d -> assertThat(d.toMillis()).isBetween(50L, 100L));
    }

    @Test
    void restartingIsHonouredBeforeReconnecting() throws Exception {
        relay.onAccepted = s -> {
            s.send(new dev.burrow.protocol.frame.RelayFrame.Restarting(3000, 10_000));
            s.channel.eventLoop().schedule(s::close, 50, TimeUnit.MILLISECONDS);
        };
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE).build(), events);
        client.start();
        await().atMost(WAIT).until(() -> events.restarting.size() == 1 && events.disconnected.size() == 1);
        relay.onAccepted = s -> {};
        assertThat(events.restarting.get(0)[0]).isEqualTo(Duration.ofMillis(3000));
        assertThat(events.restarting.get(0)[1]).isEqualTo(Duration.ofMillis(10_000));
        assertThat(events.retryDelays.get(0)).isGreaterThan(Duration.ofMillis(2000));
        // The client waits for reconnectIn instead of its 50 ms base backoff.
        Thread.sleep(1000);
        assertThat(relay.controlConnections.get()).isEqualTo(1);
        await().atMost(WAIT)
                .until(() -> relay.controlConnections.get() == 2 && client.state() == RelayConnectionState.CONNECTED);
    }

    @Test
    void aSilentRelayIsDeclaredDeadAfterTwoKeepalives() throws Exception {
        relay.keepaliveMillis = 300;
        relay.answerPings = false;
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE).build(), events);
        client.start();
        client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> !events.disconnected.isEmpty());
        assertThat(events.disconnected.get(0))
                .isInstanceOf(RelayTimeoutException.class)
                .hasMessageContaining("keepalive");
        await().atMost(WAIT).until(() -> relay.controlConnections.get() >= 2);
    }

    @Test
    void anUnansweredPingMeansADeadRelay() throws Exception {
        relay.answerPings = false;
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE)
                        .pingInterval(Duration.ofMillis(100))
                        .pingTimeout(Duration.ofMillis(300))
                        .build(),
                events);
        client.start();
        client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> !events.disconnected.isEmpty());
        assertThat(events.disconnected.get(0))
                .isInstanceOf(RelayTimeoutException.class)
                .hasMessageContaining("PING");
        await().atMost(WAIT).until(() -> relay.controlConnections.get() >= 2);
    }

    @Test
    void aRelayThatNeverSaysHelloTimesOutTheHandshake() throws Exception {
        relay.sendHello = false;
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE)
                        .handshakeTimeout(Duration.ofMillis(500))
                        .build(),
                events);
        client.start();
        await().atMost(WAIT).until(() -> !events.disconnected.isEmpty());
        assertThat(events.disconnected.get(0)).isInstanceOf(RelayTimeoutException.class);
        assertThat(client.state()).isIn(RelayConnectionState.BACKING_OFF, RelayConnectionState.CONNECTING);
    }

    @Test
    void hostNamesAreResolvedAndUnknownHostsRetried() throws Exception {
        java.net.URI byName = java.net.URI.create("https://localhost:" + relay.port());
        client = ClientFixture.client(
                RelayClientConfig.builder(byName, RelayTrust.pinned(relay.fingerprint()), alice)
                        .mode(ConnectMode.UPGRADE)
                        .build(),
                events);
        client.start();
        assertThat(client.whenConnected()
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS)
                        .relayUrl())
                .isEqualTo(byName);
        client.close();

        ClientFixture.Recorder nowhere = new ClientFixture.Recorder();
        client = ClientFixture.client(
                RelayClientConfig.builder(
                                java.net.URI.create("https://no-such-relay.invalid:443"),
                                RelayTrust.pinned(relay.fingerprint()),
                                alice)
                        .backoff(Duration.ofMillis(50), Duration.ofMillis(100))
                        .build(),
                nowhere);
        client.start();
        await().atMost(WAIT).until(() -> nowhere.disconnected.size() >= 2);
        assertThat(nowhere.disconnected.get(0)).isInstanceOf(java.net.UnknownHostException.class);
    }

    @Test
    void closeStopsReconnecting() throws Exception {
        client = ClientFixture.client(
                ClientFixture.config(relay, alice, ConnectMode.UPGRADE).build(), events);
        client.start();
        client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        client.close();
        assertThat(client.state()).isEqualTo(RelayConnectionState.CLOSED);
        await().atMost(WAIT).until(() -> relay.liveSessions().isEmpty());
        Thread.sleep(300);
        assertThat(relay.controlConnections.get()).as("attempts after close").isEqualTo(1);
    }
}
