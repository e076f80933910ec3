package dev.burrow.stun.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.stun.codec.StunAttribute.XorMappedAddress;
import dev.burrow.stun.codec.StunClass;
import dev.burrow.stun.codec.StunCodec;
import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.codec.TransactionId;
import dev.burrow.stun.metrics.CountingStunMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A client attached to a shared socket: STUN answers are consumed, everything else passes through. */
class StunDemuxHandlerTest {
    private static final InetSocketAddress SERVER = new InetSocketAddress(ip("192.0.2.1"), 3478);
    private static final InetSocketAddress PEER = new InetSocketAddress(ip("198.51.100.9"), 41641);
    private static final InetSocketAddress MAPPED = new InetSocketAddress(ip("203.0.113.5"), 60000);

    static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void stunAnswersAreConsumedAndPeerTrafficPassesThrough() throws Exception {
        CountingStunMetrics metrics = new CountingStunMetrics();
        List<DatagramPacket> app = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel();
        StunClient client = StunClient.attach(channel, RetransmissionPolicy.RFC8489, metrics);
        channel.pipeline().addLast(new StunDemuxHandler(client), new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                app.add((DatagramPacket) msg);
            }
        });

        CompletableFuture<BindingResult> future = client.bind(SERVER);
        channel.runPendingTasks();
        DatagramPacket request = channel.readOutbound();
        assertThat(request.recipient()).isEqualTo(SERVER);
        StunMessage sent = StunCodec.decode(request.content());
        assertThat(sent.messageClass()).isEqualTo(StunClass.REQUEST);
        request.release();

        // Peer traffic, a peer's STUN request (ICE check) and an unknown STUN answer all pass through.
        DatagramPacket peerData = packet(new byte[] {0x17, 3, 3, 0, 1, 9}, PEER);
        DatagramPacket peerCheck = packet(encode(StunMessage.bindingRequest(TransactionId.random())), PEER);
        DatagramPacket stranger = packet(
                encode(StunMessage.bindingSuccess(TransactionId.random(), new XorMappedAddress(MAPPED))), SERVER);
        DatagramPacket answer =
                packet(encode(StunMessage.bindingSuccess(sent.transactionId(), new XorMappedAddress(MAPPED))), SERVER);
        DatagramPacket duplicate =
                packet(encode(StunMessage.bindingSuccess(sent.transactionId(), new XorMappedAddress(MAPPED))), SERVER);
        channel.writeInbound(peerData, peerCheck, stranger, answer, duplicate);

        assertThat(future).as(metrics.toString()).isCompleted();
        assertThat(future.get().mappedAddress()).isEqualTo(MAPPED);
        assertThat(answer.refCnt()).as("consumed answer released").isZero();
        assertThat(app).containsExactly(peerData, peerCheck, stranger, duplicate);
        for (DatagramPacket p : app) {
            assertThat(p.refCnt())
                    .as("passed on, still owned by the next handler")
                    .isEqualTo(1);
            p.release();
        }
        client.close();
        assertThat(channel.isActive())
                .as("an attached client leaves the shared channel open")
                .isTrue();
        assertThat(channel.finishAndReleaseAll()).isFalse();
    }

    private static DatagramPacket packet(byte[] bytes, InetSocketAddress from) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(bytes.length).writeBytes(bytes);
        return new DatagramPacket(b, new InetSocketAddress(0), from);
    }

    private static byte[] encode(StunMessage m) {
        ByteBuf b = Unpooled.buffer();
        StunCodec.encode(m, b);
        return ByteBufUtil.getBytes(b);
    }
}
