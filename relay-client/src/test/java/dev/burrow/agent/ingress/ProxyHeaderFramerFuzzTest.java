package dev.burrow.agent.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.util.ReferenceCountUtil;

/**
 * Arbitrary bytes (split at an arbitrary point) into the PROXY v2 framer an ingress circuit starts
 * with: the only failure allowed is an {@link HAProxyProtocolException}; at most one header comes
 * out, followed by the remaining bytes untouched; every buffer is released (paranoid leak
 * detection). Seeds in {@code ProxyHeaderFramerFuzzTestInputs/}. Run for real with {@code JAZZER_FUZZ=1}.
 */
class ProxyHeaderFramerFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void framerFailsOnlyWithAProtocolError(byte[] input) {
        EmbeddedChannel ch = new EmbeddedChannel(new ProxyHeaderFramer());
        ByteBuf in = Unpooled.wrappedBuffer(input);
        int split = input.length == 0 ? 0 : (input[0] & 0xFF) % (input.length + 1);
        try {
            ch.writeInbound(in.retainedSlice(0, split));
            ch.writeInbound(in.retainedSlice(split, input.length - split));
        } catch (DecoderException e) {
            // HAProxyProtocolException is a DecoderException: thrown as is, or wrapped once
            assertThat(e instanceof HAProxyProtocolException || e.getCause() instanceof HAProxyProtocolException)
                    .as("unexpected failure: %s", e)
                    .isTrue();
        } finally {
            in.release();
            int headers = 0;
            Object o;
            while ((o = ch.readInbound()) != null) {
                if (o instanceof HAProxyMessage) {
                    headers++;
                }
                ReferenceCountUtil.release(o);
            }
            assertThat(headers).isLessThanOrEqualTo(1);
            try {
                ch.finishAndReleaseAll(); // closing decodes what is left once more: the same refusal again
            } catch (DecoderException e) {
                assertThat(e instanceof HAProxyProtocolException || e.getCause() instanceof HAProxyProtocolException)
                        .as("unexpected failure on close: %s", e)
                        .isTrue();
            }
        }
    }
}
