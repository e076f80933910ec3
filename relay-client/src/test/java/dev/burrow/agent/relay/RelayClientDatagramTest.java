package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Datagrams, peer events, the bounded outbound queue, and a hostile relay. */
class RelayClientDatagramTest {
    private static final Duration WAIT = Duration.ofSeconds(60); // an upper bound only: CI machines are loaded

    private FakeRelay relay;
    private RelayClient alice;
    private RelayClient bob;
    private final NodeIdentity aliceId = TestIdentities.ephemeral("alice");
    private final NodeIdentity bobId = TestIdentities.ephemeral("bob");
    private final ClientFixture.Recorder aliceEvents = new ClientFixture.Recorder();
    private final ClientFixture.Recorder bobEvents = new ClientFixture.Recorder();

    @BeforeEach
    void startRelay() throws Exception {
        relay = new FakeRelay();
    }

    @AfterEach
    void stop() {
        for (RelayClient c : new RelayClient[] {alice, bob}) {
            if (c != null) {
                c.close();
            }
        }
        relay.close();
    }

    private void connectBoth(ConnectMode mode) throws Exception {
        alice = ClientFixture.client(ClientFixture.config(relay, aliceId, mode).build(), aliceEvents);
        bob = ClientFixture.client(ClientFixture.config(relay, bobId, mode).build(), bobEvents);
        alice.start();
        bob.start();
        alice.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        bob.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @ParameterizedTest
    @EnumSource(
            value = ConnectMode.class,
            names = {"UPGRADE", "WEBSOCKET"})
    void datagramsTravelBothWaysWithTheAuthenticatedSource(ConnectMode mode) throws Exception {
        connectBoth(mode);
        assertThat(bob.send(aliceId.nodeKey(), Unpooled.copiedBuffer("hello alice", StandardCharsets.UTF_8)))
                .isEqualTo(SendResult.QUEUED);
        ClientFixture.Recorder.Received got = aliceEvents.datagrams.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(got).isNotNull();
        assertThat(got.source()).isEqualTo(bobId.nodeKey());
        assertThat(new String(got.payload(), StandardCharsets.UTF_8)).isEqualTo("hello alice");

        byte[] big = new byte[FrameLimits.MAX_DATAGRAM_PAYLOAD];
        big[big.length - 1] = 42;
        assertThat(alice.send(bobId.nodeKey(), Unpooled.wrappedBuffer(big))).isEqualTo(SendResult.QUEUED);
        got = bobEvents.datagrams.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(got.payload()).isEqualTo(big);
        await().atMost(WAIT)
                .until(() -> alice.stats().datagramsSent() == 1 && bob.stats().datagramsReceived() == 1);
    }

    /**
     * Sends are coalesced (one flush per batch, not per datagram): a burst from a foreign thread and
     * the replies sent from the receiving client's own event loop all arrive, in full, and a lone
     * datagram after the burst is flushed at the end of its batch rather than held for a next one.
     */
    @Test
    void coalescedBatchesFromAnyThreadAndFromTheLoopAreDeliveredAndALoneDatagramIsNotHeld() throws Exception {
        connectBoth(ConnectMode.UPGRADE);
        bob.setDatagramHandler((src, buf) -> bob.send(src, buf.retainedDuplicate())); // echo, on bob's loop
        int burst = 50;
        for (int i = 0; i < burst; i++) {
            assertThat(alice.send(bobId.nodeKey(), Unpooled.buffer(4).writeInt(i)))
                    .isEqualTo(SendResult.QUEUED);
        }
        java.util.Set<Integer> echoed = new java.util.TreeSet<>();
        for (int i = 0; i < burst; i++) {
            ClientFixture.Recorder.Received got = aliceEvents.datagrams.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(got).as("echo %d of %d", i, burst).isNotNull();
            assertThat(got.source()).isEqualTo(bobId.nodeKey());
            echoed.add(Unpooled.wrappedBuffer(got.payload()).readInt());
        }
        assertThat(echoed).hasSize(burst).first().isEqualTo(0);
        assertThat(echoed).last().isEqualTo(burst - 1);

        assertThat(alice.send(bobId.nodeKey(), Unpooled.buffer(4).writeInt(4242)))
                .isEqualTo(SendResult.QUEUED);
        ClientFixture.Recorder.Received lone = aliceEvents.datagrams.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(lone).isNotNull();
        assertThat(Unpooled.wrappedBuffer(lone.payload()).readInt()).isEqualTo(4242);
        await().atMost(WAIT)
                .until(() -> alice.stats().datagramsSent() == burst + 1
                        && bob.stats().datagramsSent() == burst + 1
                        && alice.stats().datagramsDropped() == 0
                        && bob.stats().datagramsDropped() == 0);
        assertThat(alice.pendingOutboundBytes().get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isZero();
    }

    @Test
    void oversizedAndDisconnectedSendsAreDroppedAndReleased() throws Exception {
        alice = ClientFixture.client(
                ClientFixture.config(relay, aliceId, ConnectMode.UPGRADE).build(), aliceEvents);
        io.netty.buffer.ByteBuf early = Unpooled.buffer(4).writeInt(1);
        assertThat(alice.send(bobId.nodeKey(), early)).isEqualTo(SendResult.DROPPED_NOT_CONNECTED);
        assertThat(early.refCnt()).isZero();
        alice.start();
        alice.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        io.netty.buffer.ByteBuf huge =
                Unpooled.buffer(FrameLimits.MAX_DATAGRAM_PAYLOAD + 1).writeZero(FrameLimits.MAX_DATAGRAM_PAYLOAD + 1);
        assertThat(alice.send(bobId.nodeKey(), huge)).isEqualTo(SendResult.DROPPED_TOO_LARGE);
        assertThat(huge.refCnt()).isZero();
        assertThat(alice.stats().datagramsDropped()).isEqualTo(2);
    }

    @Test
    void peerEventsReachTheListener() throws Exception {
        connectBoth(ConnectMode.UPGRADE);
        NodeIdentity nobody = TestIdentities.ephemeral("nobody");
        alice.send(nobody.nodeKey(), Unpooled.wrappedBuffer(new byte[] {1}));
        await().atMost(WAIT).until(() -> aliceEvents.gone.contains(nobody.nodeKey()));
        assertThat(aliceEvents.goneReasons).containsExactly(PeerGoneReason.NOT_HERE);

        FakeRelay.Session s = relay.session(aliceId.nodeKey());
        s.send(new RelayFrame.PeerPresent(bobId.nodeKey()));
        s.send(new RelayFrame.Health("another connection with your key is active"));
        await().atMost(WAIT)
                .until(() -> aliceEvents.present.contains(bobId.nodeKey())
                        && aliceEvents.health.contains("another connection with your key is active"));
    }

    @Test
    void theOutboundQueueIsBoundedWhenTheRelayStopsReading() throws Exception {
        relay.stallAfterAccept = true;
        alice = ClientFixture.client(
                ClientFixture.config(relay, aliceId, ConnectMode.UPGRADE)
                        .maxQueuedDatagrams(64)
                        .build(),
                aliceEvents);
        alice.start();
        alice.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        Map<SendResult, AtomicInteger> results = new EnumMap<>(SendResult.class);
        byte[] kib = new byte[1024];
        // 64 MiB offered to a relay that reads nothing: far beyond socket buffers, so the bound must act.
        for (int i = 0; i < 65_536; i++) {
            SendResult r = alice.send(bobId.nodeKey(), Unpooled.wrappedBuffer(kib));
            results.computeIfAbsent(r, k -> new AtomicInteger()).incrementAndGet();
        }
        assertThat(results.get(SendResult.DROPPED_BACKPRESSURE)).isNotNull();
        assertThat(results.get(SendResult.DROPPED_BACKPRESSURE).get()).isGreaterThan(30_000);
        assertThat(alice.stats().datagramsDropped()).isGreaterThan(30_000);
        // Memory held for the stalled relay stays bounded: our queue plus Netty's high-water mark.
        long pending = alice.pendingOutboundBytes().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(pending).isLessThanOrEqualTo(64 * 1024 + 64 * 1024 + 1024);
    }

    /** Hostile relay frames, each sent after a valid accept. */
    @ParameterizedTest
    @ValueSource(
            strings = {
                "11ffffffff", // RECV_DATAGRAM claiming 4 GiB: B1
                "1180000000", // length that is negative as a Java int
                "110001002500", // RECV_DATAGRAM of 65 573 bytes: one over the maximum
                "110000000401020304", // RECV_DATAGRAM shorter than the 32-byte key: B2
                "2000000003010203", // PING with 3 bytes: B3
                "01000000250001000100000000000000000000000000000000000000000000000000000000000000000000", // second
                // SERVER_HELLO
                "39000000 00", // CIRCUIT_ATTACHED on a control connection
                "04000000020500", // DENY (SERVER_FULL) after accept: closes too, as a denial
            })
    void aHostileRelayIsDisconnectedAndTheClientReconnects(String hex) throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        byte[] bytes = java.util.HexFormat.of().parseHex(hex.replace(" ", ""));
        relay.onAccepted = s -> {
            if (accepted.getAndIncrement() == 0) {
                s.sendRaw(bytes);
            }
        };
        alice = ClientFixture.client(
                ClientFixture.config(relay, aliceId, ConnectMode.UPGRADE).build(), aliceEvents);
        alice.start();
        await().atMost(WAIT).until(() -> aliceEvents.disconnected.size() + aliceEvents.denied.size() >= 1);
        await().atMost(WAIT).until(() -> accepted.get() >= 2 && alice.state() == RelayConnectionState.CONNECTED);
        if (!aliceEvents.disconnected.isEmpty()) {
            assertThat(aliceEvents.disconnected.get(0)).isInstanceOf(ProtocolViolation.class);
            assertThat(alice.stats().protocolViolations()).isEqualTo(1);
        }
    }

    @Test
    void aHostileRelayOverWebSocketIsDisconnectedToo() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        relay.onAccepted = s -> {
            if (accepted.getAndIncrement() == 0) {
                s.sendRaw(java.util.HexFormat.of().parseHex("11ffffffff"));
            }
        };
        alice = ClientFixture.client(
                ClientFixture.config(relay, aliceId, ConnectMode.WEBSOCKET).build(), aliceEvents);
        alice.start();
        await().atMost(WAIT).until(() -> !aliceEvents.disconnected.isEmpty());
        assertThat(aliceEvents.disconnected.get(0)).isInstanceOf(ProtocolViolation.class);
        await().atMost(WAIT).until(() -> accepted.get() >= 2 && alice.state() == RelayConnectionState.CONNECTED);
    }

    @Test
    void unknownFrameTypesAreSkippedAndTheConnectionContinues() throws Exception {
        connectBoth(ConnectMode.UPGRADE);
        FakeRelay.Session s = relay.session(aliceId.nodeKey());
        s.sendRaw(java.util.HexFormat.of().parseHex("7f00000004deadbeef"));
        bob.send(aliceId.nodeKey(), Unpooled.wrappedBuffer(new byte[] {7}));
        assertThat(aliceEvents.datagrams.poll(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isNotNull();
        assertThat(aliceEvents.disconnected).isEmpty();
    }
}
