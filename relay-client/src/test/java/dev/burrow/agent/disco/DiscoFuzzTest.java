package dev.burrow.agent.disco;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.identity.NodeIdentity;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Arbitrary bytes into the disco decoders and the box: only {@link DiscoDecodeException} may come
 * out of the decoders, the box never throws, a decoded message re-encodes to an equal message.
 * Seeds in {@code DiscoFuzzTestInputs/}. Run for real with {@code JAZZER_FUZZ=1}.
 */
class DiscoFuzzTest {
    private static final NodeIdentity SELF = NodeIdentity.ephemeral("fuzz");
    private static final DiscoBox BOX = new DiscoBox(SELF, k -> true);

    @FuzzTest(maxDuration = "30s")
    void decodersNeverThrowAnythingElse(byte[] input) {
        try {
            DiscoMessage m = DiscoCodec.decodeMessage(input);
            assertThat(DiscoCodec.decodeMessage(DiscoCodec.encodeMessage(m))).isEqualTo(m);
        } catch (DiscoDecodeException expected) {
            // dropped
        }
        ByteBuf buf = Unpooled.wrappedBuffer(input);
        try {
            DiscoCodec.decodePacket(buf);
        } catch (DiscoDecodeException expected) {
            // dropped
        }
        DiscoBox.Result r = BOX.open(buf);
        assertThat(r.opened()).isNull(); // nobody but a real peer can seal a box
        assertThat(buf.readerIndex()).isZero();
    }
}
