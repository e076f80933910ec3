package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.FrameType;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import io.micrometer.core.instrument.Counter;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile clients on real sockets, one attack per test, each showing the connection closed (DENY
 * first where the relay can still write) or the message dropped, a counter moving, and a bystander
 * that authenticated before the attack still forwarding datagrams afterwards. Complements
 * {@link AdversarialConnectionTest} (oversized frame lengths, datagram size bounds, unknown frames and ping floods basics, connection storms, secrets in logs) and
 * {@link HandshakeTimeoutTest} (slowloris before the HTTP request).
 */
class HostileClientTest {
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

    private TestRelayClient connect(Options opts) throws Exception {
        TestRelayClient c = TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), opts);
        open.add(c);
        return c;
    }

    private TestRelayClient authenticated(NodeIdentity id) throws Exception {
        TestRelayClient c = connect(Options.control(Mode.UPGRADE));
        assertThat(c.authenticate(id, true)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private static byte[] frame(int type, long announcedLength, int payloadBytes) {
        return ByteBuffer.allocate(FrameLimits.HEADER_LENGTH + payloadBytes)
                .put((byte) type)
                .putInt((int) announcedLength)
                .array();
    }

    private double sum(String meter) {
        return relay.prometheus().find(meter).counters().stream()
                .mapToDouble(Counter::count)
                .sum();
    }

    private double counter(String meter, String tag, String value) {
        Counter c = relay.prometheus().find(meter).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }

    /** Two clients that keep talking through every test: the attack must not reach them. */
    private record Bystanders(TestRelayClient a, NodeIdentity aId, TestRelayClient b, NodeIdentity bId) {
        void stillForward(byte marker) throws Exception {
            a.sendDatagram(bId.nodeKey(), new byte[] {marker});
            assertThat(b.takeDatagram().payload()).containsExactly(marker);
            b.send(new Frame.Ping(new byte[] {marker, 1, 2, 3, 4, 5, 6, 7}));
            b.awaitFrame(Frame.Pong.class);
            assertThat(a.isOpen() && b.isOpen()).isTrue();
        }
    }

    private Bystanders bystanders() throws Exception {
        NodeIdentity a = NodeIdentity.ephemeral("bystander-a");
        NodeIdentity b = NodeIdentity.ephemeral("bystander-b");
        return new Bystanders(authenticated(a), a, authenticated(b), b);
    }

    private void assertClosedWithProtocolError(TestRelayClient c) {
        assertThat(c.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.PROTOCOL_ERROR);
        c.awaitClosed();
    }

    // ------------------------------------------------------------------ oversized frame lengths: lengths at and above
    // every limit

    @Test
    void everyLengthAboveItsTypesLimitClosesRightAfterTheHeader() throws Exception {
        relay = TestRelays.start(Map.of());
        Bystanders by = bystanders();
        int attacks = 0;
        // before authentication: CLIENT_AUTH one byte over its cap, and at the largest u32
        for (long len : new long[] {FrameLimits.MAX_AUTH_PAYLOAD + 1L, 0xFFFF_FFFFL, 0x8000_0000L}) {
            TestRelayClient c = connect(Options.control(Mode.UPGRADE));
            c.awaitFrame(RelayFrame.ServerHello.class);
            c.writeRaw(frame(FrameType.CLIENT_AUTH.code(), len, 0)); // header only: nothing may wait for the payload
            assertClosedWithProtocolError(c);
            attacks++;
        }
        // after authentication: every type a client may send, one byte over its maximum and at 0xFFFFFFFF
        for (FrameType t : List.of(
                FrameType.SEND_DATAGRAM,
                FrameType.PING,
                FrameType.PONG,
                FrameType.CIRCUIT_REQUEST,
                FrameType.CIRCUIT_ACCEPT,
                FrameType.CIRCUIT_REJECT)) {
            for (long len : new long[] {t.maxPayload() + 1L, 0xFFFF_FFFFL}) {
                TestRelayClient c = authenticated(NodeIdentity.ephemeral("attacker"));
                c.writeRaw(frame(t.code(), len, 0));
                assertClosedWithProtocolError(c);
                attacks++;
            }
        }
        // an unknown type is skipped up to the unknown-payload cap, and closes above it
        TestRelayClient c = authenticated(NodeIdentity.ephemeral("attacker"));
        c.writeRaw(frame(0x7E, FrameLimits.MAX_UNKNOWN_PAYLOAD + 1L, 0));
        assertClosedWithProtocolError(c);
        attacks++;
        // a circuit connection before attach: CIRCUIT_ATTACH one byte over
        TestRelayClient circuit = connect(Options.circuit(Mode.UPGRADE));
        circuit.writeRaw(frame(FrameType.CIRCUIT_ATTACH.code(), FrameType.CIRCUIT_ATTACH.maxPayload() + 1L, 0));
        assertClosedWithProtocolError(circuit);
        attacks++;

        assertThat(sum(RelayMetrics.PROTOCOL_VIOLATIONS)).isGreaterThanOrEqualTo(attacks);
        by.stillForward((byte) 1);
        assertThat(relay.context().registry().size()).isEqualTo(2); // only the bystanders remain registered
    }

    @Test
    void lengthsExactlyAtTheLimitAreAccepted() throws Exception {
        relay = TestRelays.start(Map.of());
        Bystanders by = bystanders();
        byte[] payload = new byte[FrameLimits.MAX_DATAGRAM_PAYLOAD];
        payload[payload.length - 1] = 42;
        by.a().sendDatagram(by.bId().nodeKey(), payload);
        assertThat(by.b().takeDatagram().payload())
                .hasSize(FrameLimits.MAX_DATAGRAM_PAYLOAD)
                .endsWith(42);
        byte[] ping = new byte[FrameLimits.MAX_PING_DATA];
        by.a().send(new Frame.Ping(ping));
        assertThat(by.a().awaitFrame(Frame.Pong.class).data()).hasSize(FrameLimits.MAX_PING_DATA);
        by.stillForward((byte) 2);
    }

    // ------------------------------------------------------------------ unknown frames and ping floods / protocol
    // state: out-of-order frames

    @Test
    void framesOutOfOrderCloseTheConnection() throws Exception {
        relay = TestRelays.start(Map.of());
        Bystanders by = bystanders();
        double before = sum(RelayMetrics.PROTOCOL_VIOLATIONS);
        int attacks = 0;
        // before authentication: anything but CLIENT_AUTH
        for (Frame f : List.<Frame>of(
                new Frame.Ping(new byte[8]),
                new ClientFrame.SendDatagram(
                        by.bId().nodeKey(), io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {1})),
                new ClientFrame.CircuitRequest(1, by.bId().nodeKey(), "ssh"))) {
            TestRelayClient c = connect(Options.control(Mode.UPGRADE));
            c.awaitFrame(RelayFrame.ServerHello.class);
            c.send(f);
            assertClosedWithProtocolError(c);
            attacks++;
        }
        // after authentication: a second CLIENT_AUTH (replay on the same connection), CIRCUIT_ATTACH on a
        // control connection, and frame types only a relay sends
        NodeIdentity m = NodeIdentity.ephemeral("mallory");
        {
            TestRelayClient c = connect(Options.control(Mode.UPGRADE));
            RelayFrame.ServerHello hello = c.awaitFrame(RelayFrame.ServerHello.class);
            ClientFrame.ClientAuth auth = new ClientFrame.ClientAuth(
                    RelayProtocol.VERSION, 0, m.nodeKey(), RelayAuthProof.sign(m, hello.challenge()), List.of(), "t");
            c.send(auth);
            c.awaitFrame(RelayFrame.ServerAccept.class);
            c.send(auth);
            assertClosedWithProtocolError(c);
            attacks++;
        }
        {
            TestRelayClient c = authenticated(m);
            c.send(new ClientFrame.CircuitAttach(
                    dev.burrow.protocol.frame.CircuitId.random(), dev.burrow.protocol.frame.CircuitToken.random()));
            assertClosedWithProtocolError(c);
            attacks++;
        }
        for (FrameType relayOnly : List.of(
                FrameType.SERVER_HELLO,
                FrameType.SERVER_ACCEPT,
                FrameType.DENY,
                FrameType.RECV_DATAGRAM,
                FrameType.CIRCUIT_OFFER,
                FrameType.CIRCUIT_ACCEPTED,
                FrameType.CIRCUIT_ATTACHED,
                FrameType.KEEPALIVE,
                FrameType.RESTARTING)) {
            TestRelayClient c = authenticated(m);
            c.writeRaw(frame(relayOnly.code(), 0, 0));
            assertClosedWithProtocolError(c);
            attacks++;
        }
        // a circuit connection before attach: CLIENT_AUTH or a datagram
        for (Frame f : List.<Frame>of(
                new ClientFrame.ClientAuth(RelayProtocol.VERSION, 0, m.nodeKey(), new byte[64], List.of(), "t"),
                new Frame.Ping(new byte[8]))) {
            TestRelayClient c = connect(Options.circuit(Mode.UPGRADE));
            c.send(f);
            assertClosedWithProtocolError(c);
            attacks++;
        }
        assertThat(sum(RelayMetrics.PROTOCOL_VIOLATIONS) - before).isGreaterThanOrEqualTo(attacks);
        by.stillForward((byte) 3);
    }

    // ------------------------------------------------------------------ slowloris: slowloris after TLS and after the
    // upgrade

    @Test
    void slowlorisAtEveryStageAfterTlsIsClosedWhileLegitimateClientsConnect() throws Exception {
        // warm TLS and the JIT first (as HandshakeTimeoutTest), so the legitimate handshakes below are not the JVM's
        // first
        try (RelayServer warm = TestRelays.start(Map.of());
                TestRelayClient w = TestRelayClient.connect(
                        warm.address(), TestRelays.clientTls(warm), Options.control(Mode.UPGRADE))) {
            w.authenticate(NodeIdentity.ephemeral("warm"), false);
        }
        relay = TestRelays.start(Map.of("timeouts.handshake", "5s"));
        Bystanders by = bystanders(); // established before: must outlive every deadline
        List<TestRelayClient> slow = new ArrayList<>();
        // TLS done, then no HTTP request at all
        SSLSocket tlsOnly =
                trustingTls(relay.address().getHostString(), relay.address().getPort());
        open.add(tlsOnly);
        tlsOnly.startHandshake();
        // upgraded control connections (both transports) that never authenticate
        for (Mode mode : Mode.values()) {
            TestRelayClient c = connect(Options.control(mode));
            c.awaitFrame(RelayFrame.ServerHello.class);
            slow.add(c);
        }
        // CLIENT_AUTH header and part of its payload, then silence
        TestRelayClient partialAuth = connect(Options.control(Mode.UPGRADE));
        partialAuth.awaitFrame(RelayFrame.ServerHello.class);
        partialAuth.writeRaw(frame(FrameType.CLIENT_AUTH.code(), 200, 50));
        slow.add(partialAuth);
        // circuit connections: silent, and half a CIRCUIT_ATTACH
        TestRelayClient silentCircuit = connect(Options.circuit(Mode.UPGRADE));
        slow.add(silentCircuit);
        TestRelayClient partialAttach = connect(Options.circuit(Mode.WEBSOCKET));
        partialAttach.writeRaw(frame(FrameType.CIRCUIT_ATTACH.code(), 48, 10));
        slow.add(partialAttach);
        // without TLS (plain circuits are on by default): half an HTTP request, and an upgraded plain
        // circuit connection that never attaches
        Socket plainPartialHttp =
                new Socket(relay.address().getAddress(), relay.address().getPort());
        open.add(plainPartialHttp);
        plainPartialHttp
                .getOutputStream()
                .write("GET /v1/circuit HTTP/1.1\r\nHost: x\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        plainPartialHttp.getOutputStream().flush();
        if (relay.config().tls().plainCircuits()) {
            TestRelayClient plainCircuit =
                    TestRelayClient.connect(relay.address(), null, Options.circuit(Mode.UPGRADE));
            open.add(plainCircuit);
            slow.add(plainCircuit);
        }
        double timeoutsBefore = counter(RelayMetrics.HANDSHAKES, "outcome", "timeout");

        // meanwhile a legitimate client connects at once, on both transports
        for (Mode mode : Mode.values()) {
            TestRelayClient legit = connect(Options.control(mode));
            assertThat(legit.authenticate(
                            NodeIdentity.ephemeral("legit-" + mode.name().toLowerCase(java.util.Locale.ROOT)), false))
                    .isInstanceOf(RelayFrame.ServerAccept.class);
        }
        await().atMost(Duration.ofSeconds(20))
                .until(() -> slow.stream().noneMatch(TestRelayClient::isOpen)
                        && closedByPeer(tlsOnly)
                        && closedByPeer(plainPartialHttp));
        assertThat(counter(RelayMetrics.HANDSHAKES, "outcome", "timeout") - timeoutsBefore)
                .isGreaterThanOrEqualTo(slow.size() + 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.context().gate().handshakesInFlight() == 0);
        by.stillForward((byte) 4);
    }

    // ------------------------------------------------------------------ connection storms: handshake storm against
    // max-handshakes

    @Test
    void handshakeStormBeyondTheInFlightCapIsRefusedAndTheRelayRecovers() throws Exception {
        relay = TestRelays.start(Map.of("limits.max-handshakes", "4", "timeouts.handshake", "30s"));
        Bystanders by = bystanders();
        // four connections that hold every handshake slot (a TCP connect that never speaks TLS)
        List<Socket> holders = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Socket s = new Socket(relay.address().getAddress(), relay.address().getPort());
            holders.add(s);
            open.add(s);
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> relay.context().gate().handshakesInFlight() == 4);
        double refusedBefore = counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "handshakes_in_flight");
        // a storm of real TLS clients: each is refused at accept, before any TLS work
        int storm = 12;
        for (int i = 0; i < storm; i++) {
            try (SSLSocket s =
                    trustingTls(relay.address().getHostString(), relay.address().getPort())) {
                s.setSoTimeout(20_000);
                assertThatThrownBy(s::startHandshake).isInstanceOf(java.io.IOException.class);
            }
        }
        assertThat(counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "handshakes_in_flight") - refusedBefore)
                .isGreaterThanOrEqualTo(storm);
        assertThat(relay.context().gate().handshakesInFlight()).isLessThanOrEqualTo(4);
        by.stillForward((byte) 5);
        // the slots come back when the holders go
        for (Socket s : holders) {
            s.close();
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> relay.context().gate().handshakesInFlight() == 0);
        authenticated(NodeIdentity.ephemeral("after-the-storm"));
        by.stillForward((byte) 6);
    }

    // ------------------------------------------------------------------ auth replay: auth replay across connections

    @Test
    void authCapturedOnOneConnectionIsRefusedOnAnother() throws Exception {
        relay = TestRelays.start(Map.of());
        Bystanders by = bystanders();
        NodeIdentity alice = NodeIdentity.ephemeral("alice");
        TestRelayClient first = connect(Options.control(Mode.UPGRADE));
        RelayFrame.ServerHello hello1 = first.awaitFrame(RelayFrame.ServerHello.class);
        ClientFrame.ClientAuth captured = new ClientFrame.ClientAuth(
                RelayProtocol.VERSION,
                0,
                alice.nodeKey(),
                RelayAuthProof.sign(alice, hello1.challenge()),
                List.of(),
                "t");
        double failedBefore = counter(RelayMetrics.HANDSHAKES, "outcome", "auth_failed");
        for (Mode mode : Mode.values()) {
            TestRelayClient replay = connect(Options.control(mode));
            RelayFrame.ServerHello hello2 = replay.awaitFrame(RelayFrame.ServerHello.class);
            assertThat(hello2.challenge()).isNotEqualTo(hello1.challenge());
            replay.send(captured);
            assertThat(replay.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.AUTH_FAILED);
            replay.awaitClosed();
        }
        assertThat(counter(RelayMetrics.HANDSHAKES, "outcome", "auth_failed") - failedBefore)
                .isEqualTo(2);
        assertThat(relay.context().registry().size()).isEqualTo(2); // alice was never registered by the replays
        // the original connection still works with its own challenge
        first.send(captured);
        first.awaitFrame(RelayFrame.ServerAccept.class);
        by.stillForward((byte) 7);
    }

    // ------------------------------------------------------------------ bad keys: invalid keys and certificates

    @Test
    void invalidKeysAndCertificatesAreDeniedOverRealSockets(@TempDir Path dir) throws Exception {
        Clock now = Clock.systemUTC();
        FleetCa fleet = FleetCa.init(dir.resolve("fleet"), "fleet", now);
        FleetCa foreign = FleetCa.init(dir.resolve("foreign"), "foreign", now);
        FleetCa pastFleet = FleetCa.load(
                dir.resolve("fleet"), Clock.fixed(Instant.now().minus(Duration.ofDays(30)), ZoneOffset.UTC));
        relay = TestRelays.start(Map.of(
                "auth.mode",
                "ca",
                "auth.ca",
                dir.resolve("fleet").resolve(FleetCa.CERT_FILE).toString()));
        KeyPair kp = Ed25519Keys.generate();
        NodeKey key = Ed25519Keys.fromPublicKey(kp.getPublic());
        NodeIdentity holder = NodeIdentity.inMemory(kp, List.of(fleet.issue(key, "n1", Set.of(), Duration.ofDays(1))));
        // bystanders hold fleet certificates
        TestRelayClient good = connect(Options.control(Mode.UPGRADE));
        assertThat(authWithChain(
                        good,
                        holder,
                        holder.nodeKey(),
                        List.of(holder.certificateChain().get(0))))
                .isInstanceOf(RelayFrame.ServerAccept.class);

        KeyPair otherKp = Ed25519Keys.generate();
        NodeKey otherKey = Ed25519Keys.fromPublicKey(otherKp.getPublic());
        record Case(String what, NodeIdentity signer, NodeKey claimed, List<X509Certificate> chain) {}
        NodeIdentity signerOnly = holder; // holds kp; what differs per case is the claimed key and the chain
        List<Case> cases = List.of(
                new Case(
                        "expired certificate",
                        signerOnly,
                        key,
                        List.of(pastFleet.issue(key, "n1", Set.of(), Duration.ofDays(1)))),
                new Case(
                        "certificate from another CA",
                        signerOnly,
                        key,
                        List.of(foreign.issue(key, "n1", Set.of(), Duration.ofDays(1)))),
                new Case(
                        "fleet certificate for another node's key",
                        signerOnly,
                        key,
                        List.of(fleet.issue(otherKey, "n2", Set.of(), Duration.ofDays(1)))),
                new Case(
                        "claims the certificate's key, signs with another",
                        signerOnly,
                        otherKey,
                        List.of(fleet.issue(otherKey, "n2", Set.of(), Duration.ofDays(1)))),
                new Case("all-zero key", signerOnly, NodeKey.of(new byte[32]), List.of()));
        double deniedBefore = sum(RelayMetrics.HANDSHAKES) - counter(RelayMetrics.HANDSHAKES, "outcome", "ok");
        for (Case c : cases) {
            TestRelayClient t = connect(Options.control(Mode.UPGRADE));
            RelayFrame r = authWithChain(t, c.signer(), c.claimed(), c.chain());
            assertThat(r).as(c.what()).isInstanceOf(RelayFrame.Deny.class);
            assertThat(((RelayFrame.Deny) r).reason())
                    .as(c.what())
                    .isIn(DenyReason.AUTH_FAILED, DenyReason.NOT_ALLOWED);
            t.awaitClosed();
        }
        double denied = sum(RelayMetrics.HANDSHAKES) - counter(RelayMetrics.HANDSHAKES, "outcome", "ok") - deniedBefore;
        assertThat(denied).isGreaterThanOrEqualTo(cases.size());
        assertThat(relay.context().registry().size()).isEqualTo(1);
        good.send(new Frame.Ping(new byte[8]));
        good.awaitFrame(Frame.Pong.class);
    }

    private static RelayFrame authWithChain(
            TestRelayClient c, NodeIdentity signer, NodeKey claimed, List<X509Certificate> chain) throws Exception {
        RelayFrame.ServerHello hello = c.awaitFrame(RelayFrame.ServerHello.class);
        List<byte[]> der = new ArrayList<>();
        for (X509Certificate x : chain) {
            der.add(x.getEncoded());
        }
        c.send(new ClientFrame.ClientAuth(
                RelayProtocol.VERSION, 0, claimed, RelayAuthProof.sign(signer, hello.challenge()), der, "t"));
        return c.awaitAny(RelayFrame.ServerAccept.class, RelayFrame.Deny.class);
    }

    // ------------------------------------------------------------------ identity spoofing in routing metadata, stream
    // floods from one peer, relay chaining at the relay

    @Test
    void answersForSomeoneElsesCircuitChangeNothing() throws Exception {
        relay = TestRelays.start(Map.of());
        NodeIdentity dialerId = NodeIdentity.ephemeral("dialer");
        NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
        NodeIdentity malloryId = NodeIdentity.ephemeral("mallory");
        TestRelayClient dialer = authenticated(dialerId);
        TestRelayClient listener = authenticated(listenerId);
        TestRelayClient mallory = authenticated(malloryId);
        dialer.send(new ClientFrame.CircuitRequest(1, listenerId.nodeKey(), "ssh"));
        RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
        // mallory learned the circuit ID somehow and answers as if she were the listener: ignored
        mallory.send(new ClientFrame.CircuitAccept(offer.circuitId()));
        mallory.send(new ClientFrame.CircuitReject(
                offer.circuitId(), dev.burrow.protocol.frame.CircuitRejectReason.NOT_ALLOWED, "x"));
        // and the dialer (who is not the listener) cannot accept its own request either
        dialer.send(new ClientFrame.CircuitAccept(offer.circuitId()));
        mallory.send(new Frame.Ping(new byte[8]));
        mallory.awaitFrame(Frame.Pong.class); // her frames were processed in order before this pong
        dialer.send(new Frame.Ping(new byte[8]));
        dialer.awaitFrame(Frame.Pong.class);
        assertThat(dialer.count(RelayFrame.CircuitAccepted.class) + dialer.count(RelayFrame.CircuitRejected.class))
                .isZero();
        assertThat(relay.pendingCircuits()).isEqualTo(1);
        // mallory attaching with a token of her own making is refused and counted
        double refusedBefore = counter(RelayMetrics.CIRCUIT_EVENTS, "event", "token_refused");
        TestRelayClient forged = connect(Options.circuit(Mode.UPGRADE));
        forged.send(new ClientFrame.CircuitAttach(offer.circuitId(), dev.burrow.protocol.frame.CircuitToken.random()));
        assertThat(forged.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.AUTH_FAILED);
        forged.awaitClosed();
        assertThat(counter(RelayMetrics.CIRCUIT_EVENTS, "event", "token_refused") - refusedBefore)
                .isEqualTo(1);
        // the real listener still completes the circuit
        listener.send(new ClientFrame.CircuitAccept(offer.circuitId()));
        RelayFrame.CircuitAccepted accepted = dialer.awaitFrame(RelayFrame.CircuitAccepted.class);
        assertThat(accepted.circuitId()).isEqualTo(offer.circuitId());
        // the dialer's token is not the listener's: presenting the listener's twice fails the second time
        TestRelayClient l = connect(Options.circuit(Mode.UPGRADE));
        l.send(new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));
        TestRelayClient d = connect(Options.circuit(Mode.UPGRADE));
        d.send(new ClientFrame.CircuitAttach(accepted.circuitId(), accepted.token()));
        l.awaitFrame(RelayFrame.CircuitAttached.class);
        d.awaitFrame(RelayFrame.CircuitAttached.class);
        d.writeRaw(new byte[] {9, 9, 9});
        await().atMost(Duration.ofSeconds(10)).until(() -> l.circuitBytes().length == 3);
    }

    @Test
    void circuitFloodFromOnePeerHitsItsCapAndOthersStillGetCircuits() throws Exception {
        relay = TestRelays.start(Map.of("limits.pending-circuits-per-client", "8"));
        NodeIdentity flooderId = NodeIdentity.ephemeral("flooder");
        NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
        NodeIdentity honestId = NodeIdentity.ephemeral("honest");
        TestRelayClient flooder = authenticated(flooderId);
        TestRelayClient listener = authenticated(listenerId);
        TestRelayClient honest = authenticated(honestId);
        double limitBefore = counter(RelayMetrics.CIRCUIT_EVENTS, "event", "limit_reached");
        int flood = 200;
        int share = 2; // one dialer's share of a listener's 8 pending slots (CircuitSlots.pendingShareOfOneDialer)
        for (int i = 1; i <= flood; i++) {
            flooder.sendNoWait(new ClientFrame.CircuitRequest(i, listenerId.nodeKey(), "ssh"));
        }
        // the refusals are counted; the notices to the flooder share its bounded control queue, so some may be dropped
        await().atMost(Duration.ofSeconds(20))
                .until(() ->
                        counter(RelayMetrics.CIRCUIT_EVENTS, "event", "limit_reached") - limitBefore >= flood - share);
        await().atMost(Duration.ofSeconds(10)).until(() -> flooder.count(RelayFrame.CircuitRejected.class) >= 1);
        assertThat(flooder.frames())
                .filteredOn(f -> f instanceof RelayFrame.CircuitRejected)
                .allSatisfy(f -> assertThat(((RelayFrame.CircuitRejected) f).reason())
                        .isEqualTo(dev.burrow.protocol.frame.CircuitRejectReason.LIMIT_REACHED));
        assertThat(relay.pendingCircuits()).isLessThanOrEqualTo(share);
        // the listener saw at most the flooder's share of its pending slots in offers, and refuses them as
        // an agent does for a peer it does not admit (see docs/security.md)
        await().atMost(Duration.ofSeconds(10)).until(() -> listener.count(RelayFrame.CircuitOffer.class) == share);
        for (int i = 0; i < share; i++) {
            RelayFrame.CircuitOffer o = listener.awaitFrame(RelayFrame.CircuitOffer.class);
            assertThat(o.source()).isEqualTo(flooderId.nodeKey());
            listener.send(new ClientFrame.CircuitReject(
                    o.circuitId(), dev.burrow.protocol.frame.CircuitRejectReason.NOT_ALLOWED, "no"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.pendingCircuits() == 0);
        // an honest dialer still gets through
        honest.send(new ClientFrame.CircuitRequest(1, listenerId.nodeKey(), "web"));
        RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
        assertThat(offer.source()).isEqualTo(honestId.nodeKey());
        listener.send(new ClientFrame.CircuitAccept(offer.circuitId()));
        assertThat(honest.awaitFrame(RelayFrame.CircuitAccepted.class).requestId())
                .isEqualTo(1);
        assertThat(flooder.isOpen()).isTrue(); // refused, not disconnected: it may still do legitimate work
        flooder.close();
        await().atMost(Duration.ofSeconds(15))
                .until(() -> relay.context().registry().size() == 2);
    }

    @Test
    void relayChainingAndLoopsAreRefused() throws Exception {
        relay = TestRelays.start(Map.of());
        Bystanders by = bystanders();
        NodeIdentity selfish = NodeIdentity.ephemeral("selfish");
        TestRelayClient c = authenticated(selfish);
        // a circuit to oneself (a loop through the relay)
        c.send(new ClientFrame.CircuitRequest(1, selfish.nodeKey(), "ssh"));
        assertThat(c.awaitFrame(RelayFrame.CircuitRejected.class).reason())
                .isEqualTo(dev.burrow.protocol.frame.CircuitRejectReason.BAD_REQUEST);
        // a circuit request or a new control handshake inside a circuit connection (chaining a session over a relayed
        // one)
        for (Frame f : List.<Frame>of(
                new ClientFrame.CircuitRequest(2, by.bId().nodeKey(), "ssh"),
                new ClientFrame.SendDatagram(
                        by.bId().nodeKey(), io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {1})))) {
            TestRelayClient circuit = connect(Options.circuit(Mode.UPGRADE));
            circuit.send(f);
            assertClosedWithProtocolError(circuit);
        }
        by.stillForward((byte) 8);
    }

    // ------------------------------------------------------------------ helpers

    private static boolean closedByPeer(Socket s) {
        try {
            s.setSoTimeout(50);
            InputStream in = s.getInputStream();
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (Exception e) {
            return true;
        }
    }

    private static SSLSocket trustingTls(String host, int port) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(
                null,
                new TrustManager[] {
                    new X509TrustManager() {
                        @Override
                        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

                        @Override
                        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

                        @Override
                        public X509Certificate[] getAcceptedIssuers() {
                            return new X509Certificate[0];
                        }
                    }
                },
                new SecureRandom());
        return (SSLSocket) ctx.getSocketFactory().createSocket(host, port);
    }
}
