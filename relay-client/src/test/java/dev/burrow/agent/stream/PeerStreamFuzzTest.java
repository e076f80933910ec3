package dev.burrow.agent.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;

/**
 * Arbitrary bytes into the preamble decoder and codec: the only failure allowed is a
 * {@link PeerStreamDecodeException}, a decoded message re-encodes, and every buffer is released.
 * Seeds in {@code PeerStreamFuzzTestInputs/}. Run for real with {@code JAZZER_FUZZ=1}.
 */
class PeerStreamFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void preambleDecoderNeverThrowsAnythingElse(byte[] input) {
        EmbeddedChannel ch = new EmbeddedChannel(new PreambleDecoder());
        ByteBuf in = Unpooled.wrappedBuffer(input);
        try {
            int half = input.length / 2;
            ch.writeInbound(in.retainedSlice(0, half));
            ch.writeInbound(in.retainedSlice(half, input.length - half));
        } catch (DecoderException e) {
            assertThat(e.getCause()).isInstanceOf(PeerStreamDecodeException.class);
        } finally {
            in.release();
            Object o;
            while ((o = ch.readInbound()) != null) {
                if (o instanceof PeerStreamMessage m
                        && !(m instanceof PeerStreamMessage.Unknown u
                                && u.payload().length > PeerStreamLimits.MAX_PAYLOAD)) {
                    ByteBuf again = PeerStreamCodec.encode(m, io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
                    assertThat(PeerStreamCodec.decodeWhole(again)).isEqualTo(m);
                    again.release();
                }
                ReferenceCountUtil.release(o);
            }
            ch.finishAndReleaseAll();
        }
    }
}
