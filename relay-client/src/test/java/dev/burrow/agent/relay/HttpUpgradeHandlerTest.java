package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The raw-TCP upgrade: request format, 101 with frames in the same read, and refusals. */
class HttpUpgradeHandlerTest {

    static final class Capture extends ChannelInboundHandlerAdapter {
        final List<Object> events = new ArrayList<>();

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt);
        }
    }

    private static EmbeddedChannel channel(Capture capture) {
        return new EmbeddedChannel(
                new HttpClientCodec(),
                new HttpUpgradeHandler("relay.example:8443", RelayProtocol.CONTROL_PATH),
                new RelayFrameDecoder(FramePolicy.CLIENT_CONTROL),
                capture);
    }

    private static String outbound(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return sb.toString();
    }

    @Test
    void sends101RequestAndPassesFramesThatShareTheResponsesRead() {
        Capture capture = new Capture();
        EmbeddedChannel ch = channel(capture);
        String request = outbound(ch);
        assertThat(request)
                .startsWith("GET /v1/relay HTTP/1.1\r\n")
                .containsIgnoringCase("upgrade: burrow-relay-v1\r\n")
                .containsIgnoringCase("connection: upgrade\r\n")
                .containsIgnoringCase("host: relay.example:8443\r\n");

        ByteBuf in = Unpooled.buffer();
        in.writeCharSequence(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: burrow-relay-v1\r\nConnection: Upgrade\r\n\r\n",
                StandardCharsets.US_ASCII);
        RelayFrame.ServerHello hello = new RelayFrame.ServerHello(1, 1, new byte[32], "r");
        FrameCodec.encode(hello, in);
        ch.writeInbound(in);

        RelayFrame.ServerHello got = ch.readInbound();
        assertThat(got.relayId()).isEqualTo("r");
        assertThat(ch.pipeline().get(HttpClientCodec.class)).isNull();
        assertThat(ch.pipeline().get(HttpUpgradeHandler.class)).isNull();
        assertThat(capture.events).contains(TransportReadyEvent.INSTANCE);
        ch.finishAndReleaseAll();
    }

    @Test
    void helloInTheSameReadAsThe101IsDecoded() {
        List<Object> frames = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(
                new HttpClientCodec(),
                new HttpUpgradeHandler("h", RelayProtocol.CONTROL_PATH),
                new RelayFrameDecoder(FramePolicy.CLIENT_CONTROL),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        frames.add(msg);
                    }
                });
        outbound(ch);
        ByteBuf in = Unpooled.buffer();
        in.writeCharSequence(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: Burrow-Relay-V1\r\nConnection: upgrade\r\n\r\n",
                StandardCharsets.US_ASCII);
        RelayFrame.ServerHello hello = new RelayFrame.ServerHello(1, 1, new byte[32], "r");
        FrameCodec.encode(hello, in);
        ch.writeInbound(in);
        assertThat(frames)
                .singleElement()
                .isInstanceOfSatisfying(
                        RelayFrame.ServerHello.class,
                        h -> assertThat(h.challenge()).isEqualTo(hello.challenge()));
        ch.finishAndReleaseAll();
    }

    @Test
    void anyOtherStatusIsARefusalAndItsBodyIsNotRead() {
        EmbeddedChannel ch = channel(new Capture());
        outbound(ch);
        // Nothing behind the handler catches it here; in a client the control handler does.
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.copiedBuffer(
                        "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 5\r\n\r\nhello", StandardCharsets.US_ASCII)))
                .isInstanceOfSatisfying(
                        UpgradeRefusedException.class,
                        e -> assertThat(e.status()).isEqualTo(426));
        assertThat(ch.isActive()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void a101ForAnotherProtocolIsARefusal() {
        EmbeddedChannel ch = channel(new Capture());
        outbound(ch);
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.copiedBuffer(
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                        StandardCharsets.US_ASCII)))
                .isInstanceOf(UpgradeRefusedException.class);
        assertThat(ch.isActive()).isFalse();
        ch.finishAndReleaseAll();
    }
}
