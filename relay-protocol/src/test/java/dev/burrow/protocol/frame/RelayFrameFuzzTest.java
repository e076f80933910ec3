package dev.burrow.protocol.frame;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;

/**
 * Arbitrary bytes into the frame decoder under every policy: the only failure allowed is a
 * {@link ProtocolViolation}; every buffer is released (the input's reference count is checked);
 * and every frame that decodes (except {@code Unknown}) re-encodes to {@link FrameCodec#encodedLength}
 * bytes that decode to a frame that re-encodes to the very same bytes (no field lost or altered). Seeds: one encoding of every frame type
 * (see {@code RelayFrameFuzzTestInputs/}). Run for real with {@code JAZZER_FUZZ=1}.
 */
class RelayFrameFuzzTest {
    private static final FramePolicy[] POLICIES = {
        FramePolicy.RELAY_AWAITING_AUTH,
        FramePolicy.RELAY_CONTROL,
        FramePolicy.RELAY_AWAITING_ATTACH,
        FramePolicy.CLIENT_CONTROL,
        FramePolicy.CLIENT_AWAITING_ATTACHED,
    };

    @FuzzTest(maxDuration = "30s")
    void decoderNeverThrowsAnythingButProtocolViolations(byte[] input) {
        for (int i = 0; i < POLICIES.length; i++) {
            FramePolicy policy = POLICIES[i];
            boolean fromClients = i < 3; // the relay's policies read what clients send
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
                try {
                    while ((o = ch.readInbound()) != null) {
                        try {
                            if (o instanceof Frame f && !(f instanceof Frame.Unknown)) {
                                assertRoundTrip(f, fromClients);
                            }
                        } finally {
                            ReferenceCountUtil.release(o);
                        }
                    }
                } finally {
                    ch.finishAndReleaseAll();
                }
                if (input.length > 0) { // an empty input wraps to the shared EMPTY_BUFFER, which is never freed
                    assertThat(in.refCnt())
                            .as("the decoder released every slice of the input")
                            .isZero();
                }
            }
        }
    }

    /** encode, decode, encode again: the same bytes, of the announced length. */
    private static void assertRoundTrip(Frame f, boolean fromClients) {
        ByteBuf first = Unpooled.buffer();
        ByteBuf second = Unpooled.buffer();
        Frame again = null;
        try {
            FrameCodec.encode(f, first);
            assertThat(first.readableBytes()).as("encodedLength of %s", f).isEqualTo(FrameCodec.encodedLength(f));
            FrameType type = FrameType.fromCode(first.getUnsignedByte(0));
            int length = first.getInt(1);
            assertThat(length).isEqualTo(first.readableBytes() - FrameLimits.HEADER_LENGTH);
            ByteBuf payload = first.slice(FrameLimits.HEADER_LENGTH, length);
            again = fromClients
                    ? FrameCodec.decodeClientFrame(type, payload)
                    : FrameCodec.decodeRelayFrame(type, payload);
            FrameCodec.encode(again, second);
            assertThat(ByteBufUtil.getBytes(second))
                    .as("%s re-encodes to the same bytes", f)
                    .isEqualTo(ByteBufUtil.getBytes(first));
        } finally {
            ReferenceCountUtil.release(again);
            first.release();
            second.release();
        }
    }
}
