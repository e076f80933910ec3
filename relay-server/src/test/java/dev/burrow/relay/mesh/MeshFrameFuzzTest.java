package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.protocol.frame.ProtocolViolation;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;

/**
 * Arbitrary bytes into the mesh frame decoder, before and after authentication: the only failure
 * allowed is a {@link ProtocolViolation}; every buffer is released (the input's reference count is
 * checked); and every frame that decodes (except {@code Unknown} and {@code Datagram}) re-encodes to
 * {@link MeshCodec#encodedLength} bytes that decode to a frame that re-encodes to the same bytes. Seeds: one encoding of every
 * frame type ({@code MeshFrameFuzzTestInputs/}). Run for real with {@code JAZZER_FUZZ=1}.
 */
class MeshFrameFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void decoderNeverThrowsAnythingButProtocolViolations(byte[] input) {
        for (boolean authenticated : new boolean[] {false, true}) {
            MeshFrameDecoder decoder = new MeshFrameDecoder();
            if (authenticated) {
                decoder.authenticated();
            }
            EmbeddedChannel ch = new EmbeddedChannel(decoder);
            ByteBuf in = Unpooled.wrappedBuffer(input);
            try {
                int half = input.length / 2;
                ch.writeInbound(in.retainedSlice(0, half));
                ch.writeInbound(in.retainedSlice(half, input.length - half));
            } catch (DecoderException e) {
                assertThat(e.getCause()).isInstanceOf(ProtocolViolation.class);
            } finally {
                in.release();
                Object o;
                while ((o = ch.readInbound()) != null) {
                    if (o instanceof MeshFrame f
                            && !(f instanceof MeshFrame.Unknown)
                            && !(f instanceof MeshFrame.Datagram)) {
                        assertRoundTrip(f);
                    }
                    ReferenceCountUtil.release(o);
                }
                ch.finishAndReleaseAll();
                if (input.length > 0) { // an empty input wraps to the shared EMPTY_BUFFER, which is never freed
                    assertThat(in.refCnt())
                            .as("the decoder released every slice of the input")
                            .isZero();
                }
            }
        }
    }

    /** encode, decode, encode again: the same bytes, of the announced length (no field silently lost). */
    private static void assertRoundTrip(MeshFrame f) {
        ByteBuf first = Unpooled.buffer();
        ByteBuf second = Unpooled.buffer();
        MeshFrame again = null;
        try {
            MeshCodec.encode(f, first);
            assertThat(first.readableBytes()).as("encodedLength of %s", f).isEqualTo(MeshCodec.encodedLength(f));
            MeshFrameType type = MeshCodec.type(f);
            again = MeshCodec.decode(
                    type,
                    first.slice(
                            dev.burrow.protocol.frame.FrameLimits.HEADER_LENGTH,
                            first.readableBytes() - dev.burrow.protocol.frame.FrameLimits.HEADER_LENGTH));
            MeshCodec.encode(again, second);
            assertThat(io.netty.buffer.ByteBufUtil.getBytes(second))
                    .as("%s re-encodes to the same bytes", f)
                    .isEqualTo(io.netty.buffer.ByteBufUtil.getBytes(first));
        } finally {
            ReferenceCountUtil.release(again);
            first.release();
            second.release();
        }
    }
}
