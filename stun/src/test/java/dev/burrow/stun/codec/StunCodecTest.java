package dev.burrow.stun.codec;

import static dev.burrow.stun.codec.Rfc5769Vectors.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.stun.codec.StunAttribute.*;
import dev.burrow.stun.codec.StunCodec.IntegrityCheck;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class StunCodecTest {
    private static final Integrity KEY = Integrity.shortTerm(IntegrityAlgorithm.HMAC_SHA1, PASSWORD);
    private static final TransactionId TX = TransactionId.of(TRANSACTION_ID);

    // ------------------------------------------------------------ RFC 5769 golden bytes

    @Test
    void decodesSampleRequestAndVerifiesItsIntegrity() throws Exception {
        ByteBuf buf = Unpooled.wrappedBuffer(REQUEST);
        StunMessage m = StunCodec.decode(buf);
        assertThat(m.messageClass()).isEqualTo(StunClass.REQUEST);
        assertThat(m.method()).isEqualTo(StunMessage.BINDING);
        assertThat(m.transactionId()).isEqualTo(TX);
        assertThat(m.attribute(Software.class)).contains(new Software("STUN test client"));
        assertThat(m.attribute(Username.class)).contains(new Username("evtj:h6vY"));
        assertThat(m.attributes())
                .contains(new Unknown(0x0024, hex("6e0001ff")), new Unknown(0x8029, hex("932ff9b151263b36")));
        assertThat(m.attribute(Fingerprint.class)).contains(new Fingerprint(0xe57a3bcf));
        assertThat(StunCodec.verifyIntegrity(buf, KEY).check()).isEqualTo(IntegrityCheck.VALID);
        assertThat(StunCodec.verifyIntegrity(buf, Integrity.shortTerm(IntegrityAlgorithm.HMAC_SHA1, "wrong"))
                        .check())
                .isEqualTo(IntegrityCheck.INVALID);
        assertThat(buf.readerIndex()).isZero();
    }

    @Test
    void encodesSampleRequestByteForByte() {
        StunMessage m = StunMessage.bindingRequest(
                TX,
                new Software("STUN test client"),
                new Unknown(0x0024, hex("6e0001ff")),
                new Unknown(0x8029, hex("932ff9b151263b36")),
                new Username("evtj:h6vY"));
        assertThat(encodeWithPad(m, (byte) 0x20)).isEqualTo(REQUEST);
    }

    @Test
    void decodesSampleResponses() throws Exception {
        StunMessage v4 = StunCodec.decode(Unpooled.wrappedBuffer(IPV4_RESPONSE));
        assertThat(v4.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
        assertThat(v4.attribute(XorMappedAddress.class).orElseThrow().address())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 32853));
        assertThat(v4.attribute(Software.class)).contains(new Software("test vector"));
        assertThat(StunCodec.verifyIntegrity(Unpooled.wrappedBuffer(IPV4_RESPONSE), KEY)
                        .check())
                .isEqualTo(IntegrityCheck.VALID);

        StunMessage v6 = StunCodec.decode(Unpooled.wrappedBuffer(IPV6_RESPONSE));
        assertThat(v6.attribute(XorMappedAddress.class).orElseThrow().address())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("2001:db8:1234:5678:11:2233:4455:6677"), 32853));
        assertThat(StunCodec.verifyIntegrity(Unpooled.wrappedBuffer(IPV6_RESPONSE), KEY)
                        .check())
                .isEqualTo(IntegrityCheck.VALID);
    }

    @Test
    void encodesSampleResponsesByteForByte() throws Exception {
        StunMessage v4 = StunMessage.bindingSuccess(
                TX,
                new Software("test vector"),
                new XorMappedAddress(new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 32853)));
        assertThat(encodeWithPad(v4, (byte) 0x20)).isEqualTo(IPV4_RESPONSE);
        StunMessage v6 = StunMessage.bindingSuccess(
                TX,
                new Software("test vector"),
                new XorMappedAddress(
                        new InetSocketAddress(InetAddress.getByName("2001:db8:1234:5678:11:2233:4455:6677"), 32853)));
        assertThat(encodeWithPad(v6, (byte) 0x20)).isEqualTo(IPV6_RESPONSE);
    }

    @Test
    void zeroPaddedEncodingDiffersOnlyInPaddingAndStillVerifies() throws Exception {
        StunMessage v4 = StunMessage.bindingSuccess(
                TX,
                new Software("test vector"),
                new XorMappedAddress(new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 32853)));
        byte[] ours = encode(v4, KEY, true);
        assertThat(ours).hasSize(IPV4_RESPONSE.length);
        assertThat(ours[20 + 4 + 11]).isZero(); // the vector's 0x20 pad byte is 0x00 in ours
        assertThat(StunCodec.decode(Unpooled.wrappedBuffer(ours)).attribute(XorMappedAddress.class))
                .isPresent();
        assertThat(StunCodec.verifyIntegrity(Unpooled.wrappedBuffer(ours), KEY).check())
                .isEqualTo(IntegrityCheck.VALID);
    }

    @Test
    void tailscaleSizedExchange() throws Exception {
        // A 40-byte request (SOFTWARE of 8 bytes + FINGERPRINT) and the minimal 32-byte IPv4 answer.
        StunMessage req = StunMessage.bindingRequest(TransactionId.random(), new Software("tailnode"));
        assertThat(encode(req, null, true)).hasSize(40);
        StunMessage resp = StunMessage.bindingSuccess(
                req.transactionId(),
                new XorMappedAddress(new InetSocketAddress(InetAddress.getByName("203.0.113.9"), 41641)));
        assertThat(encode(resp, null, false)).hasSize(32);
        StunMessage resp6 = StunMessage.bindingSuccess(
                req.transactionId(),
                new XorMappedAddress(new InetSocketAddress(InetAddress.getByName("2001:db8::9"), 41641)));
        assertThat(encode(resp6, null, false)).hasSize(44);
    }

    // ------------------------------------------------------------ round trips

    static Stream<StunAttribute> everyAttribute() throws Exception {
        InetSocketAddress v4 = new InetSocketAddress(InetAddress.getByName("198.51.100.7"), 65535);
        InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByName("2001:db8::1:2"), 1);
        InetSocketAddress mapped6 =
                new InetSocketAddress(InetAddress.getByAddress(hex("00000000000000000000ffffc0000201")), 3478);
        return Stream.of(
                new XorMappedAddress(v4),
                new XorMappedAddress(v6),
                new XorMappedAddress(mapped6),
                new MappedAddress(v4),
                new MappedAddress(v6),
                new ResponseOrigin(v4),
                new OtherAddress(v6),
                new ChangeRequest(true, false),
                new ChangeRequest(false, true),
                new ResponsePort(0),
                new ResponsePort(65535),
                new ChangeRequest(true, true),
                new ChangeRequest(false, false),
                new Username("evtj:h6vY"),
                new Username(""),
                new Username("ユーザ"),
                new Software("burrow"),
                new Software("x".repeat(763)),
                new ErrorCode(420, "Unknown Attribute"),
                new ErrorCode(300, ""),
                new ErrorCode(699, "é"),
                new UnknownAttributes(List.of(0x0024, 0x7fff)),
                new UnknownAttributes(List.of(0x0003)),
                new UnknownAttributes(List.of()),
                new MessageIntegrity(new byte[20]),
                new MessageIntegritySha256(new byte[32]),
                new MessageIntegritySha256(new byte[16]),
                new Unknown(0x0024, hex("6e0001ff")),
                new Unknown(0xC001, new byte[0]),
                new Unknown(0x7777, new byte[5]));
    }

    @ParameterizedTest
    @MethodSource("everyAttribute")
    void everyAttributeRoundTripsInEveryClass(StunAttribute attribute) throws Exception {
        for (StunClass cls : StunClass.values()) {
            StunMessage m = new StunMessage(cls, StunMessage.BINDING, TransactionId.random(), List.of(attribute));
            byte[] bytes = encode(m, null, false);
            assertThat(bytes).hasSize(m.encodedLength());
            assertThat(bytes.length % 4).isZero();
            assertThat(StunCodec.decode(Unpooled.wrappedBuffer(bytes))).isEqualTo(m);
        }
    }

    @Test
    void methodsAndClassesRoundTrip() throws Exception {
        for (int method : new int[] {0x001, 0x003, 0x00A, 0xFFF, 0x0F0, 0x801}) {
            for (StunClass cls : StunClass.values()) {
                int type = cls.messageType(method);
                assertThat(StunClass.ofMessageType(type)).isEqualTo(cls);
                assertThat(StunClass.methodOf(type)).isEqualTo(method);
                StunMessage m = new StunMessage(cls, method, TransactionId.random(), List.of());
                assertThat(StunCodec.decode(Unpooled.wrappedBuffer(encode(m, null, false))))
                        .isEqualTo(m);
            }
        }
        assertThat(StunClass.SUCCESS_RESPONSE.messageType(StunMessage.BINDING)).isEqualTo(0x0101);
        assertThat(StunClass.ERROR_RESPONSE.messageType(StunMessage.BINDING)).isEqualTo(0x0111);
        assertThat(StunClass.INDICATION.messageType(StunMessage.BINDING)).isEqualTo(0x0011);
    }

    @Test
    void integrityAndFingerprintRoundTripWithBothAlgorithms() throws Exception {
        for (IntegrityAlgorithm alg : IntegrityAlgorithm.values()) {
            for (boolean fp : new boolean[] {false, true}) {
                Integrity key = Integrity.shortTerm(alg, "s3cret-password");
                StunMessage m = StunMessage.bindingRequest(TransactionId.random(), new Username("alice"));
                byte[] bytes = encode(m, key, fp);
                assertThat(bytes).hasSize(StunCodec.encodedLength(m, key, fp));
                StunMessage back = StunCodec.decode(Unpooled.wrappedBuffer(bytes));
                assertThat(back.attributes().get(0)).isEqualTo(new Username("alice"));
                assertThat(back.attributes()).hasSize(fp ? 3 : 2);
                var check = StunCodec.verifyIntegrity(Unpooled.wrappedBuffer(bytes), key);
                assertThat(check.check()).isEqualTo(IntegrityCheck.VALID);
                assertThat(check.algorithm()).isEqualTo(alg);
                // Re-encoding the decoded message (MAC and CRC as values) gives the same bytes.
                assertThat(encode(back, null, false)).isEqualTo(bytes);
            }
        }
    }

    // ------------------------------------------------------------ fingerprint abuse / integrity abuse: fingerprint and
    // integrity abuse

    @Test
    void rejectsWrongOrMisplacedFingerprint() {
        byte[] bad = REQUEST.clone();
        bad[bad.length - 1] ^= 1;
        assertReason(bad, StunDecodeException.Reason.BAD_FINGERPRINT);

        // FINGERPRINT followed by another attribute.
        StunMessage m = StunMessage.bindingRequest(TX, new Fingerprint(0), new Software("x"));
        assertReason(encode(m, null, false), StunDecodeException.Reason.FINGERPRINT_NOT_LAST);

        // Missing FINGERPRINT is allowed by the codec; the server may require it.
        StunMessage none = StunMessage.bindingRequest(TX);
        assertThat(decodeQuietly(encode(none, null, false))).isNotNull();
    }

    @Test
    void flippedByteInIntegrityProtectedRegionFailsVerification() throws Exception {
        StunMessage m = StunMessage.bindingRequest(TX, new Username("alice"), new Software("abcd"));
        byte[] good = encode(m, KEY, false);
        for (int i = 20; i < good.length; i++) {
            if (i >= 20 + 12 && i < 20 + 12 + 4) {
                continue; // the SOFTWARE header: flipping it could make the message undecodable; covered below
            }
            byte[] bad = good.clone();
            bad[i] ^= 0x01;
            StunMessage decoded = decodeQuietly(bad);
            if (decoded != null) {
                assertThat(StunCodec.verifyIntegrity(Unpooled.wrappedBuffer(bad), KEY)
                                .check())
                        .as("flip at %d", i)
                        .isNotEqualTo(IntegrityCheck.VALID);
            }
        }
    }

    @Test
    void attributesAfterIntegrityAreIgnoredButIntegrityStillVerifies() throws Exception {
        StunMessage m = StunMessage.bindingRequest(TX, new Username("alice"));
        byte[] signed = encode(m, KEY, false);
        // Append an attribute after MESSAGE-INTEGRITY and fix the header length.
        ByteBuf buf = Unpooled.buffer();
        buf.writeBytes(signed);
        buf.writeShort(StunAttributeType.SOFTWARE).writeShort(4).writeInt(0x41414141);
        buf.setShort(2, buf.readableBytes() - 20);
        StunMessage decoded = StunCodec.decode(buf);
        assertThat(decoded.attribute(Software.class)).isEmpty();
        assertThat(StunCodec.verifyIntegrity(buf, KEY).check()).isEqualTo(IntegrityCheck.VALID);
    }

    // ------------------------------------------------------------ malformed STUN datagrams / malformed mapped
    // addresses: malformed input

    @Test
    void rejectsMalformedHeaders() {
        assertReason(new byte[19], StunDecodeException.Reason.TOO_SHORT);
        byte[] top = encode(StunMessage.bindingRequest(TX), null, false);
        top[0] |= (byte) 0xC0;
        assertReason(top, StunDecodeException.Reason.NOT_STUN);
        byte[] cookie = encode(StunMessage.bindingRequest(TX), null, false);
        cookie[4] ^= 1;
        assertReason(cookie, StunDecodeException.Reason.BAD_COOKIE);
        byte[] len = encode(StunMessage.bindingRequest(TX, new Software("abcd")), null, false);
        len[3] = 7; // not a multiple of 4
        assertReason(len, StunDecodeException.Reason.BAD_LENGTH);
        len[3] = 4; // a multiple of 4 but not what arrived
        assertReason(len, StunDecodeException.Reason.BAD_LENGTH);
    }

    @Test
    void rejectsAttributeLengthsPastTheEnd() {
        for (int attrLen : new int[] {0xFFFF, 5, 9, 0x8000}) {
            ByteBuf buf = header(8);
            buf.writeShort(StunAttributeType.SOFTWARE).writeShort(attrLen).writeInt(0x41414141);
            assertReason(ByteBufUtil.getBytes(buf), StunDecodeException.Reason.ATTRIBUTE_OVERFLOW);
        }
    }

    @Test
    void rejectsBadAddressAttributes() {
        // family 2 with an IPv4-sized value, unknown family 3, value under 4 bytes (malformed mapped addresses)
        int[][] cases = {{0x02, 8}, {0x03, 8}, {0x01, 20}, {0x01, 0}, {0x01, 2}};
        for (int type : new int[] {
            StunAttributeType.XOR_MAPPED_ADDRESS,
            StunAttributeType.MAPPED_ADDRESS,
            StunAttributeType.OTHER_ADDRESS,
            StunAttributeType.RESPONSE_ORIGIN
        }) {
            for (int[] c : cases) {
                int padded = (c[1] + 3) & ~3;
                ByteBuf buf = header(4 + padded);
                buf.writeShort(type).writeShort(c[1]);
                if (c[1] >= 2) {
                    buf.writeByte(0).writeByte(c[0]);
                    buf.writeZero(padded - 2);
                } else {
                    buf.writeZero(padded);
                }
                assertReason(ByteBufUtil.getBytes(buf), StunDecodeException.Reason.BAD_ATTRIBUTE);
            }
        }
    }

    @Test
    void rejectsTooManyAttributes() {
        ByteBuf buf = header(4 * (StunCodec.MAX_ATTRIBUTES + 1));
        for (int i = 0; i <= StunCodec.MAX_ATTRIBUTES; i++) {
            buf.writeShort(0x8050).writeShort(0);
        }
        assertReason(ByteBufUtil.getBytes(buf), StunDecodeException.Reason.TOO_MANY_ATTRIBUTES);
    }

    @Test
    void rejectsBadErrorCodeAndText() {
        ByteBuf buf = header(8);
        buf.writeShort(StunAttributeType.ERROR_CODE)
                .writeShort(4)
                .writeShort(0)
                .writeByte(7)
                .writeByte(0);
        assertReason(ByteBufUtil.getBytes(buf), StunDecodeException.Reason.BAD_ATTRIBUTE);
        ByteBuf text = header(8);
        text.writeShort(StunAttributeType.SOFTWARE)
                .writeShort(2)
                .writeByte(0xC3)
                .writeByte(0x28)
                .writeShort(0);
        assertReason(ByteBufUtil.getBytes(text), StunDecodeException.Reason.BAD_ATTRIBUTE);
    }

    @Test
    void constructorsRejectValuesThatCannotBeEncoded() {
        assertThatThrownBy(() -> new Software("x".repeat(764))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ErrorCode(700, "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new XorMappedAddress(InetSocketAddress.createUnresolved("example.org", 1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MessageIntegrity(new byte[19])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MessageIntegritySha256(new byte[18])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new StunMessage(StunClass.REQUEST, 0x1000, TX, List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void encodeIntoDirtyPooledBufferLeavesNoStaleBytes() throws Exception {
        // pooled-buffer reuse at the codec level: padding is written, never skipped.
        ByteBuf dirty = PooledByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            dirty.writeBytes(new byte[256].length == 256 ? filled(256, (byte) 0xAB) : null);
            dirty.clear();
            StunCodec.encode(StunMessage.bindingSuccess(TX, new Software("a")), dirty);
            byte[] out = ByteBufUtil.getBytes(dirty);
            assertThat(out).hasSize(28);
            assertThat(out[25]).isZero();
            assertThat(out[26]).isZero();
            assertThat(out[27]).isZero();
        } finally {
            dirty.release();
        }
    }

    @Test
    void looksLikeStunMatchesDecoderHeaderRules() {
        assertThat(StunCodec.looksLikeStun(Unpooled.wrappedBuffer(REQUEST))).isTrue();
        assertThat(StunCodec.looksLikeStun(Unpooled.wrappedBuffer(new byte[20])))
                .isFalse();
        byte[] dtls = REQUEST.clone();
        dtls[0] = 0x16;
        assertThat(StunCodec.looksLikeStun(Unpooled.wrappedBuffer(dtls))).isFalse();
    }

    @Test
    void integrityKeyIsNotPrinted() {
        assertThat(KEY.toString()).doesNotContain(PASSWORD);
    }

    // ------------------------------------------------------------ helpers

    static byte[] filled(int n, byte b) {
        byte[] a = new byte[n];
        java.util.Arrays.fill(a, b);
        return a;
    }

    private static ByteBuf header(int bodyLength) {
        ByteBuf buf = Unpooled.buffer();
        buf.writeShort(0x0001).writeShort(bodyLength).writeInt(StunMessage.MAGIC_COOKIE);
        TX.write(buf);
        return buf;
    }

    static byte[] encode(StunMessage m, Integrity key, boolean fingerprint) {
        ByteBuf buf = Unpooled.buffer();
        StunCodec.encode(m, buf, key, fingerprint);
        return ByteBufUtil.getBytes(buf);
    }

    private static byte[] encodeWithPad(StunMessage m, byte pad) {
        ByteBuf buf = Unpooled.buffer();
        StunCodec.encode(m, buf, KEY, true, pad);
        return ByteBufUtil.getBytes(buf);
    }

    private static StunMessage decodeQuietly(byte[] bytes) {
        try {
            return StunCodec.decode(Unpooled.wrappedBuffer(bytes));
        } catch (StunDecodeException e) {
            return null;
        }
    }

    private static void assertReason(byte[] bytes, StunDecodeException.Reason reason) {
        assertThatThrownBy(() -> StunCodec.decode(Unpooled.wrappedBuffer(bytes)))
                .isInstanceOfSatisfying(
                        StunDecodeException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }
}
