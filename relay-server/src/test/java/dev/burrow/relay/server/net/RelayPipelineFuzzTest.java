package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.testing.EmbeddedRelay;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * Jazzer fuzz tests of the server pipeline on {@link EmbeddedChannel}s (oversized frame lengths to codec round trips, oversized pre-auth input): arbitrary bytes
 * at the HTTP entry (upgrade to raw frames or WebSocket), before authentication, and on an
 * authenticated control connection. Properties: no exception reaches the end of the pipeline, and
 * every buffer is released (the input's reference count drops to zero; the paranoid leak detector
 * watches the rest). Without {@code JAZZER_FUZZ} the seeds in {@code RelayPipelineFuzzTestInputs/}
 * are replayed.
 */
class RelayPipelineFuzzTest {
    private static final EmbeddedRelay RELAY = new EmbeddedRelay();
    private static final NodeIdentity ALICE = NodeIdentity.ephemeral("alice");

    /** Feeds {@code input} in chunks whose sizes come from the input, so partial reads are exercised. */
    private static void feed(EmbeddedChannel ch, byte[] input) {
        int chunk = input.length == 0 ? 1 : 1 + (input[0] & 0x3F) * 17;
        List<ByteBuf> fed = new java.util.ArrayList<>();
        for (int off = 0; off < input.length && ch.isOpen(); off += chunk) {
            ByteBuf b = Unpooled.copiedBuffer(input, off, Math.min(chunk, input.length - off));
            fed.add(b);
            ch.writeInbound(b);
            ch.runPendingTasks();
        }
        ch.checkException();
        ch.finishAndReleaseAll();
        ch.checkException();
        for (ByteBuf b : fed) {
            assertThat(b.refCnt()).as("input buffer released").isZero();
        }
    }

    @FuzzTest(maxDuration = "60s")
    void beforeAuth(byte[] input) {
        feed(RELAY.control(), input);
        assertThat(RELAY.rc.registry().size()).isZero();
    }

    @FuzzTest(maxDuration = "60s")
    void authenticated(byte[] input) {
        EmbeddedChannel ch = RELAY.control();
        RelayFrame.ServerHello hello =
                (RelayFrame.ServerHello) EmbeddedRelay.outbound(ch).get(0);
        ch.writeInbound(EmbeddedRelay.encode(new ClientFrame.ClientAuth(
                RelayProtocol.VERSION,
                1,
                ALICE.nodeKey(),
                RelayAuthProof.sign(ALICE, hello.challenge()),
                List.of(),
                "fuzz")));
        List<RelayFrame> accepted = EmbeddedRelay.outbound(ch);
        accepted.forEach(ReferenceCountUtil::release);
        feed(ch, input);
        assertThat(RELAY.rc.registry().lookup(ALICE.nodeKey())).isNull();
    }

    @FuzzTest(maxDuration = "60s")
    void httpEntry(byte[] input) {
        EmbeddedChannel ch = new EmbeddedChannel(
                new HttpServerCodec(
                        new HttpDecoderConfig().setMaxInitialLineLength(1024).setMaxHeaderSize(8192)),
                new HttpRouter(RELAY.rc, false));
        feed(ch, input);
        assertThat(RELAY.rc.registry().size()).isZero();
    }
}
