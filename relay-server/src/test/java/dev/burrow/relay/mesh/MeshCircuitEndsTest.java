package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.EmbeddedRelay;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Both ends of a mesh circuit connection on {@link EmbeddedChannel}s: the listener's relay checks
 * CIRCUIT_BIND (right MAC, wrong key, replayed from another connection, another circuit, a used
 * token) and the dialer's relay reads the answer; plus the pooled idle handler and the plain
 * handshake's purpose rule.
 */
class MeshCircuitEndsTest {
    static final java.time.Duration WAIT = java.time.Duration.ofSeconds(20);
    static final CircuitId C1 = CircuitId.of(filled(16, 1));
    static final CircuitId C2 = CircuitId.of(filled(16, 2));
    static final CircuitId UNKNOWN = CircuitId.of(filled(16, 3));
    static final CircuitToken T1 = CircuitToken.of(filled(32, 0x11));
    static final CircuitToken T2 = CircuitToken.of(filled(32, 0x22));
    private static final SecureRandom RANDOM = new SecureRandom();

    final EmbeddedRelay relay = new EmbeddedRelay();
    final Map<CircuitId, CircuitToken> tokens = new ConcurrentHashMap<>(Map.of(C1, T1, C2, T2));
    final Set<io.netty.channel.Channel> waiting = ConcurrentHashMap.newKeySet();
    final MeshCircuitEnds.BindTokens bindTokens = new MeshCircuitEnds.BindTokens() {
        @Override
        public CircuitToken peek(CircuitId id) {
            return tokens.get(id);
        }

        @Override
        public boolean consume(CircuitId id, CircuitToken token) {
            return tokens.remove(id, token);
        }
    };

