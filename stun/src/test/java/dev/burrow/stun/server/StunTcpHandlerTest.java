package dev.burrow.stun.server;

import static dev.burrow.stun.server.StunUdpHandlerTest.encode;
import static dev.burrow.stun.server.StunUdpHandlerTest.tailscaleRequest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.stun.codec.StunAttribute.XorMappedAddress;
import dev.burrow.stun.codec.StunCodec;
import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.codec.TransactionId;
import dev.burrow.stun.metrics.CountingStunMetrics;
import dev.burrow.stun.metrics.DropReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** TCP framing (RFC 8489 §6.2.2) and the TCP handler in an {@link EmbeddedChannel}. */
class StunTcpHandlerTest {
    private static final InetSocketAddress CLIENT = StunUdpHandlerTest.CLIENT;
    private final CountingStunMetrics metrics = new CountingStunMetrics();
    private final List<ByteBuf> written = new ArrayList<>();
    private EmbeddedChannel channel;

    @AfterEach
    void releaseEverything() {
        channel.finishAndReleaseAll();
        for (ByteBuf b : written) {
            assertThat(b.refCnt()).isZero();
        }
    }

    private EmbeddedChannel channel() {
        StunServerConfig config = StunServerConfig.udp(StunUdpHandlerTest.SERVER);
        BindingResponder responder = new BindingResponder(config, null, new UdpSockets(1), metrics);
        channel = new EmbeddedChannel() {
            @Override
            protected SocketAddress remoteAddress0() {
                return CLIENT;
            }
        };
        channel.pipeline().addLast(new StunTcpFrameDecoder(metrics), new StunTcpHandler(responder, metrics));
        return channel;
    }

    private void write(byte[] bytes) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(bytes.length).writeBytes(bytes);
        written.add(b);
        channel.writeInbound(b);
    }

    private List<StunMessage> responses() throws Exception {
        List<StunMessage> out = new ArrayList<>();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            try {
                out.add(StunCodec.decode(b));
            } finally {
                b.release();
            }
        }
        return out;
    }

    @Test
    void answersBackToBackMessagesSplitAnywhere() throws Exception {
        channel();
        TransactionId a = TransactionId.random();
        TransactionId b = TransactionId.random();
        byte[] two = concat(tailscaleRequest(a), tailscaleRequest(b));
        // byte by byte for the first few, then the rest in one piece
        for (int i = 0; i < 25; i++) {
            write(new byte[] {two[i]});
        }
        write(java.util.Arrays.copyOfRange(two, 25, two.length));
        List<StunMessage> r = responses();
        assertThat(r).extracting(StunMessage::transactionId).containsExactly(a, b);
        assertThat(r.get(0).attributes()).containsExactly(new XorMappedAddress(CLIENT));
        assertThat(channel.isActive()).isTrue();
    }

    @Test
    void badHeaderClosesTheConnection() throws Exception {
        channel();
        byte[] bad = tailscaleRequest(TransactionId.random());
        bad[4] = 0;
        write(bad);
        assertThat(responses()).isEmpty();
        assertThat(channel.isActive()).isFalse();
        assertThat(metrics.droppedCount(DropReason.BAD_COOKIE)).isEqualTo(1);
    }

    @Test
    void oversizedLengthClosesRightAfterTheHeader() throws Exception {
        channel();
        byte[] header = encode(StunMessage.bindingRequest(TransactionId.random()), null, false);
        header[2] = (byte) 0xFF;
        header[3] = (byte) 0xFC; // 65532 bytes announced
        write(header);
        assertThat(channel.isActive()).isFalse();
        assertThat(metrics.droppedCount(DropReason.MESSAGE_TOO_LARGE)).isEqualTo(1);
    }

    @Test
    void invalidBodyIsDroppedButTheConnectionKeepsServing() throws Exception {
        channel();
        byte[] bad = tailscaleRequest(TransactionId.random());
        bad[bad.length - 1] ^= 1; // wrong FINGERPRINT: well framed, not decodable
        write(bad);
        TransactionId ok = TransactionId.random();
        write(tailscaleRequest(ok));
        assertThat(responses()).extracting(StunMessage::transactionId).containsExactly(ok);
        assertThat(metrics.droppedCount(DropReason.BAD_FINGERPRINT)).isEqualTo(1);
    }

    @Test
    void idleConnectionsAreClosedAndCounted() {
        channel();
        channel.pipeline().fireUserEventTriggered(io.netty.handler.timeout.IdleStateEvent.ALL_IDLE_STATE_EVENT);
        assertThat(channel.isActive()).isFalse();
        assertThat(metrics.droppedCount(DropReason.TCP_IDLE)).isEqualTo(1);
    }

    @Test
    void stunOverTcpDoesNotHonourChangeRequest() throws Exception {
        channel();
        write(encode(
                StunMessage.bindingRequest(
                        TransactionId.random(), new dev.burrow.stun.codec.StunAttribute.ChangeRequest(true, true)),
                null,
                false));
        StunMessage r = responses().get(0);
        assertThat(r.attribute(dev.burrow.stun.codec.StunAttribute.ErrorCode.class)
                        .orElseThrow()
                        .code())
                .isEqualTo(420);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    static byte[] bytes(ByteBuf b) {
        return ByteBufUtil.getBytes(b);
    }
}
