package dev.burrow.agent.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.disco.DiscoCodec;
import dev.burrow.identity.NodeIdentity;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class UdpCodecTest {
    static final HexFormat HEX = HexFormat.of();
    static final byte[] SESSION = HEX.parseHex("000001934f3a2b1c0102030405060708");

    @Test
    void goldenMessages() throws Exception {
        assertGolden(new UdpMessage.Data(0x01020304L, new byte[] {'h', 'i'}), "02010203046869");
        assertGolden(new UdpMessage.Reply(0xFFFFFFFFL, new byte[0]), "83ffffffff");
        assertGolden(
                new UdpMessage.Open(5, "dns", new byte[] {(byte) 0xAA, (byte) 0xBB}),
                "0100000005" + "03646e73" + "0002aabb");
        assertGolden(new UdpMessage.Opened(7, SESSION), "8100000007" + "000001934f3a2b1c0102030405060708");
        assertGolden(new UdpMessage.Refused(1, 3, "no"), "8200000001" + "03" + "026e6f");
        assertGolden(new UdpMessage.Close(9, 1), "030000000901");
        assertGolden(new UdpMessage.Closed(9, 2), "840000000902");
        assertGolden(new UdpMessage.Unknown(0x42, new byte[] {1, 2}), "420102");
    }

    private static void assertGolden(UdpMessage m, String hex) throws Exception {
        assertThat(HEX.formatHex(UdpCodec.encodeMessage(m))).isEqualTo(hex);
        assertThat(UdpCodec.decodeMessage(HEX.parseHex(hex))).isEqualTo(m);
    }

    @Test
    void goldenHeader() {
        NodeIdentity id = NodeIdentity.ephemeral("golden");
        byte[] h = UdpCodec.header(id.nodeKey(), SESSION, 0x0102L);
        assertThat(HEX.formatHex(h, 0, 5)).isEqualTo("8b75647001");
        assertThat(HEX.formatHex(h, 37, 53)).isEqualTo(HEX.formatHex(SESSION));
        assertThat(HEX.formatHex(h, 53, 61)).isEqualTo("0000000000000102");
        assertThat(h).hasSize(UdpLimits.HEADER_LENGTH);
    }

    @Test
    void roundTrips() throws Exception {
        for (UdpMessage m : List.of(
                new UdpMessage.Data(0, new byte[UdpLimits.MAX_PAYLOAD]),
                new UdpMessage.Open(0xFFFFFFFFL, "a", new byte[UdpLimits.MAX_CERTIFICATE]),
                new UdpMessage.Refused(2, 255, "é".repeat(200)),
                new UdpMessage.Reply(3, new byte[] {0}))) {
            assertThat(UdpCodec.decodeMessage(UdpCodec.encodeMessage(m))).isEqualTo(m);
        }
        assertThat(new UdpMessage.Refused(2, 255, "é".repeat(200))
                        .reason()
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .hasSizeLessThanOrEqualTo(UdpLimits.MAX_REASON);
    }

    @Test
    void limitsAndShortMessagesAreRefused() {
        assertThatThrownBy(() -> UdpCodec.decodeMessage(new byte[0])).isInstanceOf(UdpDecodeException.class);
        assertThatThrownBy(() -> UdpCodec.decodeMessage(HEX.parseHex("020102"))).isInstanceOf(UdpDecodeException.class);
        assertThatThrownBy(() -> UdpCodec.decodeMessage(HEX.parseHex("0100000005" + "05646e73")))
                .isInstanceOf(UdpDecodeException.class); // service length beyond the message
        assertThatThrownBy(() -> UdpCodec.decodeMessage(HEX.parseHex("0100000005" + "03646e73" + "1001")))
                .isInstanceOf(UdpDecodeException.class); // certificate over the limit
        assertThatThrownBy(() -> UdpCodec.decodeMessage(HEX.parseHex("0100000005" + "03444e53" + "0000")))
                .isInstanceOf(UdpDecodeException.class); // not a valid service name
        assertThatThrownBy(() -> UdpCodec.decodeMessage(HEX.parseHex("8100000007" + "00")))
                .isInstanceOf(UdpDecodeException.class);
        assertThatThrownBy(() -> new UdpMessage.Data(-1, new byte[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new UdpMessage.Data(1, new byte[UdpLimits.MAX_PAYLOAD + 1]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void packetsAreToldApartFromDisco() {
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        ByteBuf p = new UdpBox(a).seal(b.nodeKey(), new UdpMessage.Data(1, new byte[3]), ByteBufAllocator.DEFAULT);
        try {
            assertThat(UdpCodec.looksLikeUdp(p)).isTrue();
            assertThat(DiscoCodec.looksLikeDisco(p)).isFalse();
            assertThat(p.readableBytes()).isEqualTo(UdpLimits.DATA_OVERHEAD + 3);
        } finally {
            p.release();
        }
        ByteBuf disco = Unpooled.wrappedBuffer(HEX.parseHex("8b647363010000"));
        assertThat(UdpCodec.looksLikeUdp(disco)).isFalse();
    }

    @Test
    void packetFramingLimits() {
        assertThatThrownBy(() -> UdpCodec.decodePacket(Unpooled.wrappedBuffer(new byte[UdpLimits.MIN_PACKET - 1])))
                .isInstanceOf(UdpDecodeException.class);
        assertThatThrownBy(() -> UdpCodec.decodePacket(Unpooled.wrappedBuffer(new byte[UdpLimits.MAX_PACKET + 1])))
                .isInstanceOf(UdpDecodeException.class);
        byte[] wrongVersion = new byte[UdpLimits.MIN_PACKET];
        System.arraycopy(UdpLimits.MAGIC, 0, wrongVersion, 0, 4);
        wrongVersion[4] = 2;
        assertThatThrownBy(() -> UdpCodec.decodePacket(Unpooled.wrappedBuffer(wrongVersion)))
                .isInstanceOf(UdpDecodeException.class)
                .hasMessageContaining("version");
    }
}
