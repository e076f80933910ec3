package dev.burrow.stun.codec;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

/**
 * Jazzer fuzz test of the decoder (attack: malformed STUN datagrams). Without JAZZER_FUZZ it replays the seeds
 * in {@code StunDecoderFuzzTestInputs/decode/} (the RFC 5769 vectors and malformed cases) as a
 * regression test; with {@code JAZZER_FUZZ=1} it fuzzes. Properties: only
 * {@link StunDecodeException} may come out, the input's indices do not move, and whatever
 * decodes re-encodes to a message that decodes to the same record with the same length.
 */
class StunDecoderFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void decode(byte[] input) {
        ByteBuf buf = Unpooled.wrappedBuffer(input);
        StunMessage m;
        try {
            m = StunCodec.decode(buf);
        } catch (StunDecodeException expected) {
            return;
        }
        assertThat(buf.readerIndex()).isZero();
        ByteBuf again = Unpooled.buffer(m.encodedLength());
        StunCodec.encode(m, again);
        assertThat(again.readableBytes()).isEqualTo(m.encodedLength());
        try {
            StunMessage back = StunCodec.decode(again);
            assertThat(back).isEqualTo(m);
        } catch (StunDecodeException e) {
            // Re-encoding drops attributes ignored after MESSAGE-INTEGRITY and keeps decoded MAC/CRC
            // values, so a FINGERPRINT may no longer match: that is the only allowed failure.
            assertThat(e.reason()).as(ByteBufUtil.hexDump(input)).isIn(StunDecodeException.Reason.BAD_FINGERPRINT);
        }
    }
}
