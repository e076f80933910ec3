package dev.burrow.protocol.frame;

import static dev.burrow.protocol.frame.SampleFrames.bytes;
import static dev.burrow.protocol.frame.SampleFrames.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

    @Test
    void everyFrameTypeHasASampleAndRoundTrips() {
        Map<FrameType, Frame> samples = SampleFrames.oneOfEach();
        assertThat(samples.keySet()).containsExactlyInAnyOrder(FrameType.values());
        for (Frame frame : samples.values()) {
            byte[] encoded = encode(frame);
            assertThat(encoded.length)
                    .as("encodedLength of %s", frame.type())
                    .isEqualTo(FrameCodec.encodedLength(frame));
            assertThat(encoded.length - FrameLimits.HEADER_LENGTH)
                    .isLessThanOrEqualTo(frame.type().maxPayload());
            Frame decoded = decode(frame.type(), encoded);
            try {
                // Re-encoding the decoded frame gives the same bytes: every field survived.
                assertThat(encode(decoded)).as("round trip of %s", frame.type()).isEqualTo(encoded);
                assertThat(decoded.getClass()).isEqualTo(frame.getClass());
            } finally {
                releaseIfDatagram(decoded);
                releaseIfDatagram(frame);
            }
        }
    }

    @Test
    void goldenSendDatagram() {
        ClientFrame.SendDatagram f =
                new ClientFrame.SendDatagram(key(0xAB), Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        assertThat(hex(encode(f))).isEqualTo("10" + "00000023" + "ab".repeat(32) + "010203");
        f.release();
    }

    @Test
    void goldenServerHello() {
        RelayFrame.ServerHello f = new RelayFrame.ServerHello(1, 1, bytes(32, 0x5A), "r1");
        assertThat(hex(encode(f))).isEqualTo("01" + "00000027" + "0001" + "0001" + "5a".repeat(32) + "02" + "7231");
    }

    @Test
    void goldenClientAuth() {
        ClientFrame.ClientAuth f = new ClientFrame.ClientAuth(
                1, 1, key(0x01), bytes(64, 0x02), java.util.List.of(new byte[] {(byte) 0x30, 0x00}), "b");
        assertThat(hex(encode(f)))
                .isEqualTo("02" + "0000006c" + "0001" + "0001" + "01".repeat(32) + "02".repeat(64) + "0004" + "0002"
                        + "3000" + "01" + "62");
    }

    @Test
    void goldenPeerGoneAndCircuitFrames() {
        assertThat(hex(encode(new RelayFrame.PeerGone(key(0x09), PeerGoneReason.MESH_LINK_BROKEN))))
                .isEqualTo("13" + "00000021" + "09".repeat(32) + "02");
        assertThat(hex(encode(new ClientFrame.CircuitRequest(0x01020304L, key(0x0C), "ssh"))))
                .isEqualTo("30" + "00000028" + "01020304" + "0c".repeat(32) + "03" + "737368");
        CircuitId id = CircuitId.of(bytes(16, 0xC1));
        CircuitToken token = CircuitToken.of(bytes(32, 0x70));
        assertThat(hex(encode(new ClientFrame.CircuitAttach(id, token))))
                .isEqualTo("38" + "00000030" + "c1".repeat(16) + "70".repeat(32));
        assertThat(hex(encode(new RelayFrame.CircuitRejected(9, CircuitRejectReason.TIMEOUT, "late"))))
                .isEqualTo("35" + "0000000a" + "00000009" + "05" + "04" + "6c617465");
        assertThat(hex(encode(new RelayFrame.Keepalive()))).isEqualTo("2200000000");
    }

    @Test
    void goldenServerAcceptWithAndWithoutItsStunPort() {
        // 0.1.0 bytes (no STUN port): keepalive 60 s, max datagram 64 KiB, observed "1.2.3.4:5"
        String old = "0000ea60" + "00010000" + "09" + "312e322e332e343a35";
        assertThat(hex(encode(new RelayFrame.ServerAccept(60_000, 65_536, "1.2.3.4:5"))))
                .isEqualTo("03" + "00000012" + old);
        // since 0.3.0 a relay appends u16 stunPort: 3478 = 0x0d96, 0 = no STUN
        assertThat(hex(encode(new RelayFrame.ServerAccept(60_000, 65_536, "1.2.3.4:5", 3478))))
                .isEqualTo("03" + "00000014" + old + "0d96");
        RelayFrame.ServerAccept fromOld = (RelayFrame.ServerAccept)
                decode(FrameType.SERVER_ACCEPT, HexFormat.of().parseHex("03" + "00000012" + old));
        assertThat(fromOld.stunPort()).isEqualTo(RelayFrame.ServerAccept.STUN_PORT_ABSENT);
        RelayFrame.ServerAccept none = (RelayFrame.ServerAccept)
                decode(FrameType.SERVER_ACCEPT, HexFormat.of().parseHex("03" + "00000014" + old + "0000"));
        assertThat(none.stunPort()).isZero();
        // a later version's extra fields after the port are ignored; one stray byte is not a port
        RelayFrame.ServerAccept future = (RelayFrame.ServerAccept)
                decode(FrameType.SERVER_ACCEPT, HexFormat.of().parseHex("03" + "00000017" + old + "ffff" + "abcdef"));
        assertThat(future.stunPort()).isEqualTo(65_535);
        RelayFrame.ServerAccept stray = (RelayFrame.ServerAccept)
                decode(FrameType.SERVER_ACCEPT, HexFormat.of().parseHex("03" + "00000013" + old + "01"));
        assertThat(stray.stunPort()).isEqualTo(RelayFrame.ServerAccept.STUN_PORT_ABSENT);
    }

    @Test
    void goldenIngressFrames() {
        CircuitId id = CircuitId.of(bytes(16, 0xC1));
        CircuitToken token = CircuitToken.of(bytes(32, 0x70));
        // An ordinary offer keeps its 0.1.0 bytes (no flags byte); an ingress offer appends flags 0x01.
        String offer = "c1".repeat(16) + "07".repeat(32) + "03" + "776562" + "70".repeat(32);
        assertThat(hex(encode(new RelayFrame.CircuitOffer(id, key(0x07), "web", token))))
                .isEqualTo("31" + "00000054" + offer);
        assertThat(hex(encode(new RelayFrame.CircuitOffer(
                        id, key(0x07), "web", token, RelayFrame.CircuitOffer.FLAG_INGRESS))))
                .isEqualTo("31" + "00000055" + offer + "01");
        RelayFrame.CircuitOffer old = (RelayFrame.CircuitOffer)
                decode(FrameType.CIRCUIT_OFFER, HexFormat.of().parseHex("31" + "00000054" + offer));
        assertThat(old.flags()).isZero();
        assertThat(old.ingress()).isFalse();
        RelayFrame.CircuitOffer future = (RelayFrame.CircuitOffer)
                decode(FrameType.CIRCUIT_OFFER, HexFormat.of().parseHex("31" + "00000055" + offer + "81"));
        assertThat(future.ingress()).isTrue();
        assertThat(future.hasUnknownFlags()).isTrue();

        assertThat(hex(encode(new ClientFrame.Publish(
                        "web",
                        16,
                        60_000,
                        java.util.List.of(SourcePrefix.parse("10.1.2.3/16"), SourcePrefix.parse("::/0"))))))
                .isEqualTo("50" + "00000025" + "03776562" + "00000010" + "0000ea60" + "02" + "10" + "04" + "0a010000"
                        + "00" + "10" + "00".repeat(16));
        assertThat(hex(encode(new ClientFrame.Unpublish("web")))).isEqualTo("51" + "00000004" + "03776562");
        assertThat(hex(encode(new RelayFrame.Published("web", 20_001, "r:20001"))))
                .isEqualTo("52" + "0000000e" + "03776562" + "4e21" + "07" + "723a3230303031");
        assertThat(hex(encode(new RelayFrame.PublishRefused("web", PublishRefusedReason.NO_PORT_FREE, "full"))))
                .isEqualTo("53" + "0000000a" + "03776562" + "03" + "04" + "66756c6c");
    }

    @Test
    void malformedPublishIsAProtocolViolation() {
        String head = "50" + "0000000e" + "03776562" + "00000010" + "0000ea60";
        // no sources, a 5-byte address, a /33 on IPv4, truncated address
        for (String tail : new String[] {
            "00", "01" + "08" + "05" + "0a01020304", "01" + "21" + "04" + "0a010203", "01" + "08" + "04" + "0a"
        }) {
            byte[] b = HexFormat.of().parseHex(head + tail);
            assertThatThrownBy(() -> decode(FrameType.PUBLISH, b)).isInstanceOf(ProtocolViolation.class);
        }
        String tooMany = "21" + ("20" + "04" + "0a000001").repeat(33);
        assertThatThrownBy(() -> decode(FrameType.PUBLISH, HexFormat.of().parseHex(head + tooMany)))
                .isInstanceOf(ProtocolViolation.class);
        assertThatThrownBy(() -> decode(
                        FrameType.PUBLISHED, HexFormat.of().parseHex("52" + "00000007" + "03776562" + "0000" + "00")))
                .isInstanceOf(ProtocolViolation.class);
    }

    @Test
    void sourcePrefixesMatchCanonicalAddresses() throws Exception {
        SourcePrefix p = SourcePrefix.parse("203.0.113.77/24");
        assertThat(p.toString()).isEqualTo("203.0.113.0/24");
        assertThat(p.matches(java.net.InetAddress.getByName("203.0.113.5"))).isTrue();
        assertThat(p.matches(java.net.InetAddress.getByName("203.0.114.5"))).isFalse();
        // An IPv4-mapped IPv6 address is matched as the IPv4 address it carries.
        byte[] mapped = HexFormat.of().parseHex("00000000000000000000ffffcb007105");
        assertThat(p.matches(java.net.Inet6Address.getByAddress(null, mapped, -1)))
                .isTrue();
        assertThat(SourcePrefix.parse("0.0.0.0/0").matches(java.net.InetAddress.getByName("::1")))
                .isFalse();
        assertThat(SourcePrefix.parse("::/0").matches(java.net.InetAddress.getByName("::1")))
                .isTrue();
        assertThat(SourcePrefix.parse("127.0.0.1").prefixLength()).isEqualTo(32);
        for (String bad : new String[] {"", "example.com/8", "10.0.0.0/33", "10.0.0.0/", "::/129", "10.0.0.0/-1"}) {
            assertThatThrownBy(() -> SourcePrefix.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void goldenNameLookupFrames() {
        assertThat(hex(encode(new ClientFrame.LookupName(0x0A0B0C0DL, "web-1"))))
                .isEqualTo("60" + "0000000a" + "0a0b0c0d" + "05" + "7765622d31");
        assertThat(hex(encode(new RelayFrame.NameResult(7, java.util.List.of(key(0x21))))))
                .isEqualTo("61" + "00000025" + "00000007" + "01" + "21".repeat(32));
        assertThat(hex(encode(new RelayFrame.NameResult(8, java.util.List.of()))))
                .isEqualTo("61" + "00000005" + "00000008" + "00");
    }

    @Test
    void nameLookupFieldsAreChecked() {
        ByteBuf badName = Unpooled.wrappedBuffer(HexFormat.of().parseHex("00000001" + "03" + "412d42")); // "A-B"
        assertThatThrownBy(() -> FrameCodec.decodeClientFrame(FrameType.LOOKUP_NAME, badName))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("node name");
        ByteBuf dash = Unpooled.wrappedBuffer(HexFormat.of().parseHex("00000001" + "02" + "612d")); // "a-"
        assertThatThrownBy(() -> FrameCodec.decodeClientFrame(FrameType.LOOKUP_NAME, dash))
                .isInstanceOf(ProtocolViolation.class);
        ByteBuf tooMany = Unpooled.wrappedBuffer(HexFormat.of().parseHex("00000001" + "09" + "00".repeat(9 * 32)));
        assertThatThrownBy(() -> FrameCodec.decodeRelayFrame(FrameType.NAME_RESULT, tooMany))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("more than 8 keys");
        ByteBuf shortKeys = Unpooled.wrappedBuffer(HexFormat.of().parseHex("00000001" + "02" + "00".repeat(40)));
        assertThatThrownBy(() -> FrameCodec.decodeRelayFrame(FrameType.NAME_RESULT, shortKeys))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("too short");
        assertThatThrownBy(() -> new ClientFrame.LookupName(1, "Alice")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RelayFrame.NameResult(1, java.util.Collections.nCopies(9, key(1))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(FrameType.NAME_RESULT.maxPayload()).isEqualTo(4 + 1 + 8 * 32);
        assertThat(FramePolicy.RELAY_CONTROL.accepts(FrameType.LOOKUP_NAME)).isTrue();
        assertThat(FramePolicy.CLIENT_CONTROL.accepts(FrameType.NAME_RESULT)).isTrue();
        assertThat(FramePolicy.RELAY_AWAITING_AUTH.accepts(FrameType.LOOKUP_NAME))
                .isFalse();
    }

    @Test
    void trailingBytesAfterKnownFieldsAreIgnoredForForwardCompatibility() {
        byte[] encoded = encode(new RelayFrame.PeerPresent(key(4)));
        byte[] extended = HexFormat.of().parseHex(hex(encoded) + "ffff");
        Frame decoded = decode(FrameType.PEER_PRESENT, extended);
        assertThat(decoded).isEqualTo(new RelayFrame.PeerPresent(key(4)));
    }

    @Test
    void unknownReasonCodesDecodeAsUnknown() {
        byte[] payload = HexFormat.of().parseHex("4d" + "00");
        ByteBuf buf = Unpooled.wrappedBuffer(payload);
        RelayFrame f = FrameCodec.decodeRelayFrame(FrameType.DENY, buf);
        assertThat(f).isEqualTo(new RelayFrame.Deny(DenyReason.UNKNOWN, ""));
    }

    @Test
    void truncatedFieldsAreProtocolViolations() {
        ByteBuf shortKey = Unpooled.wrappedBuffer(bytes(31, 1));
        assertThatThrownBy(() -> FrameCodec.decodeClientFrame(FrameType.SEND_DATAGRAM, shortKey))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("too short");
        ByteBuf badUtf8 = Unpooled.wrappedBuffer(HexFormat.of().parseHex("01" + "02" + "c328"));
        assertThatThrownBy(() -> FrameCodec.decodeRelayFrame(FrameType.DENY, badUtf8))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("UTF-8");
        ByteBuf badService =
                Unpooled.wrappedBuffer(HexFormat.of().parseHex("00000001" + "0c".repeat(32) + "03" + "2e2e2f"));
        assertThatThrownBy(() -> FrameCodec.decodeClientFrame(FrameType.CIRCUIT_REQUEST, badService))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("service name");
    }

    @Test
    void framesFromTheWrongDirectionAreRefused() {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes(33, 1));
        assertThatThrownBy(() -> FrameCodec.decodeClientFrame(FrameType.RECV_DATAGRAM, buf))
                .isInstanceOf(ProtocolViolation.class)
                .extracting(e -> ((ProtocolViolation) e).kind())
                .isEqualTo(ProtocolViolation.Kind.WRONG_DIRECTION);
        assertThatThrownBy(() -> FrameCodec.decodeRelayFrame(FrameType.CLIENT_AUTH, buf))
                .isInstanceOf(ProtocolViolation.class);
    }

    @Test
    void certificateChainIsBoundedAndNonEmptyEntries() {
        // Five 1-byte certificates: one more than allowed.
        StringBuilder chain = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            chain.append("0001").append("30");
        }
        String payload = "0001" + "0000" + "01".repeat(32) + "02".repeat(64) + String.format("%04x", chain.length() / 2)
                + chain + "00";
        assertThatThrownBy(() -> FrameCodec.decodeClientFrame(
                        FrameType.CLIENT_AUTH,
                        Unpooled.wrappedBuffer(HexFormat.of().parseHex(payload))))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("certificates");
        String empty = "0001" + "0000" + "01".repeat(32) + "02".repeat(64) + "0002" + "0000" + "00";
        assertThatThrownBy(() -> FrameCodec.decodeClientFrame(
                        FrameType.CLIENT_AUTH,
                        Unpooled.wrappedBuffer(HexFormat.of().parseHex(empty))))
                .isInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("empty certificate");
    }

    @Test
    void longMessagesAreCutAtACharacterBoundary() {
        String longMessage = "é".repeat(200); // 400 UTF-8 bytes
        RelayFrame.Deny deny = new RelayFrame.Deny(DenyReason.INTERNAL, longMessage);
        assertThat(deny.message().getBytes(java.nio.charset.StandardCharsets.UTF_8).length)
                .isLessThanOrEqualTo(FrameLimits.MAX_SHORT_STRING);
        assertThat(deny.message()).matches("é+");
    }

    @Test
    void circuitTokensNeverPrintTheirBytes() {
        CircuitToken t = CircuitToken.of(bytes(32, 0x7F));
        assertThat(t.toString()).doesNotContain("7f").contains("redacted");
        assertThat(new RelayFrame.CircuitAccepted(1, CircuitId.random(), t).toString())
                .doesNotContain("7f7f");
    }

    @Test
    void maxPayloadsFollowTheLimits() {
        assertThat(FrameType.SEND_DATAGRAM.maxPayload()).isEqualTo(NodeKey.LENGTH + 65_536);
        assertThat(FrameType.CLIENT_AUTH.maxPayload()).isEqualTo(16 * 1024);
        assertThat(FrameType.PING.maxPayload()).isEqualTo(1000);
        for (FrameType t : FrameType.values()) {
            assertThat(FrameType.fromCode(t.code())).isSameAs(t);
        }
        assertThat(FrameType.fromCode(0x7E)).isNull();
    }

    static byte[] encode(Frame f) {
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(f, buf);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    static Frame decode(FrameType type, byte[] encoded) {
        ByteBuf buf =
                Unpooled.wrappedBuffer(encoded, FrameLimits.HEADER_LENGTH, encoded.length - FrameLimits.HEADER_LENGTH);
        try {
            return type.sentByClient()
                    ? FrameCodec.decodeClientFrame(type, buf)
                    : FrameCodec.decodeRelayFrame(type, buf);
        } finally {
            buf.release();
        }
    }

    static void releaseIfDatagram(Frame f) {
        if (f instanceof DatagramFrame d) {
            d.release();
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
