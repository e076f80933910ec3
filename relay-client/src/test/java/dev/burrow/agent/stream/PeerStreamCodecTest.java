package dev.burrow.agent.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerStreamCodecTest {

    static final List<PeerStreamMessage> SAMPLES = List.of(
            PeerStreamMessage.Open.of("web"),
            new PeerStreamMessage.Open(7, "a".repeat(63)),
            PeerStreamMessage.Status.ok(),
            new PeerStreamMessage.Status(StreamStatusCode.NOT_ALLOWED, "node abc is not on the allow list"),
            new PeerStreamMessage.Status(StreamStatusCode.INTERNAL, "é".repeat(127)),
            new PeerStreamMessage.Unknown(0x7F, new byte[] {1, 2, 3}));

    static byte[] encode(PeerStreamMessage m) {
        ByteBuf b = PeerStreamCodec.encode(m, UnpooledByteBufAllocator.DEFAULT);
        try {
            return ByteBufUtil.getBytes(b);
        } finally {
            b.release();
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Test
    void goldenOpen() {
        assertThat(hex(encode(PeerStreamMessage.Open.of("web")))).isEqualTo("01" + "0006" + "0001" + "03" + "776562");
    }

    @Test
    void goldenStatusOk() {
        assertThat(hex(encode(PeerStreamMessage.Status.ok()))).isEqualTo("02" + "0002" + "00" + "00");
    }

    @Test
    void goldenStatusRefusal() {
        assertThat(hex(encode(new PeerStreamMessage.Status(StreamStatusCode.SERVICE_UNKNOWN, "no"))))
                .isEqualTo("02" + "0004" + "02" + "02" + "6e6f");
    }

    @Test
    void everySampleRoundTripsAndEncodedLengthMatches() {
        for (PeerStreamMessage m : SAMPLES) {
            byte[] bytes = encode(m);
            assertThat(bytes.length).as("encodedLength %s", m).isEqualTo(PeerStreamCodec.encodedLength(m));
            PeerStreamMessage back = PeerStreamCodec.decodeWhole(Unpooled.wrappedBuffer(bytes));
            assertThat(back).isEqualTo(m);
        }
    }

    @Test
    void unknownStatusCodeIsKeptAsUnknown() {
        PeerStreamMessage m = PeerStreamCodec.decodeWhole(
                Unpooled.wrappedBuffer(HexFormat.of().parseHex("0200020900")));
        assertThat(m).isEqualTo(new PeerStreamMessage.Status(StreamStatusCode.INTERNAL, ""));
        m = PeerStreamCodec.decodeWhole(Unpooled.wrappedBuffer(HexFormat.of().parseHex("0200026400")));
        assertThat(((PeerStreamMessage.Status) m).code()).isEqualTo(StreamStatusCode.UNKNOWN);
    }

    @Test
    void trailingFieldsFromLaterVersionsAreIgnored() {
        PeerStreamMessage m = PeerStreamCodec.decodeWhole(
                Unpooled.wrappedBuffer(HexFormat.of().parseHex("010008000103776562ffff")));
        assertThat(m).isEqualTo(PeerStreamMessage.Open.of("web"));
    }

    @Test
    void malformedPayloadsAreTypedErrors() {
        for (String h : List.of(
                "010000",
                "01000100",
                "0100030001ff",
                "0100050001024141",
                "0200010b",
                "020000",
                "010006000103ffffff",
                "01")) {
            assertThatThrownBy(() -> PeerStreamCodec.decodeWhole(
                            Unpooled.wrappedBuffer(HexFormat.of().parseHex(h))))
                    .as(h)
                    .isInstanceOf(PeerStreamDecodeException.class);
        }
    }

    @Test
    void longMessagesAreCutAtACharacterBoundary() {
        PeerStreamMessage.Status s = new PeerStreamMessage.Status(StreamStatusCode.INTERNAL, "😀".repeat(100));
        assertThat(s.message().getBytes(java.nio.charset.StandardCharsets.UTF_8).length)
                .isLessThanOrEqualTo(255);
        assertThat(s.message()).isEqualTo("😀".repeat(63));
    }

    @Test
    void decoderEmitsOneMessageThenPassesDataThrough() {
        EmbeddedChannel ch = new EmbeddedChannel(new PreambleDecoder());
        byte[] open = encode(PeerStreamMessage.Open.of("web"));
        // Split the header to check partial input, then the message with data right behind it.
        ch.writeInbound(Unpooled.wrappedBuffer(open, 0, 2));
        assertThat((Object) ch.readInbound()).isNull();
        ByteBuf rest = Unpooled.buffer();
        rest.writeBytes(open, 2, open.length - 2).writeBytes(new byte[] {9, 8, 7});
        ch.writeInbound(rest);
        assertThat((Object) ch.readInbound()).isEqualTo(PeerStreamMessage.Open.of("web"));
        ByteBuf data = ch.readInbound();
        assertThat(ByteBufUtil.getBytes(data)).containsExactly(9, 8, 7);
        data.release();
        assertThat(ch.pipeline().get(PreambleDecoder.class)).isNull();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
        ByteBuf more = ch.readInbound();
        assertThat(more.readableBytes()).isEqualTo(1);
        more.release();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void decoderRejectsOversizedLengthBeforeBuffering() {
        EmbeddedChannel ch = new EmbeddedChannel(new PreambleDecoder());
        assertThatThrownBy(() ->
                        ch.writeInbound(Unpooled.wrappedBuffer(HexFormat.of().parseHex("01ffff"))))
                .isInstanceOf(DecoderException.class)
                .hasCauseInstanceOf(PeerStreamDecodeException.class);
        ch.finishAndReleaseAll();
    }

    @Test
    void statusCodesMapToCircuitReasonsAndBack() {
        for (StreamStatusCode c : StreamStatusCode.values()) {
            assertThat(StreamStatusCode.fromCode(c.code())).isEqualTo(c);
            if (c != StreamStatusCode.OK
                    && c != StreamStatusCode.UNKNOWN
                    && c != StreamStatusCode.INTERNAL
                    && c != StreamStatusCode.UNSUPPORTED_VERSION) {
                assertThat(StreamStatusCode.fromCircuitReason(c.toCircuitReason()))
                        .isEqualTo(c);
            }
        }
    }
}