    static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) v);
        return b;
    }

    /** The two HELLO payloads of one connection: fresh random bytes stand in for them here. */
    static MeshHandshake.Hellos hellos() {
        byte[] d = new byte[80];
        byte[] a = new byte[80];
        RANDOM.nextBytes(d);
        RANDOM.nextBytes(a);
        return new MeshHandshake.Hellos(d, a);
    }

    static MeshKey key(String hex) throws Exception {
        return MeshKey.parse(hex);
    }

    EmbeddedChannel acceptor(MeshProtocol.Purpose purpose, MeshHandshake.Hellos hellos) throws Exception {
        FakeNode node = new FakeNode(MeshHandshakeTest.id(2), MeshHandshakeTest.KEY);
        return new EmbeddedChannel(new MeshCircuitEnds.Acceptor(relay.rc, node, bindTokens, purpose, hellos, waiting));
    }

    double bindRefused() {
        return relay.counter(RelayMetrics.MESH_EVENTS, "event", "circuit_bind_refused");
    }

    static MeshFrame.CircuitBind bind(MeshKey key, MeshHandshake.Hellos h, CircuitId id, CircuitToken token) {
        return new MeshFrame.CircuitBind(id, MeshAuth.bindMac(key, h.dialer(), h.acceptor(), id, token));
    }

    /** The relay frames the channel wrote, decoded. */
    static List<RelayFrame> written(EmbeddedChannel ch) {
        return EmbeddedRelay.outbound(ch);
    }

    @Test
    void aBindWithTheRightMacBecomesTheAttachAndConsumesTheToken() throws Exception {
        MeshHandshake.Hellos h = hellos();
        EmbeddedChannel ch = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, h);
        assertThat(waiting).containsExactly(ch);

        ch.writeInbound(bind(key(MeshHandshakeTest.KEY), h, C1, T1));

        assertThat(bindRefused()).isZero();
        assertThat(tokens).doesNotContainKey(C1).containsKey(C2); // single use, only this circuit's
        assertThat(waiting).isEmpty();
        // the embedded relay has no such circuit, so its attach handler answers DENY: the bind itself passed
        assertThat(relay.counter(RelayMetrics.MESH_EVENTS, "event", "protocol_error"))
                .isZero();
        ch.finishAndReleaseAll();
    }

    @Test
    void aBindMacMadeWithAnotherKeyIsRefusedAndTheTokenKept() throws Exception {
        MeshHandshake.Hellos h = hellos();
        EmbeddedChannel ch = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, h);

        MeshFrame.CircuitBind forged = bind(key(MeshHandshakeTest.OTHER_KEY), h, C1, T1);
        try (var logs = dev.burrow.identity.testing.LogCapture.start()) {
            ch.writeInbound(forged);
            assertThat(logs.text())
                    .contains("mesh_circuit_bind_refused")
                    .doesNotContainIgnoringCase(java.util.HexFormat.of().formatHex(forged.mac()))
                    .doesNotContainIgnoringCase(java.util.HexFormat.of().formatHex(T1.bytes()))
                    .doesNotContainIgnoringCase(MeshHandshakeTest.KEY)
                    .doesNotContainIgnoringCase(MeshHandshakeTest.OTHER_KEY);
        }

        assertThat(bindRefused()).isEqualTo(1);
        assertThat(tokens).containsEntry(C1, T1);
        List<RelayFrame> out = written(ch);
        assertThat(out)
                .singleElement()
                .isInstanceOfSatisfying(
                        RelayFrame.Deny.class, d -> assertThat(d.reason()).isEqualTo(DenyReason.AUTH_FAILED));
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void aBindCapturedOnAnotherConnectionIsRefusedAndTheRealBindStillWorks() throws Exception {
        MeshHandshake.Hellos captured = hellos();
        MeshFrame.CircuitBind onTheWire = bind(key(MeshHandshakeTest.KEY), captured, C1, T1);

        MeshHandshake.Hellos attackers = hellos(); // the acceptor's fresh nonce differs on every connection
        EmbeddedChannel replay = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, attackers);
        replay.writeInbound(onTheWire);
        assertThat(bindRefused()).isEqualTo(1);
        assertThat(replay.isOpen()).isFalse();
        assertThat(tokens).containsEntry(C1, T1);

        EmbeddedChannel real = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, captured);
        real.writeInbound(onTheWire);
        assertThat(bindRefused()).isEqualTo(1);
        assertThat(tokens).doesNotContainKey(C1);

        // and replayed once more after its use (even with the same HELLOs): the token is gone
        EmbeddedChannel again = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, captured);
        again.writeInbound(onTheWire);
        assertThat(bindRefused()).isEqualTo(2);
        assertThat(again.isOpen()).isFalse();
        real.finishAndReleaseAll();
    }

    @Test
    void aBindForAnotherCircuitOrAnUnknownOneIsRefused() throws Exception {
        MeshKey k = key(MeshHandshakeTest.KEY);
        MeshHandshake.Hellos h = hellos();
        // a MAC for circuit 1 presented as circuit 2
        MeshFrame.CircuitBind forC1 = bind(k, h, C1, T1);
        EmbeddedChannel a = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, h);
        a.writeInbound(new MeshFrame.CircuitBind(C2, forC1.mac()));
        // circuit 2 with circuit 1's token
        EmbeddedChannel b = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, h);
        b.writeInbound(bind(k, h, C2, T1));
        // a circuit this relay never accepted for a sibling
        EmbeddedChannel c = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, h);
        c.writeInbound(bind(k, h, UNKNOWN, T1));

        assertThat(bindRefused()).isEqualTo(3);
        assertThat(tokens).containsEntry(C1, T1).containsEntry(C2, T2);
        assertThat(List.of(a.isOpen(), b.isOpen(), c.isOpen())).containsOnly(false);
    }

    @Test
    void bindMacsDifferingAtTheFirstOrLastByteOrInLengthFailWithoutException() throws Exception {
        MeshKey k = key(MeshHandshakeTest.KEY);
        MeshHandshake.Hellos h = hellos();
        byte[] good = MeshAuth.bindMac(k, h.dialer(), h.acceptor(), C1, T1);
        assertThat(MeshAuth.verifyBind(k, h.dialer(), h.acceptor(), C1, T1, good))
                .isTrue();
        byte[] first = good.clone();
        first[0] ^= 1;
        byte[] last = good.clone();
        last[31] ^= (byte) 0x80;
        for (byte[] wrong : List.of(first, last, Arrays.copyOf(good, 31), Arrays.copyOf(good, 33), new byte[0])) {
            assertThat(MeshAuth.verifyBind(k, h.dialer(), h.acceptor(), C1, T1, wrong))
                    .isFalse();
        }
        // during a rotation either accepted key proves a bind
        MeshKey rotating = MeshKey.parse(MeshHandshakeTest.OTHER_KEY + "\n" + MeshHandshakeTest.KEY);
        assertThat(MeshAuth.verifyBind(rotating, h.dialer(), h.acceptor(), C1, T1, good))
                .isTrue();
        // a handshake MAC over the same bytes is not a bind MAC (another label)
        assertThat(MeshAuth.verifyBind(
                        k,
                        h.dialer(),
                        h.acceptor(),
                        C1,
                        T1,
                        MeshAuth.mac(k, MeshAuth.Role.DIALER, h.dialer(), h.acceptor(), new byte[32])))
                .isFalse();
    }

    @Test
    void theWrongFrameForThePurposeClosesTheConnection() throws Exception {
        MeshHandshake.Hellos h = hellos();
        EmbeddedChannel pooled = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, h);
        pooled.writeInbound(new MeshFrame.CircuitAttach(C1, T1)); // the token in clear: never on a pooled one
        EmbeddedChannel legacy = acceptor(MeshProtocol.Purpose.CIRCUIT, h);
        legacy.writeInbound(bind(key(MeshHandshakeTest.KEY), h, C1, T1));

        assertThat(pooled.isOpen()).isFalse();
        assertThat(legacy.isOpen()).isFalse();
        assertThat(tokens).containsEntry(C1, T1);
        assertThat(relay.counter(RelayMetrics.MESH_EVENTS, "event", "protocol_error"))
                .isEqualTo(2);
    }

    @Test
    void aPooledConnectionWithoutABindIsClosedAfterTheIdleLimitOrWhenTheDialerHangsUp() throws Exception {
        EmbeddedChannel idle = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, hellos());
        idle.advanceTimeBy(MeshCircuitEnds.Acceptor.POOLED_IDLE_LIMIT.toMillis() - 1000, TimeUnit.MILLISECONDS);
        idle.runScheduledPendingTasks();
        assertThat(idle.isOpen()).isTrue();
        idle.advanceTimeBy(2000, TimeUnit.MILLISECONDS);
        idle.runScheduledPendingTasks();
        assertThat(idle.isOpen()).isFalse();

        EmbeddedChannel halfClosed = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, hellos());
        halfClosed.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(halfClosed.isOpen()).isFalse();
        assertThat(waiting).isEmpty();
    }

    @Test
    void idlePooledConnectionsFromAllSiblingsAreBounded() throws Exception {
        List<EmbeddedChannel> held = new ArrayList<>();
        for (int i = 0; i < MeshCircuitEnds.Acceptor.MAX_WAITING; i++) {
            EmbeddedChannel c = new EmbeddedChannel();
            held.add(c);
            waiting.add(c);
        }
        EmbeddedChannel over = acceptor(MeshProtocol.Purpose.POOLED_CIRCUIT, hellos());
        assertThat(over.isOpen()).isFalse();
        assertThat(waiting).hasSize(MeshCircuitEnds.Acceptor.MAX_WAITING).doesNotContain(over);
        assertThat(relay.counter(RelayMetrics.MESH_EVENTS, "event", "pooled_limit"))
                .isEqualTo(1);
        held.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    @Test
    void aPlainConnectionMayOnlyBecomeAPooledCircuit() throws Exception {
        for (MeshProtocol.Purpose purpose : MeshProtocol.Purpose.values()) {
            FakeNode dn = new FakeNode(MeshHandshakeTest.id(1), MeshHandshakeTest.KEY);
            FakeNode an = new FakeNode(MeshHandshakeTest.id(2), MeshHandshakeTest.KEY);
            List<MeshHandshake.Hellos> dialerSaw = new ArrayList<>();
            List<MeshHandshake.Hellos> acceptorSaw = new ArrayList<>();
            EmbeddedChannel d =
                    new EmbeddedChannel(new MeshHandshake(dn, MeshAuth.Role.DIALER, purpose, recorder(dialerSaw)));
            EmbeddedChannel a = new EmbeddedChannel(
                    new MeshHandshake(an, MeshAuth.Role.ACCEPTOR, null, recorder(acceptorSaw), true));
            MeshHandshakeTest.pump(
                    new MeshHandshakeTest.Side(d, new ArrayList<>(), new boolean[1]),
                    new MeshHandshakeTest.Side(a, new ArrayList<>(), new boolean[1]));
            if (purpose == MeshProtocol.Purpose.POOLED_CIRCUIT) {
                assertThat(acceptorSaw).hasSize(1);
                assertThat(dialerSaw).hasSize(1);
                // both sides bind the same transcript: the dialer's HELLO first
                assertThat(dialerSaw.get(0).dialer())
                        .isEqualTo(acceptorSaw.get(0).dialer());
                assertThat(dialerSaw.get(0).acceptor())
                        .isEqualTo(acceptorSaw.get(0).acceptor());
                assertThat(dialerSaw.get(0).dialer())
                        .isNotEqualTo(dialerSaw.get(0).acceptor());
            } else {
                assertThat(acceptorSaw).as(purpose + " without TLS").isEmpty();
                assertThat(a.isOpen()).isFalse();
                assertThat(an.count(RelayMetrics.MeshEvent.PROTOCOL_ERROR)).isEqualTo(1);
            }
            d.finishAndReleaseAll();
            a.finishAndReleaseAll();
        }
    }

    private static MeshHandshake.Done recorder(List<MeshHandshake.Hellos> into) {
        return new MeshHandshake.Done() {
            @Override
            public void authenticated(ChannelHandlerContext ctx, MeshProtocol.Purpose p, MeshFrame.Hello peer) {
                into.add(((MeshHandshake) ctx.handler()).hellos());
            }
        };
    }

    // ---------------------------------------------------------------- the dialer's end

    record Outcome(List<String> events) implements MeshCircuitEnds.Dialer.Outcome {
        @Override
        public void attached(ChannelHandlerContext ctx) {
            events.add("attached");
        }

        @Override
        public void failed(boolean refused) {
            events.add(refused ? "refused" : "died");
        }
    }

    @Test
    void theDialerEndTellsAnAnswerFromADeadConnection() {
        // CIRCUIT_ATTACHED, with the first circuit bytes right behind it
        Outcome ok = new Outcome(new ArrayList<>());
        MeshCircuitEnds.Dialer okEnd = new MeshCircuitEnds.Dialer(ok, WAIT);
        EmbeddedChannel attached = new EmbeddedChannel(okEnd);
        attached.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x39, 0, 0, 0, 0, 'h', 'i'}));
        assertThat(ok.events()).containsExactly("attached");
        ByteBuf early = okEnd.takeEarlyBytes();
        assertThat(early.toString(java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("hi");
        early.release();
        attached.advanceTimeBy(WAIT.toMillis() * 2, TimeUnit.MILLISECONDS);
        attached.runScheduledPendingTasks();
        assertThat(attached.isOpen()).as("no answer deadline once attached").isTrue();
        attached.finishAndReleaseAll();

        // DENY: refused, final
        Outcome denied = new Outcome(new ArrayList<>());
        EmbeddedChannel deny = new EmbeddedChannel(new MeshCircuitEnds.Dialer(denied, WAIT));
        ByteBuf d = EmbeddedRelay.encode(new RelayFrame.Deny(DenyReason.AUTH_FAILED, "circuit bind refused"));
        deny.writeInbound(d);
        assertThat(denied.events()).containsExactly("refused");
        assertThat(deny.isOpen()).isFalse();

        // closed or half-closed before an answer: the connection died (a pooled one is replaced once)
        Outcome closed = new Outcome(new ArrayList<>());
        EmbeddedChannel close = new EmbeddedChannel(new MeshCircuitEnds.Dialer(closed, WAIT));
        close.close();
        Outcome half = new Outcome(new ArrayList<>());
        EmbeddedChannel halfClosed = new EmbeddedChannel(new MeshCircuitEnds.Dialer(half, WAIT));
        halfClosed.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        Outcome silent = new Outcome(new ArrayList<>());
        EmbeddedChannel quiet = new EmbeddedChannel(new MeshCircuitEnds.Dialer(silent, WAIT));
        quiet.advanceTimeBy(WAIT.toMillis() + 1, TimeUnit.MILLISECONDS);
        quiet.runScheduledPendingTasks();
        assertThat(List.of(closed.events(), half.events())).containsOnly(List.of("died"));
        // no answer within the wait (the listener's relay dropped the circuit, or a silently dead
        // connection): final, since the bind may have consumed the token
        assertThat(silent.events()).containsExactly("refused");
        assertThat(List.of(halfClosed.isOpen(), quiet.isOpen())).containsOnly(false);
    }

    @Test
    void anIdlePooledConnectionClosesOnAnyByteOrHalfClose() {
        EmbeddedChannel talks = new EmbeddedChannel(new MeshCircuitPool.Idle());
        ByteBuf junk = Unpooled.wrappedBuffer(new byte[] {1, 2, 3});
        talks.writeInbound(junk);
        assertThat(talks.isOpen()).isFalse();
        assertThat(junk.refCnt()).isZero();

        EmbeddedChannel half = new EmbeddedChannel(new MeshCircuitPool.Idle());
        half.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(half.isOpen()).isFalse();
    }
}
