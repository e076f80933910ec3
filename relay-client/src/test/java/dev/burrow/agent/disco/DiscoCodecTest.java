package dev.burrow.agent.disco;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class DiscoCodecTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] TX = HEX.parseHex("000102030405060708090a0b");

    private static InetSocketAddress ep(String ip, int port) {
        return new InetSocketAddress(ip, port);
    }

    @Test
    void goldenPing() throws Exception {
        byte[] b = DiscoCodec.encodeMessage(new DiscoMessage.Ping(TX, 0));
        assertThat(HEX.formatHex(b)).isEqualTo("01000102030405060708090a0b");
        assertThat(HEX.formatHex(DiscoCodec.encodeMessage(new DiscoMessage.Ping(TX, 2))))
                .isEqualTo("01000102030405060708090a0b0000");
    }

    @Test
    void goldenPongIpv4AndIpv6() throws Exception {
        byte[] b = DiscoCodec.encodeMessage(new DiscoMessage.Pong(TX, ep("203.0.113.10", 41641)));
        assertThat(HEX.formatHex(b))
                .isEqualTo("02000102030405060708090a0b" + "00000000000000000000ffffcb00710a" + "a2a9");
        byte[] v6 = DiscoCodec.encodeMessage(new DiscoMessage.Pong(TX, ep("2001:db8::1", 443)));
        assertThat(HEX.formatHex(v6))
                .isEqualTo("02000102030405060708090a0b" + "20010db8000000000000000000000001" + "01bb");
    }

    @Test
    void goldenCallMeMaybe() throws Exception {
        byte[] b = DiscoCodec.encodeMessage(
                new DiscoMessage.CallMeMaybe(List.of(ep("10.1.0.10", 40000), ep("203.0.113.10", 40000))));
        assertThat(HEX.formatHex(b))
                .isEqualTo("03" + "00000000000000000000ffff0a01000a9c40" + "00000000000000000000ffffcb00710a9c40");
    }

    @Test
    void goldenCallMeMaybeWithIpv4AndIpv6() throws Exception {
        DiscoMessage m = new DiscoMessage.CallMeMaybe(List.of(ep("203.0.113.10", 40000), ep("2001:db8:1::10", 40000)));
        byte[] b = DiscoCodec.encodeMessage(m);
        assertThat(HEX.formatHex(b))
                .isEqualTo("03" + "00000000000000000000ffffcb00710a9c40" + "20010db80001000000000000000000109c40");
        DiscoMessage.CallMeMaybe back = (DiscoMessage.CallMeMaybe) DiscoCodec.decodeMessage(b);
        assertThat(back).isEqualTo(m);
        assertThat(back.endpoints().get(0).getAddress()).isInstanceOf(java.net.Inet4Address.class);
        assertThat(back.endpoints().get(1).getAddress()).isInstanceOf(java.net.Inet6Address.class);
    }

    @Test
    void goldenHeader() {
        byte[] key = new byte[32];
        key[0] = 1;
        byte[] session = HEX.parseHex("0000018bcfe56800" + "0102030405060708");
        byte[] h = DiscoCodec.header(NodeKey.of(key), session, 7);
        assertThat(HEX.formatHex(h))
                .isEqualTo("8b647363" + "01" + "01" + "00".repeat(31) + "0000018bcfe56800" + "0102030405060708"
                        + "0000000000000007");
        assertThat(h).hasSize(DiscoLimits.HEADER_LENGTH);
    }

    @Test
    void messagesRoundTrip() throws Exception {
        List<InetSocketAddress> many = new ArrayList<>();
        for (int i = 0; i < DiscoLimits.MAX_ENDPOINTS; i++) {
            many.add(ep("198.51.100." + (i + 1), 1000 + i));
        }
        for (DiscoMessage m : List.of(
                new DiscoMessage.Ping(TX, 0),
                new DiscoMessage.Ping(TX, 100),
                new DiscoMessage.Pong(TX, ep("203.0.113.11", 1)),
                new DiscoMessage.Pong(TX, ep("2001:db8::7", 65535)),
                new DiscoMessage.CallMeMaybe(List.of(ep("10.0.0.1", 5))),
                new DiscoMessage.CallMeMaybe(many),
                new DiscoMessage.Unknown(0x7f, new byte[] {1, 2, 3}),
                new DiscoMessage.Unknown(0, new byte[0]))) {
            assertThat(DiscoCodec.decodeMessage(DiscoCodec.encodeMessage(m))).isEqualTo(m);
        }
    }

    @Test
    void packetRoundTripAndReaderIndexUntouched() throws Exception {
        byte[] key = new byte[32];
        key[5] = 9;
        DiscoPacket p = new DiscoPacket(NodeKey.of(key), new byte[16], Long.MAX_VALUE, new byte[40]);
        ByteBuf b = DiscoCodec.encodePacket(p, UnpooledByteBufAllocator.DEFAULT);
        try {
            assertThat(DiscoCodec.looksLikeDisco(b)).isTrue();
            assertThat(DiscoCodec.decodePacket(b)).isEqualTo(p);
            assertThat(b.readerIndex()).isZero();
        } finally {
            b.release();
        }
    }

    /** unknown or malformed disco messages: endpoint lists that are empty or not a multiple of 18, too many endpoints, port 0. */
    @Test
    void badCallMeMaybeIsRefused() {
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(new byte[] {3})).isInstanceOf(DiscoDecodeException.class);
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(cmm(17))).isInstanceOf(DiscoDecodeException.class);
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(cmm(19))).isInstanceOf(DiscoDecodeException.class);
        byte[] portZero = new byte[1 + 18];
        portZero[0] = 3;
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(portZero)).isInstanceOf(DiscoDecodeException.class);
        byte[] tooMany = new byte[1 + 33 * 18];
        tooMany[0] = 3;
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(tooMany)).isInstanceOf(DiscoDecodeException.class);
    }

    private static byte[] cmm(int len) {
        byte[] b = new byte[1 + len];
        b[0] = 3;
        for (int i = 1; i < b.length; i++) {
            b[i] = 1;
        }
        return b;
    }

    @Test
    void shortAndOversizedInputsAreRefused() {
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(new byte[0])).isInstanceOf(DiscoDecodeException.class);
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(new byte[] {1, 2})).isInstanceOf(DiscoDecodeException.class);
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(new byte[] {2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
                .isInstanceOf(DiscoDecodeException.class);
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(new byte[DiscoLimits.MAX_PLAINTEXT + 1]))
                .isInstanceOf(DiscoDecodeException.class);
        assertThatThrownBy(() -> DiscoCodec.decodePacket(Unpooled.wrappedBuffer(new byte[DiscoLimits.MIN_PACKET - 1])))
                .isInstanceOf(DiscoDecodeException.class);
        assertThatThrownBy(() -> DiscoCodec.decodePacket(Unpooled.wrappedBuffer(new byte[DiscoLimits.MAX_PACKET + 1])))
                .isInstanceOf(DiscoDecodeException.class);
        byte[] noMagic = new byte[DiscoLimits.MIN_PACKET];
        assertThatThrownBy(() -> DiscoCodec.decodePacket(Unpooled.wrappedBuffer(noMagic)))
                .isInstanceOf(DiscoDecodeException.class);
        byte[] badVersion = new byte[DiscoLimits.MIN_PACKET];
        System.arraycopy(DiscoLimits.MAGIC, 0, badVersion, 0, 4);
        badVersion[4] = 2;
        assertThatThrownBy(() -> DiscoCodec.decodePacket(Unpooled.wrappedBuffer(badVersion)))
                .isInstanceOf(DiscoDecodeException.class);
    }

    @Test
    void magicIsNeitherStunNorQuic() {
        int first = DiscoLimits.MAGIC[0] & 0xFF;
        assertThat(first).isGreaterThan(3); // RFC 7983: STUN is 0-3
        assertThat(first & 0x40).isZero(); // QUIC packets have the fixed bit set
    }
}
