package dev.burrow.agent.udp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.identity.NodeIdentity;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Arbitrary bytes into the UDP-service decoders and the box: only {@link UdpDecodeException} may
 * come out of the decoders, the box never throws and never opens a forgery, a decoded message
 * re-encodes to an equal message. Seeds in {@code UdpFuzzTestInputs/}. Run for real with
 * {@code JAZZER_FUZZ=1}.
 */
class UdpFuzzTest {
    private static final UdpBox BOX = new UdpBox(NodeIdentity.ephemeral("fuzz"));

    @FuzzTest(maxDuration = "30s")
    void decodersNeverThrowAnythingElse(byte[] input) {
        try {
            UdpMessage m = UdpCodec.decodeMessage(input);
            assertThat(UdpCodec.decodeMessage(UdpCodec.encodeMessage(m))).isEqualTo(m);
        } catch (UdpDecodeException expected) {
            // dropped
        }
        ByteBuf buf = Unpooled.wrappedBuffer(input);
        try {
            UdpCodec.decodePacket(buf);
        } catch (UdpDecodeException expected) {
            // dropped
        }
        UdpBox.Result r = BOX.open(buf);
        assertThat(r.opened()).isNull();
        assertThat(buf.readerIndex()).isZero();
    }
}
