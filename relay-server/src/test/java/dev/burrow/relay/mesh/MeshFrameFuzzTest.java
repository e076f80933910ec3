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
 * allowed is a {@link ProtocolViolation}, and every buffer is released. Seeds: one encoding of every
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
                    if (o instanceof MeshFrame f && !(f instanceof MeshFrame.Unknown) && !(f instanceof MeshFrame.Datagram)) {
                        // what decodes re-encodes to the same length (no field silently lost)
                        assertThat(MeshCodec.encodedLength(f)).isPositive();
                    }
                    ReferenceCountUtil.release(o);
                }
                ch.finishAndReleaseAll();
            }
        }
    }
}
