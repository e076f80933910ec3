package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.FrameType;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.relay.server.auth.Admissions;
import dev.burrow.relay.server.auth.ClientAdmission;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.EmbeddedRelay;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The handshake and the control handler on {@link EmbeddedChannel}s: oversized frame lengths, datagram size bounds, unknown frames and ping floods, auth replay, chosen challenges, bad keys and the CA part of auth on every configuration path. */
class ControlHandshakeHandlerTest {
    private final EmbeddedRelay relay = new EmbeddedRelay();
    private final NodeIdentity alice = NodeIdentity.ephemeral("alice");

    private static byte[] challenge(EmbeddedChannel ch) {
        List<RelayFrame> out = EmbeddedRelay.outbound(ch);
        assertThat(out).hasSize(1).first().isInstanceOf(RelayFrame.ServerHello.class);
        RelayFrame.ServerHello hello = (RelayFrame.ServerHello) out.get(0);
        assertThat(hello.challenge()).hasSize(RelayProtocol.CHALLENGE_LENGTH);
        assertThat(hello.relayId()).isEqualTo("test-relay");
        return hello.challenge();
    }

    private static ClientFrame.ClientAuth auth(NodeIdentity id, byte[] challenge, List<byte[]> chain) {
        return new ClientFrame.ClientAuth(
                RelayProtocol.VERSION, 0, id.nodeKey(), RelayAuthProof.sign(id, challenge), chain, "t");
    }

    private static RelayFrame single(EmbeddedChannel ch) {
        List<RelayFrame> out = EmbeddedRelay.outbound(ch);
        assertThat(out).hasSize(1);
        return out.get(0);
    }

    private EmbeddedChannel authenticated(NodeIdentity id) {
        EmbeddedChannel ch = relay.control();
        ch.writeInbound(EmbeddedRelay.encode(auth(id, challenge(ch), List.of())));
        assertThat(single(ch)).isInstanceOf(RelayFrame.ServerAccept.class);
        return ch;
    }

