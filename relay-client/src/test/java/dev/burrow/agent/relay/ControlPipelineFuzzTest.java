package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;

/**
 * The client's control pipeline (decoder, encoder, control handler) fed arbitrary bytes after a
 * valid SERVER_HELLO (and, in a second round, after SERVER_ACCEPT): no exception escapes the
 * pipeline and every buffer is released (leaks show up under the paranoid detector). Seeds in
 * {@code ControlPipelineFuzzTestInputs/}; run for real with {@code JAZZER_FUZZ=1}.
 */
class ControlPipelineFuzzTest {
    private static final NodeIdentity IDENTITY = NodeIdentity.ephemeral("fuzz");
    private static final ControlHandlerTest.Events EVENTS = new ControlHandlerTest.Events();

    /** Writing to a closed EmbeddedChannel is a harness error, not the pipeline's: release instead. */
    private static void writeIfOpen(EmbeddedChannel ch, ByteBuf b) {
        if (ch.isOpen()) {
            ch.writeInbound(b);
        } else {
            b.release();
        }
    }

    @FuzzTest(maxDuration = "30s")
    void arbitraryBytesAfterAValidHelloNeverEscape(byte[] input) {
        for (boolean accepted : new boolean[] {false, true}) {
            EmbeddedChannel ch = new EmbeddedChannel(
                    new RelayFrameDecoder(FramePolicy.CLIENT_CONTROL),
                    RelayFrameEncoder.INSTANCE,
                    new ControlHandler(
                            IDENTITY,
                            true,
                            "fuzz",
                            Duration.ofHours(1),
                            Duration.ofSeconds(5),
                            RelayClientMetrics.NOOP,
                            EVENTS,
                            System::nanoTime));
            ByteBuf start = Unpooled.buffer();
            FrameCodec.encode(
                    new RelayFrame.ServerHello(RelayProtocol.VERSION, RelayProtocol.MIN_VERSION, new byte[32], "fuzz"),
                    start);
            if (accepted) {
                FrameCodec.encode(new RelayFrame.ServerAccept(30_000, 65_536, "127.0.0.1:1"), start);
            }
            ByteBuf in = Unpooled.wrappedBuffer(input);
            try {
                ch.writeInbound(start);
                int half = input.length / 2;
                writeIfOpen(ch, in.retainedSlice(0, half));
                writeIfOpen(ch, in.retainedSlice(half, input.length - half));
                ch.checkException(); // throws if anything reached the end of the pipeline
            } finally {
                in.release();
                Object o;
                while ((o = ch.readOutbound()) != null) {
                    ReferenceCountUtil.release(o);
                }
                while ((o = ch.readInbound()) != null) {
                    ReferenceCountUtil.release(o);
                }
                ch.finishAndReleaseAll();
            }
            if (input.length > 0) {
                assertThat(in.refCnt()).isZero();
            }
            EVENTS.frames.clear();
            EVENTS.closed.clear();
        }
    }
}
