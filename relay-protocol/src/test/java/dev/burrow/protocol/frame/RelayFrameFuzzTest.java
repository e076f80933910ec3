package dev.burrow.protocol.frame;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;

/**
 * Arbitrary bytes into the frame decoder under every policy: the only failure allowed is a
 * {@link ProtocolViolation}, and every buffer is released. Seeds: one encoding of every frame type
 * (see {@code RelayFrameFuzzTestInputs/}). Run for real with {@code JAZZER_FUZZ=1}.
 */
class RelayFrameFuzzTest {
    private static final FramePolicy[] POLICIES = {
        FramePolicy.RELAY_AWAITING_AUTH, FramePolicy.RELAY_CONTROL, FramePolicy.RELAY_AWAITING_ATTACH,
        FramePolicy.CLIENT_CONTROL, FramePolicy.CLIENT_AWAITING_ATTACHED,
    };

    @FuzzTest(maxDuration = "30s")
    void decoderNeverThrowsAnythingButProtocolViolations(byte[] input) {
        for (FramePolicy policy : POLICIES) {
            EmbeddedChannel ch = new EmbeddedChannel(new RelayFrameDecoder(policy));
            ByteBuf in = Unpooled.wrappedBuffer(input);
            try {
                // Split the input in two to exercise partial frames too.
                int half = input.length / 2;
                ch.writeInbound(in.retainedSlice(0, half));
                ch.writeInbound(in.retainedSlice(half, input.length - half));
            } catch (DecoderException e) {
                assertThat(e.getCause()).isInstanceOf(ProtocolViolation.class);
            } finally {
                in.release();
                Object o;
                while ((o = ch.readInbound()) != null) {
                    ReferenceCountUtil.release(o);
                }
                ch.finishAndReleaseAll();
            }
        }
    }
}
