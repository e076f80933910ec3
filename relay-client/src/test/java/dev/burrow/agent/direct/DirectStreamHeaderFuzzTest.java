package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;

/**
 * Arbitrary bytes, in two reads, into the direct stream acceptor: it either hands over a stream with
 * a valid service name (which re-encodes to the bytes it came from) or closes; nothing is thrown
 * and every buffer is released. Seeds in {@code DirectStreamHeaderFuzzTestInputs/}.
 */
class DirectStreamHeaderFuzzTest {
    private static final NodeKey PEER = NodeIdentity.ephemeral("fuzz").nodeKey();
    /** Stands in for the QUIC connection's TLS session (the acceptor only passes it on). */
    private static final SSLSession SESSION = newSession();

    private static SSLSession newSession() {
        try {
            return SSLContext.getDefault().createSSLEngine().getSession();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest(maxDuration = "20s")
    void acceptorNeverThrows(byte[] input) {
        List<InboundStream> got = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new DirectStreamAcceptor(PEER, SESSION, got::add));
        int half = input.length / 2;
        ch.writeInbound(Unpooled.copiedBuffer(input, 0, half));
        if (ch.isOpen()) {
            ch.writeInbound(Unpooled.copiedBuffer(input, half, input.length - half));
        }
        if (!got.isEmpty()) {
            String service = got.get(0).announcedService();
            assertThat(DirectStreamHeader.isValidService(service)).isTrue();
            ByteBuf again = DirectStreamHeader.encode(service, io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
            assertThat(again.readableBytes()).isLessThanOrEqualTo(input.length);
            again.release();
        }
        ch.finishAndReleaseAll();
    }
}
