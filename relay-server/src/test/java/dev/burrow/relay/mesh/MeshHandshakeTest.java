package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HELLO/AUTH exchange between two embedded channels (frames passed by hand, no bytes). */
class MeshHandshakeTest {
    static final String KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    static final String OTHER_KEY = "ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    static byte[] id(int v) {
        byte[] b = new byte[16];
        Arrays.fill(b, (byte) v);
        return b;
    }

    record Side(EmbeddedChannel ch, List<MeshProtocol.Purpose> done, boolean[] self) {}

    static Side side(FakeNode node, MeshAuth.Role role, MeshProtocol.Purpose purpose) {
        List<MeshProtocol.Purpose> done = new ArrayList<>();
        boolean[] self = new boolean[1];
        EmbeddedChannel ch = new EmbeddedChannel(new MeshHandshake(node, role, purpose, new MeshHandshake.Done() {
            @Override
            public void authenticated(ChannelHandlerContext ctx, MeshProtocol.Purpose p, MeshFrame.Hello peer) {
                done.add(p);
            }

            @Override
            public void failed(boolean s) {
                self[0] = s;
            }
        }));
        return new Side(ch, done, self);
    }

    /** Moves frames between the two sides until neither writes any more. */
    static void pump(Side a, Side b) {
        for (int i = 0; i < 10; i++) {
            boolean moved = false;
            Object o;
            while ((o = a.ch().readOutbound()) != null) {
                moved = true;
                if (b.ch().isActive()) {
                    b.ch().writeInbound(o);
                }
            }
            while ((o = b.ch().readOutbound()) != null) {
                moved = true;
                if (a.ch().isActive()) {
                    a.ch().writeInbound(o);
                }
            }
            if (!moved) {
                return;
            }
        }
    }

    @Test
    void sameKeyAuthenticatesBothSides() throws Exception {
        FakeNode dn = new FakeNode(id(1), KEY);
        FakeNode an = new FakeNode(id(2), KEY);
        Side dialer = side(dn, MeshAuth.Role.DIALER, MeshProtocol.Purpose.CIRCUIT);
        Side acceptor = side(an, MeshAuth.Role.ACCEPTOR, null);
        pump(dialer, acceptor);
        assertThat(dialer.done()).containsExactly(MeshProtocol.Purpose.CIRCUIT);
        assertThat(acceptor.done()).containsExactly(MeshProtocol.Purpose.CIRCUIT);
        assertThat(dn.count(MeshEvent.AUTH_OK)).isEqualTo(1);
        assertThat(an.count(MeshEvent.AUTH_OK)).isEqualTo(1);
    }

    @Test
    void aWrongKeyFailsOnBothSidesAndCloses() throws Exception {
        FakeNode dn = new FakeNode(id(1), KEY);
        FakeNode an = new FakeNode(id(2), OTHER_KEY);
        Side dialer = side(dn, MeshAuth.Role.DIALER, MeshProtocol.Purpose.LINK);
        Side acceptor = side(an, MeshAuth.Role.ACCEPTOR, null);
        pump(dialer, acceptor);
        assertThat(dialer.done()).isEmpty();
        assertThat(acceptor.done()).isEmpty();
        assertThat(an.count(MeshEvent.AUTH_FAILED) + dn.count(MeshEvent.AUTH_FAILED))
                .isGreaterThanOrEqualTo(1);
        assertThat(acceptor.ch().isActive() && dialer.ch().isActive()).isFalse();
    }

    @Test
    void duringARotationEitherKeyIsAcceptedAndTheFirstIsProved() throws Exception {
        String oldAndNew = KEY + "\n" + OTHER_KEY;
        String newAndOld = OTHER_KEY + "\n" + KEY;
        String[][] meshing = {{KEY, oldAndNew}, {oldAndNew, newAndOld}, {newAndOld, OTHER_KEY}, {oldAndNew, oldAndNew}};
        for (String[] pair : meshing) {
            Side dialer = side(new FakeNode(id(1), pair[0]), MeshAuth.Role.DIALER, MeshProtocol.Purpose.LINK);
            Side acceptor = side(new FakeNode(id(2), pair[1]), MeshAuth.Role.ACCEPTOR, null);
            pump(dialer, acceptor);
            assertThat(dialer.done()).as("dialer %s", (Object) pair).hasSize(1);
            assertThat(acceptor.done()).hasSize(1);
        }
        // a relay still on the old key alone and one already on the new key alone do not mesh
        Side dialer = side(new FakeNode(id(1), KEY), MeshAuth.Role.DIALER, MeshProtocol.Purpose.LINK);
        Side acceptor = side(new FakeNode(id(2), newAndOld.substring(0, 64)), MeshAuth.Role.ACCEPTOR, null);
        pump(dialer, acceptor);
        assertThat(dialer.done()).isEmpty();
        assertThatThrownBy(() -> MeshKey.parse(KEY + "\n" + KEY + "\n" + KEY)).hasMessageContaining("at most 2");
    }

    @Test
    void eachSideRecordsWhichKeyThePeerProved() throws Exception {
        String oldAndNew = KEY + "\n" + OTHER_KEY;
        String newAndOld = OTHER_KEY + "\n" + KEY;
        FakeNode dn = new FakeNode(id(1), oldAndNew); // proves KEY
        FakeNode an = new FakeNode(id(2), newAndOld); // proves OTHER_KEY
        byte[][] proven = new byte[2][];
        EmbeddedChannel d = new EmbeddedChannel(new MeshHandshake(
                dn,
                MeshAuth.Role.DIALER,
                MeshProtocol.Purpose.LINK,
                (ctx, p, peer) -> proven[0] = ((MeshHandshake) ctx.handler()).provenKey()));
        EmbeddedChannel a = new EmbeddedChannel(new MeshHandshake(
                an,
                MeshAuth.Role.ACCEPTOR,
                null,
                (ctx, p, peer) -> proven[1] = ((MeshHandshake) ctx.handler()).provenKey()));
        pump(new Side(d, new ArrayList<>(), new boolean[1]), new Side(a, new ArrayList<>(), new boolean[1]));
        byte[] keyId = MeshKey.fingerprint(java.util.HexFormat.of().parseHex(KEY));
        byte[] otherId = MeshKey.fingerprint(java.util.HexFormat.of().parseHex(OTHER_KEY));
        assertThat(proven[0]).isEqualTo(otherId); // the dialer saw the acceptor prove OTHER_KEY
        assertThat(proven[1]).isEqualTo(keyId);
        // after the rotation's last step only OTHER_KEY is accepted: the acceptor's link (peer proved KEY) must go
        MeshKey after = MeshKey.parse(OTHER_KEY);
        assertThat(after.stillAccepts(proven[1])).isFalse();
        assertThat(after.stillAccepts(proven[0])).isTrue();
        assertThat(MeshKey.parse(oldAndNew).stillAccepts(proven[1])).isTrue();
        // the fingerprint is not the key
        assertThat(java.util.HexFormat.of().formatHex(keyId)).doesNotContain(KEY.substring(0, 16));
    }

    @Test
    void aKeyDifferingOnlyInTheLastByteFails() throws Exception {
        String lastByte = KEY.substring(0, 62) + "00";
        FakeNode dn = new FakeNode(id(1), KEY);
        FakeNode an = new FakeNode(id(2), lastByte);
        Side dialer = side(dn, MeshAuth.Role.DIALER, MeshProtocol.Purpose.LINK);
        Side acceptor = side(an, MeshAuth.Role.ACCEPTOR, null);
        pump(dialer, acceptor);
        assertThat(dialer.done()).isEmpty();
        assertThat(acceptor.done()).isEmpty();
        assertThat(dn.count(MeshEvent.AUTH_FAILED) + an.count(MeshEvent.AUTH_FAILED))
                .isGreaterThanOrEqualTo(1);
    }

    @Test
    void aReplayedOrForgedMacFails() throws Exception {
        FakeNode an = new FakeNode(id(2), KEY);
        Side acceptor = side(an, MeshAuth.Role.ACCEPTOR, null);
        acceptor.ch()
                .writeInbound(new MeshFrame.Hello(
                        MeshProtocol.VERSION, MeshProtocol.Purpose.LINK, id(1), new byte[32], "evil"));
        acceptor.ch().writeInbound(new MeshFrame.Auth(new byte[32]));
        assertThat(acceptor.done()).isEmpty();
        assertThat(an.count(MeshEvent.AUTH_FAILED)).isEqualTo(1);
        assertThat(acceptor.ch().isActive()).isFalse();
        acceptor.ch().finishAndReleaseAll();
    }

    @Test
    void aRelayThatReachesItselfHangsUp() throws Exception {
        FakeNode node = new FakeNode(id(7), KEY);
        Side dialer = side(node, MeshAuth.Role.DIALER, MeshProtocol.Purpose.LINK);
        Side acceptor = side(node, MeshAuth.Role.ACCEPTOR, null);
        pump(dialer, acceptor);
        assertThat(acceptor.done()).isEmpty();
        assertThat(acceptor.self()[0]).isTrue();
        assertThat(node.count(MeshEvent.SELF_MESH)).isGreaterThanOrEqualTo(1);
        assertThat(acceptor.ch().isActive()).isFalse();
    }

    @Test
    void anotherVersionOrAFrameBeforeHelloIsAProtocolError() throws Exception {
        FakeNode an = new FakeNode(id(2), KEY);
        Side a = side(an, MeshAuth.Role.ACCEPTOR, null);
        a.ch().writeInbound(new MeshFrame.Hello(9, MeshProtocol.Purpose.LINK, id(1), new byte[32], "future"));
        assertThat(a.ch().isActive()).isFalse();
        Side b = side(an, MeshAuth.Role.ACCEPTOR, null);
        b.ch().writeInbound(new MeshFrame.Auth(new byte[32]));
        assertThat(b.ch().isActive()).isFalse();
        assertThat(an.count(MeshEvent.PROTOCOL_ERROR)).isEqualTo(2);
    }

    @Test
    void keysAreParsedStrictlyAndNeverQuoted(@TempDir Path tmp) throws Exception {
        assertThatThrownBy(() -> MeshKey.parse(KEY.substring(2)))
                .isInstanceOf(MeshKey.MeshKeyException.class)
                .hasMessageNotContaining(KEY.substring(2, 20));
        assertThatThrownBy(() -> MeshKey.parse("zz" + KEY.substring(2))).hasMessageNotContaining(KEY.substring(2, 20));
        assertThatThrownBy(() -> MeshKey.parse("  ")).hasMessageContaining("empty");
        Path f = tmp.resolve("k");
        Files.writeString(f, KEY.substring(1), StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> MeshKey.read(f))
                .hasMessageContaining(f.toString())
                .hasMessageNotContaining(KEY.substring(1, 20));
        assertThatThrownBy(() -> MeshKey.read(tmp.resolve("missing"))).hasMessageContaining("does not exist");
        Files.writeString(f, "  " + KEY + "\n");
        assertThat(MeshKey.read(f).toString()).doesNotContain(KEY.substring(0, 8));
    }
}