    private static void assertDenied(EmbeddedChannel ch, DenyReason reason) {
        RelayFrame f = single(ch);
        assertThat(f).isInstanceOf(RelayFrame.Deny.class);
        assertThat(((RelayFrame.Deny) f).reason()).isEqualTo(reason);
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void validProofIsAcceptedRegisteredAndSwitchesThePolicy() {
        EmbeddedChannel ch = authenticated(alice);
        assertThat(ch.pipeline().get(RelayFrameDecoder.class).policy()).isSameAs(FramePolicy.RELAY_CONTROL);
        assertThat(relay.rc.registry().lookup(alice.nodeKey())).isNotNull();
        assertThat(ch.pipeline().get(ControlConnectionHandler.class)).isNotNull();
        assertThat(relay.counter(RelayMetrics.HANDSHAKES, "outcome", "ok")).isEqualTo(1);
        ch.finishAndReleaseAll();
        assertThat(relay.rc.registry().lookup(alice.nodeKey())).isNull();
    }

    @Test
    void clientCapDeniesWithServerFull() {
        EmbeddedRelay one = new EmbeddedRelay(
                Admissions.open(),
                NodeVerifier.builder().acceptAnySelfSigned(true).build(),
                Map.of("limits.max-clients", "1"));
        EmbeddedChannel first = one.control();
        first.writeInbound(EmbeddedRelay.encode(auth(alice, challenge(first), List.of())));
        assertThat(single(first)).isInstanceOf(RelayFrame.ServerAccept.class);
        NodeIdentity bob = NodeIdentity.ephemeral("bob");
        EmbeddedChannel second = one.control();
        second.writeInbound(EmbeddedRelay.encode(auth(bob, challenge(second), List.of())));
        assertDenied(second, DenyReason.SERVER_FULL);
        first.finishAndReleaseAll();
    }

    @Test
    void wrongKeySignatureIsDenied() {
        NodeIdentity mallory = NodeIdentity.ephemeral("mallory");
        EmbeddedChannel ch = relay.control();
        byte[] c = challenge(ch);
        // claims alice's key, signs with mallory's
        ch.writeInbound(EmbeddedRelay.encode(new ClientFrame.ClientAuth(
                RelayProtocol.VERSION, 0, alice.nodeKey(), RelayAuthProof.sign(mallory, c), List.of(), "t")));
        assertDenied(ch, DenyReason.AUTH_FAILED);
        assertThat(relay.rc.registry().size()).isZero();
    }

    @Test
    void allZeroAndSmallOrderKeysAreDeniedWithoutRegistering() {
        byte[] smallOrder = new byte[32];
        smallOrder[0] = 1; // the identity point
        for (byte[] raw : List.of(new byte[32], smallOrder)) {
            EmbeddedChannel ch = relay.control();
            byte[] c = challenge(ch);
            ch.writeInbound(EmbeddedRelay.encode(new ClientFrame.ClientAuth(
                    RelayProtocol.VERSION, 0, NodeKey.of(raw), RelayAuthProof.sign(alice, c), List.of(), "t")));
            assertDenied(ch, DenyReason.AUTH_FAILED);
        }
        assertThat(relay.rc.registry().size()).isZero();
    }

    @Test
    void replayedAuthFromAnotherConnectionIsDenied() {
        EmbeddedChannel first = relay.control();
        ClientFrame.ClientAuth captured = auth(alice, challenge(first), List.of());
        first.finishAndReleaseAll();
        EmbeddedChannel second = relay.control();
        challenge(second);
        second.writeInbound(EmbeddedRelay.encode(captured));
        assertDenied(second, DenyReason.AUTH_FAILED);
    }

    @Test
    void unsupportedVersionIsDenied() {
        EmbeddedChannel ch = relay.control();
        byte[] c = challenge(ch);
        ch.writeInbound(EmbeddedRelay.encode(
                new ClientFrame.ClientAuth(99, 0, alice.nodeKey(), RelayAuthProof.sign(alice, c), List.of(), "t")));
        assertDenied(ch, DenyReason.UNSUPPORTED_VERSION);
    }

    @Test
    void anyFrameBeforeAuthIsAProtocolError() {
        EmbeddedChannel ch = relay.control();
        challenge(ch);
        ch.writeInbound(EmbeddedRelay.encode(new Frame.Ping(new byte[8])));
        assertDenied(ch, DenyReason.PROTOCOL_ERROR);
        assertThat(relay.counter(RelayMetrics.PROTOCOL_VIOLATIONS, "kind", "UNEXPECTED_FRAME"))
                .isEqualTo(1);
    }

    @Test
    void oversizedAuthIsRefusedAfterTheHeader() {
        EmbeddedChannel ch = relay.control();
        challenge(ch);
        ch.writeInbound(EmbeddedRelay.header(FrameType.CLIENT_AUTH.code(), 256 * 1024 + 1));
        assertDenied(ch, DenyReason.PROTOCOL_ERROR);
    }

    @Test
    void hugeLengthsCloseRightAfterTheHeader() {
        for (long len : new long[] {0xFFFF_FFFFL, 0x8000_0000L, 32 + 65_537}) {
            EmbeddedChannel ch = authenticated(alice);
            ch.writeInbound(EmbeddedRelay.header(FrameType.SEND_DATAGRAM.code(), len)); // no payload follows
            assertDenied(ch, DenyReason.PROTOCOL_ERROR);
        }
    }

    @Test
    void datagramOf64KiBIsAcceptedAndShortOneCloses() {
        NodeIdentity bob = NodeIdentity.ephemeral("bob");
        EmbeddedChannel a = authenticated(alice);
        EmbeddedChannel b = authenticated(bob);
        a.writeInbound(EmbeddedRelay.encode(
                new ClientFrame.SendDatagram(bob.nodeKey(), Unpooled.wrappedBuffer(new byte[65_536]))));
        a.runPendingTasks();
        List<RelayFrame> got = EmbeddedRelay.outbound(b);
        assertThat(got).hasSize(1).first().isInstanceOf(RelayFrame.RecvDatagram.class);
        RelayFrame.RecvDatagram d = (RelayFrame.RecvDatagram) got.get(0);
        assertThat(d.source()).isEqualTo(alice.nodeKey());
        assertThat(d.payload().readableBytes()).isEqualTo(65_536);
        d.release();

        ByteBuf shortFrame = EmbeddedRelay.header(FrameType.SEND_DATAGRAM.code(), 10);
        shortFrame.writeBytes(new byte[10]);
        a.writeInbound(shortFrame);
        assertDenied(a, DenyReason.PROTOCOL_ERROR);
        b.finishAndReleaseAll();
    }

    @Test
    void unknownFrameTypesAreSkippedAndTheConnectionContinues() {
        EmbeddedChannel ch = authenticated(alice);
        ByteBuf unknown = EmbeddedRelay.header(0x7E, 3000);
        unknown.writeBytes(new byte[3000]);
        ch.writeInbound(unknown);
        ch.writeInbound(EmbeddedRelay.encode(new Frame.Ping(new byte[] {1, 2, 3, 4, 5, 6, 7, 8})));
        List<RelayFrame> out = EmbeddedRelay.outbound(ch);
        assertThat(out).containsExactly(new Frame.Pong(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
        assertThat(ch.isOpen()).isTrue();
        assertThat(relay.counter(RelayMetrics.UNKNOWN_FRAMES, "x", "x")
                        + relay.meters
                                .get(RelayMetrics.UNKNOWN_FRAMES)
                                .counter()
                                .count())
                .isEqualTo(1);
        ch.finishAndReleaseAll();
    }

    @Test
    void badPingSizesClose() {
        for (int size : new int[] {7, 1001}) {
            EmbeddedChannel ch = authenticated(alice);
            ByteBuf ping = EmbeddedRelay.header(FrameType.PING.code(), size);
            ping.writeBytes(new byte[size]);
            ch.writeInbound(ping);
            assertDenied(ch, DenyReason.PROTOCOL_ERROR);
        }
    }

    @Test
    void pongBacklogIsBoundedToOne() {
        EmbeddedChannel ch = authenticated(alice);
        ByteBuf many = Unpooled.buffer();
        for (int i = 0; i < 1000; i++) {
            many.writeBytes(EmbeddedRelay.encode(new Frame.Ping(new byte[8])));
        }
        ch.writeInbound(many); // one read, no event-loop turn in between
        List<RelayFrame> out = EmbeddedRelay.outbound(ch);
        assertThat(out).hasSize(1).first().isInstanceOf(Frame.Pong.class);
        assertThat(relay.counter(RelayMetrics.RATE_LIMIT_EVENTS, "kind", "ping"))
                .isEqualTo(999);
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void caModeAcceptsFleetCertificatesAndRefusesExpiredForeignOrMissingOnes(@TempDir Path dir) throws Exception {
        Clock now = Clock.systemUTC();
        FleetCa fleet = FleetCa.init(dir.resolve("fleet"), "fleet", now);
        FleetCa foreign = FleetCa.init(dir.resolve("foreign"), "foreign", now);
        FleetCa pastFleet = FleetCa.load(
                dir.resolve("fleet"), Clock.fixed(Instant.now().minus(Duration.ofDays(30)), ZoneOffset.UTC));
        NodeVerifier verifier =
                NodeVerifier.builder().trustCa(fleet.certificate()).build();
        EmbeddedRelay ca = new EmbeddedRelay(Admissions.caIssued(Set.of("prod")), verifier, Map.of());

        KeyPair kp = Ed25519Keys.generate();
        NodeKey key = Ed25519Keys.fromPublicKey(kp.getPublic());
        record Case(X509Certificate cert, DenyReason expected) {}
        List<Case> cases = new ArrayList<>();
        cases.add(new Case(fleet.issue(key, "n1", Set.of("prod"), Duration.ofDays(1)), null));
        cases.add(new Case(fleet.issue(key, "n1", Set.of("dev"), Duration.ofDays(1)), DenyReason.NOT_ALLOWED));
        cases.add(new Case(foreign.issue(key, "n1", Set.of("prod"), Duration.ofDays(1)), DenyReason.AUTH_FAILED));
        cases.add(new Case(pastFleet.issue(key, "n1", Set.of("prod"), Duration.ofDays(1)), DenyReason.AUTH_FAILED));
        for (Case c : cases) {
            NodeIdentity id = NodeIdentity.inMemory(kp, List.of(c.cert()));
            EmbeddedChannel ch = ca.control();
            ch.writeInbound(EmbeddedRelay.encode(
                    auth(id, challenge(ch), List.of(c.cert().getEncoded()))));
            if (c.expected() == null) {
                assertThat(single(ch)).isInstanceOf(RelayFrame.ServerAccept.class);
                ch.finishAndReleaseAll();
            } else {
                assertDenied(ch, c.expected());
            }
        }
        // no certificate at all
        EmbeddedChannel ch = ca.control();
        ch.writeInbound(EmbeddedRelay.encode(auth(alice, challenge(ch), List.of())));
        assertDenied(ch, DenyReason.NOT_ALLOWED);
    }

    @Test
    void asynchronousAdmissionDenialDenies() {
        CompletableFuture<ClientAdmission.Decision> pending = new CompletableFuture<>();
        ClientAdmission slow = new ClientAdmission() {
            @Override
            public java.util.concurrent.CompletionStage<Decision> admit(
                    NodeKey key, dev.burrow.identity.VerifiedPeer p) {
                return pending;
            }

            @Override
            public String describe() {
                return "test";
            }
        };
        EmbeddedRelay r = new EmbeddedRelay(
                slow, NodeVerifier.builder().acceptAnySelfSigned(true).build(), Map.of());
        EmbeddedChannel ch = r.control();
        ch.writeInbound(EmbeddedRelay.encode(auth(alice, challenge(ch), List.of())));
        assertThat(EmbeddedRelay.outbound(ch)).isEmpty();
        pending.complete(ClientAdmission.Decision.deny("no"));
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            ch.runPendingTasks();
            return !ch.isOpen() || !EmbeddedRelay.outbound(ch).isEmpty();
        });
        ch.finishAndReleaseAll();
        assertThat(r.rc.registry().size()).isZero();
        assertThat(r.counter(RelayMetrics.HANDSHAKES, "outcome", "not_allowed")).isEqualTo(1);
    }

    static void release(List<?> frames) {
        frames.forEach(ReferenceCountUtil::release);
    }
}
