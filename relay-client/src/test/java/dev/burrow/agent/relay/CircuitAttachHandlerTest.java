package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.Promise;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The attach handshake and hand-over of a circuit connection, including bytes that share ATTACHED's read. */
class CircuitAttachHandlerTest {
    private final CircuitId id = CircuitId.random();
    private final CircuitToken token = CircuitToken.random();

    private Promise<Channel> attached;

    private EmbeddedChannel channel() {
        EmbeddedChannel ch = new EmbeddedChannel();
        attached = ch.eventLoop().newPromise();
        ch.pipeline().addLast(RelayDialer.FRAME_DECODER, new RelayFrameDecoder(FramePolicy.CLIENT_AWAITING_ATTACHED));
        ch.pipeline().addLast(RelayDialer.FRAME_ENCODER, RelayFrameEncoder.INSTANCE);
        ch.pipeline().addLast(CircuitAttachHandler.NAME, new CircuitAttachHandler(id, token, attached));
        return ch;
    }

    @Test
    void sendsAttachThenHandsOverTheRawChannelWithLeftoverBytesFirst() {
        EmbeddedChannel ch = channel();
        ch.pipeline().fireUserEventTriggered(TransportReadyEvent.INSTANCE);
        ByteBuf out = ch.readOutbound();
        ByteBuf expected = Unpooled.buffer();
        FrameCodec.encode(new ClientFrame.CircuitAttach(id, token), expected);
        assertThat(out).isEqualTo(expected);
        out.release();
        expected.release();

        ByteBuf in = Unpooled.buffer();
        FrameCodec.encode(new RelayFrame.CircuitAttached(), in);
        in.writeCharSequence("early bytes", StandardCharsets.US_ASCII);
        ch.writeInbound(in);
        ch.runPendingTasks();
        assertThat(attached.isSuccess()).isTrue();
        assertThat(ch.config().isAutoRead()).isFalse();
        assertThat(ch.pipeline().get(RelayDialer.FRAME_DECODER)).isNull();
        assertThat(ch.pipeline().get(RelayDialer.FRAME_ENCODER)).isNull();

        List<String> got = new ArrayList<>();
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                got.add(b.toString(StandardCharsets.US_ASCII));
                b.release();
            }
        });
        assertThat(got).isEmpty();
        new CircuitConnection(ch, id, TestIdentities.randomNodeKey(), "ssh", true, ConnectMode.UPGRADE).start();
        assertThat(got).containsExactly("early bytes");
        assertThat(ch.pipeline().get(CircuitStartBuffer.class)).isNull();

        // Raw bytes both ways from now on.
        ch.writeInbound(Unpooled.copiedBuffer("later", StandardCharsets.US_ASCII));
        assertThat(got).containsExactly("early bytes", "later");
        ch.writeOutbound(Unpooled.copiedBuffer("raw", StandardCharsets.US_ASCII));
        ByteBuf raw = ch.readOutbound();
        assertThat(raw.toString(StandardCharsets.US_ASCII)).isEqualTo("raw");
        raw.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void heldBytesWaitForTheFirstReadWhenStartedBeforeHandlersAreIn() {
        EmbeddedChannel ch = channel();
        ByteBuf in = Unpooled.buffer();
        FrameCodec.encode(new RelayFrame.CircuitAttached(), in);
        in.writeCharSequence("early", StandardCharsets.US_ASCII);
        ch.writeInbound(in);
        ch.runPendingTasks();
        CircuitConnection conn =
                new CircuitConnection(ch, id, TestIdentities.randomNodeKey(), "ssh", true, ConnectMode.UPGRADE);
        conn.start(); // too early: nothing to deliver to yet
        assertThat(ch.pipeline().get(CircuitStartBuffer.class)).isNotNull();
        List<String> got = new ArrayList<>();
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                got.add(b.toString(StandardCharsets.US_ASCII));
                b.release();
            }
        });
        ch.read();
        assertThat(got).containsExactly("early");
        assertThat(ch.pipeline().get(CircuitStartBuffer.class)).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void aCloseBeforeStartIsDeliveredWithTheHeldBytes() {
        EmbeddedChannel ch = channel();
        ByteBuf in = Unpooled.buffer();
        FrameCodec.encode(new RelayFrame.CircuitAttached(), in);
        in.writeCharSequence("last words", StandardCharsets.US_ASCII);
        ch.writeInbound(in);
        ch.runPendingTasks();
        List<String> got = new ArrayList<>();
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                got.add(b.toString(StandardCharsets.US_ASCII));
                b.release();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                got.add("inactive");
            }
        });
        ch.close();
        assertThat(got).containsExactly("last words", "inactive");
        ch.finishAndReleaseAll();
    }

    @Test
    void aDenyFailsTheAttachment() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(new RelayFrame.Deny(DenyReason.AUTH_FAILED, "bad token"));
        assertThat(attached.cause()).isInstanceOf(RelayDeniedException.class);
        assertThat(ch.isActive()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void anythingElseIsAViolationAndClosed() {
        EmbeddedChannel ch = channel();
        ByteBuf bad = Unpooled.buffer();
        FrameCodec.encode(new RelayFrame.Keepalive(), bad);
        ch.writeInbound(bad);
        assertThat(attached.isSuccess()).isFalse();
        assertThat(attached.isDone()).isTrue();
        assertThat(ch.isActive()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void heldBytesAreReleasedWhenTheCircuitIsNeverStarted() {
        EmbeddedChannel ch = channel();
        ByteBuf in = Unpooled.buffer();
        FrameCodec.encode(new RelayFrame.CircuitAttached(), in);
        ByteBuf extra = Unpooled.copiedBuffer("unclaimed", StandardCharsets.US_ASCII);
        in.writeBytes(extra);
        extra.release();
        ch.writeInbound(in);
        ch.runPendingTasks();
        ch.close();
        assertThat(in.refCnt()).isZero();
        ch.finishAndReleaseAll();
    }
}
