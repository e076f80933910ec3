package dev.burrow.stun.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.stun.metrics.CountingStunMetrics;
import dev.burrow.stun.metrics.DropReason;
import dev.burrow.stun.metrics.StunProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Jazzer fuzz test of the server's request path (malformed STUN datagrams, STUN amplification) under the most permissive configuration
 * (credentials, SOFTWARE, FINGERPRINT): nothing but a reply or a counted drop comes out, never an
 * exception, and every reply stays small. Seeds are replayed in CI; {@code JAZZER_FUZZ=1} fuzzes.
 */
class StunResponderFuzzTest {
    private static final InetSocketAddress SENDER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40000);
    private static final CountingStunMetrics METRICS = new CountingStunMetrics();
    private static final BindingResponder RESPONDER = new BindingResponder(
            StunServerConfig.udp(SENDER)
                    .withSoftware("burrow")
                    .withFingerprint(true)
                    .withCredentials(u -> u.equals("alice") ? "pw".getBytes(StandardCharsets.UTF_8) : null),
            new RateLimit(1_000_000, 1_000_000, 16).newLimiter(),
            new UdpSockets(1),
            METRICS);

    @FuzzTest(maxDuration = "60s")
    void respond(byte[] input) {
        ByteBuf request = Unpooled.wrappedBuffer(input);
        BindingResponder.Reply reply =
                RESPONDER.respond(request, SENDER, 0, StunProtocol.UDP, UnpooledByteBufAllocator.DEFAULT);
        assertThat(request.readerIndex()).isZero();
        if (reply != null) {
            try {
                // header + XOR-MAPPED (8) or ERROR-CODE (4) + UNKNOWN-ATTRIBUTES (<= 32) + SOFTWARE (8) + MI-SHA256
                // (36) + FINGERPRINT (8)
                assertThat(reply.content().readableBytes()).isLessThanOrEqualTo(20 + 12 + 4 + 4 + 32 + 12 + 36 + 8);
            } finally {
                reply.content().release();
            }
        }
        assertThat(METRICS.droppedCount(DropReason.INTERNAL_ERROR)).isZero();
    }
}
