package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class MeshCodecTest {
    static final NodeKey A = NodeKey.of(filled(32, 0xAA));
    static final NodeKey B = NodeKey.of(filled(32, 0xBB));

    static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) v);
        return b;
    }

    static String hex(MeshFrame f) {
        ByteBuf b = Unpooled.buffer();
        try {
            MeshCodec.encode(f, b);
            return ByteBufUtil.hexDump(b);
        } finally {
            b.release();
        }
    }

    /** Every frame type once (the fuzz test's seeds are these encodings). */
    static List<MeshFrame> samples() {
        return List.of(
                new MeshFrame.Hello(1, MeshProtocol.Purpose.LINK, filled(16, 1), filled(32, 2), "relay-0"),
                new MeshFrame.Auth(filled(32, 3)),
                new MeshFrame.Keepalive(),
                new MeshFrame.Present(List.of(A, B)),
                new MeshFrame.Gone(List.of(B)),
                new MeshFrame.Names(List.of(new MeshFrame.Named(A, "alice"), new MeshFrame.Named(B, ""))),
                new MeshFrame.CircuitRequest(7, A, B, "ssh"),
                new MeshFrame.CircuitAccepted(7, CircuitId.of(filled(16, 4)), CircuitToken.of(filled(32, 5))),
                new MeshFrame.CircuitRejected(7, CircuitRejectReason.PEER_NOT_FOUND, "gone"),
                new MeshFrame.CircuitAttach(CircuitId.of(filled(16, 4)), CircuitToken.of(filled(32, 5))),
                new MeshFrame.Hello(1, MeshProtocol.Purpose.POOLED_CIRCUIT, filled(16, 1), filled(32, 2), "relay-0"),
                new MeshFrame.CircuitBind(CircuitId.of(filled(16, 4)), filled(32, 6)));
    }

    @Test
    void circuitBindGoldenBytesRoundTripAndLimits() {
        MeshFrame.CircuitBind bind = new MeshFrame.CircuitBind(CircuitId.of(filled(16, 1)), filled(32, 0xAB));
        assertThat(hex(bind)).isEqualTo("34" + "00000030" + "01".repeat(16) + "ab".repeat(32));
        assertThat(bind.toString()).doesNotContain("ab".repeat(4)).contains("redacted");
        ByteBuf b = Unpooled.buffer();
        MeshCodec.encode(bind, b);
        b.skipBytes(5);
        assertThat(MeshCodec.decode(MeshFrameType.CIRCUIT_BIND, b)).isEqualTo(bind);
        b.release();
        ByteBuf shortMac = Unpooled.wrappedBuffer(filled(16 + 31, 1));
        assertThatThrownBy(() -> MeshCodec.decode(MeshFrameType.CIRCUIT_BIND, shortMac))
                .isInstanceOf(ProtocolViolation.class);
        shortMac.release();
        assertThat(MeshFrameType.CIRCUIT_BIND.maxPayload()).isEqualTo(48);
        assertThat(hex(new MeshFrame.Hello(1, MeshProtocol.Purpose.POOLED_CIRCUIT, filled(16, 1), filled(32, 2), "r1")))
                .startsWith("01" + "00000036" + "0001" + "03");
    }

    @Test
    void goldenBytes() {
        assertThat(hex(new MeshFrame.Hello(1, MeshProtocol.Purpose.CIRCUIT, filled(16, 1), filled(32, 2), "r1")))
                .isEqualTo("01" + "00000036" + "0001" + "02" + "01".repeat(16) + "02".repeat(32) + "02" + "7231");
        assertThat(hex(new MeshFrame.Auth(filled(32, 3)))).isEqualTo("02" + "00000020" + "03".repeat(32));
        assertThat(hex(new MeshFrame.Keepalive())).isEqualTo("0300000000");
        assertThat(hex(new MeshFrame.Present(List.of(A, B))))
                .isEqualTo("10" + "00000042" + "0002" + "aa".repeat(32) + "bb".repeat(32));
        assertThat(hex(new MeshFrame.Gone(List.of()))).isEqualTo("11" + "00000002" + "0000");
        assertThat(hex(new MeshFrame.Names(List.of(new MeshFrame.Named(A, "alice"), new MeshFrame.Named(B, "")))))
                .isEqualTo("12" + "00000049" + "0002" + "aa".repeat(32) + "05" + "616c696365" + "bb".repeat(32) + "00");
        ByteBuf payload = Unpooled.wrappedBuffer(new byte[] {9, 8});
        assertThat(hex(new MeshFrame.Datagram(A, B, payload)))
                .isEqualTo("20" + "00000042" + "aa".repeat(32) + "bb".repeat(32) + "0908");
        payload.release();
        assertThat(hex(new MeshFrame.CircuitRequest(7, A, B, "ssh")))
                .isEqualTo(
                        "30" + "0000004c" + "0000000000000007" + "aa".repeat(32) + "bb".repeat(32) + "03" + "737368");
        assertThat(hex(new MeshFrame.CircuitAccepted(1, CircuitId.of(filled(16, 4)), CircuitToken.of(filled(32, 5)))))
                .isEqualTo("31" + "00000038" + "0000000000000001" + "04".repeat(16) + "05".repeat(32));
        assertThat(hex(new MeshFrame.CircuitRejected(1, CircuitRejectReason.TIMEOUT, "")))
                .isEqualTo("32" + "0000000a" + "0000000000000001"
                        + String.format("%02x", CircuitRejectReason.TIMEOUT.code()) + "00");
        assertThat(hex(new MeshFrame.CircuitAttach(CircuitId.of(filled(16, 4)), CircuitToken.of(filled(32, 5)))))
                .isEqualTo("33" + "00000030" + "04".repeat(16) + "05".repeat(32));
    }

    @Test
    void everyFrameRoundTrips() {
        for (MeshFrame f : samples()) {
            ByteBuf b = Unpooled.buffer();
            MeshCodec.encode(f, b);
            assertThat(b.readableBytes()).isEqualTo(MeshCodec.encodedLength(f));
            MeshFrameType type = MeshFrameType.of(b.readUnsignedByte());
            long len = b.readUnsignedInt();
            assertThat(len).isEqualTo(b.readableBytes());
            assertThat(MeshCodec.decode(type, b)).isEqualTo(f);
            b.release();
        }
        ByteBuf payload = Unpooled.wrappedBuffer(new byte[] {1, 2, 3});
        ByteBuf b = Unpooled.buffer();
        MeshCodec.encode(new MeshFrame.Datagram(A, B, payload), b);
        b.skipBytes(5);
        MeshFrame.Datagram d = (MeshFrame.Datagram) MeshCodec.decode(MeshFrameType.DATAGRAM, b);
        assertThat(d.source()).isEqualTo(A);
        assertThat(d.destination()).isEqualTo(B);
        assertThat(ByteBufUtil.getBytes(d.payload())).containsExactly(1, 2, 3);
        d.release();
        b.release();
        payload.release();
    }

    @Test
    void secretsAreNotPrinted() {
        assertThat(new MeshFrame.Auth(filled(32, 0x5A)).toString())
                .doesNotContain("5a")
                .doesNotContain("90");
        assertThat(new MeshFrame.CircuitAttach(CircuitId.of(filled(16, 4)), CircuitToken.of(filled(32, 0x5A)))
                        .toString())
                .doesNotContain("5a5a");
    }

    @Test
    void truncatedAndInvalidPayloadsAreViolations() {
        assertThatThrownBy(() -> MeshCodec.decode(MeshFrameType.AUTH, Unpooled.wrappedBuffer(new byte[31])))
                .isInstanceOf(ProtocolViolation.class);
        assertThatThrownBy(() -> MeshCodec.decode(
                        MeshFrameType.PRESENT,
                        Unpooled.wrappedBuffer(HexFormat.of().parseHex("0002" + "aa".repeat(32)))))
                .isInstanceOf(ProtocolViolation.class);
        byte[] badPurpose = HexFormat.of().parseHex("0001" + "07" + "01".repeat(16) + "02".repeat(32) + "00");
        assertThatThrownBy(() -> MeshCodec.decode(MeshFrameType.HELLO, Unpooled.wrappedBuffer(badPurpose)))
                .isInstanceOf(ProtocolViolation.class);
        byte[] badService =
                HexFormat.of().parseHex("0000000000000001" + "aa".repeat(32) + "bb".repeat(32) + "02" + "2f2f");
        assertThatThrownBy(() -> MeshCodec.decode(MeshFrameType.CIRCUIT_REQUEST, Unpooled.wrappedBuffer(badService)))
                .isInstanceOf(ProtocolViolation.class);
        byte[] tooMany = HexFormat.of().parseHex("0401");
        assertThatThrownBy(() -> MeshCodec.decode(MeshFrameType.GONE, Unpooled.wrappedBuffer(tooMany)))
                .isInstanceOf(ProtocolViolation.class);
    }

    @Test
    void namesAreCheckedAgainstTheirLimitsBeforeAllocation() {
        String key = "aa".repeat(32);
        // more entries than a frame may hold: refused on the count, before reading any entry
        assertThatThrownBy(() -> MeshCodec.decode(
                        MeshFrameType.NAMES,
                        Unpooled.wrappedBuffer(
                                HexFormat.of().parseHex(String.format("%04x", MeshProtocol.MAX_NAMES_PER_FRAME + 1)))))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("too many names");
        // a name longer than a node name may be (64 bytes), refused on its length byte
        assertThatThrownBy(() -> MeshCodec.decode(
                        MeshFrameType.NAMES,
                        Unpooled.wrappedBuffer(HexFormat.of().parseHex("0001" + key + "40" + "61".repeat(64)))))
                .isInstanceOf(ProtocolViolation.class);
        // not a node name: upper case, a leading '-', a byte outside ASCII
        for (String bad : List.of("05" + "416c696365", "02" + "2d61", "02" + "61ff")) {
            assertThatThrownBy(() -> MeshCodec.decode(
                            MeshFrameType.NAMES,
                            Unpooled.wrappedBuffer(HexFormat.of().parseHex("0001" + key + bad))))
                    .isInstanceOf(ProtocolViolation.class);
        }
        // truncated: the count promises more than is there, or a name runs past the end
        assertThatThrownBy(() -> MeshCodec.decode(
                        MeshFrameType.NAMES,
                        Unpooled.wrappedBuffer(HexFormat.of().parseHex("0002" + key + "00"))))
                .isInstanceOf(ProtocolViolation.class);
        assertThatThrownBy(() -> MeshCodec.decode(
                        MeshFrameType.NAMES,
                        Unpooled.wrappedBuffer(HexFormat.of().parseHex("0001" + key + "05" + "6162"))))
                .isInstanceOf(ProtocolViolation.class);
        // the largest legal frame fits the type's maximum exactly
        List<MeshFrame.Named> full = new java.util.ArrayList<>();
        for (int i = 0; i < MeshProtocol.MAX_NAMES_PER_FRAME; i++) {
            full.add(new MeshFrame.Named(A, "a".repeat(dev.burrow.protocol.frame.FrameLimits.MAX_NODE_NAME)));
        }
        assertThat(MeshCodec.encodedLength(new MeshFrame.Names(full)) - 5).isEqualTo(MeshFrameType.NAMES.maxPayload());
        assertThatThrownBy(() -> new MeshFrame.Named(A, "Not-A-Name")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anOlderDecoderSkipsNamesAsAnUnknownType() {
        // what a relay without NAMES does with it: an unknown type after authentication is skipped
        ByteBuf in = Unpooled.buffer();
        MeshCodec.encode(new MeshFrame.Names(List.of(new MeshFrame.Named(A, "alice"))), in);
        in.setByte(0, 0x7e); // a code this build does not know stands in for the old relay's view
        MeshCodec.encode(new MeshFrame.Gone(List.of(A)), in);
        MeshFrameDecoder dec = new MeshFrameDecoder();
        EmbeddedChannel ch = new EmbeddedChannel(dec);
        dec.authenticated();
        ch.writeInbound(in);
        assertThat((Object) ch.readInbound()).isInstanceOf(MeshFrame.Unknown.class);
        assertThat((Object) ch.readInbound()).isEqualTo(new MeshFrame.Gone(List.of(A)));
        ch.finishAndReleaseAll();
    }

    @Test
    void decoderAcceptsOnlyTheHandshakeBeforeAuthentication() {
        EmbeddedChannel ch = new EmbeddedChannel(new MeshFrameDecoder());
        ByteBuf b = Unpooled.buffer();
        MeshCodec.encode(new MeshFrame.Present(List.of(A)), b);
        assertThatThrownBy(() -> ch.writeInbound(b))
                .isInstanceOf(DecoderException.class)
                .hasCauseInstanceOf(ProtocolViolation.class);
        ch.finishAndReleaseAll();

        EmbeddedChannel unknown = new EmbeddedChannel(new MeshFrameDecoder());
        assertThatThrownBy(() -> unknown.writeInbound(
                        Unpooled.wrappedBuffer(HexFormat.of().parseHex("7f00000000"))))
                .isInstanceOf(DecoderException.class);
        unknown.finishAndReleaseAll();
    }

    @Test
    void decoderChecksLengthsBeforeBufferingAndSkipsUnknownFramesOnceAuthenticated() {
        MeshFrameDecoder dec = new MeshFrameDecoder();
        EmbeddedChannel ch = new EmbeddedChannel(dec);
        dec.authenticated();
        // unknown type: skipped as it arrives, surfaced for counting; the next frame still decodes
        ByteBuf in = Unpooled.buffer();
        in.writeBytes(HexFormat.of().parseHex("7f00000003010203"));
        MeshCodec.encode(new MeshFrame.Gone(List.of(A)), in);
        ch.writeInbound(in);
        assertThat((Object) ch.readInbound()).isEqualTo(new MeshFrame.Unknown(0x7f, 3));
        assertThat((Object) ch.readInbound()).isEqualTo(new MeshFrame.Gone(List.of(A)));
        // a header announcing more than the type's maximum fails at once, with no payload sent
        assertThatThrownBy(() ->
                        ch.writeInbound(Unpooled.wrappedBuffer(HexFormat.of().parseHex("02ffffffff"))))
                .isInstanceOf(DecoderException.class)
                .hasCauseInstanceOf(ProtocolViolation.class);
        ch.finishAndReleaseAll();
    }

    @Test
    void encoderWritesAndReleasesDatagrams() {
        EmbeddedChannel ch = new EmbeddedChannel(MeshFrameEncoder.INSTANCE);
        ByteBuf payload = Unpooled.wrappedBuffer(new byte[] {1});
        ch.writeOutbound(new MeshFrame.Datagram(A, B, payload));
        assertThat(payload.refCnt()).isZero();
        ByteBuf out = ch.readOutbound();
        assertThat(out.readableBytes()).isEqualTo(5 + 64 + 1);
        out.release();
        ch.finishAndReleaseAll();
    }
}
