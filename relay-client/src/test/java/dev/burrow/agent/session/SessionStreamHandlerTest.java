package dev.burrow.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The session stream adapter: HTTP/2 frames on one side, a byte stream with half-close and reset on the other. */
class SessionStreamHandlerTest {

    /** Records what reaches the handlers after the adapter: bytes (copied, released) and events. */
    static final class Tail extends ChannelInboundHandlerAdapter {
        final StringBuilder bytes = new StringBuilder();
        final List<Object> events = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            bytes.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt);
        }
    }

    static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    @Test
    void dialerSendsItsRequestHeadersOnceThenDataAndEndsWithEndStream() {
        EmbeddedChannel ch = new EmbeddedChannel(SessionStreamHandler.dialer("web", e -> {}));
        ch.writeOutbound(ascii("OPEN"));
        ch.writeOutbound(ascii("more"));
        ch.writeOutbound(new DefaultHttp2DataFrame(true));

        Http2HeadersFrame h = ch.readOutbound();
        assertThat(h.headers().method().toString()).isEqualTo("CONNECT");
        assertThat(h.headers().authority().toString()).isEqualTo("web");
        assertThat(h.isEndStream()).isFalse();
        Http2DataFrame d1 = ch.readOutbound();
        assertThat(d1.content().toString(StandardCharsets.US_ASCII)).isEqualTo("OPEN");
        d1.release();
        Http2DataFrame d2 = ch.readOutbound();
        assertThat(d2.content().toString(StandardCharsets.US_ASCII)).isEqualTo("more");
        d2.release();
        Http2DataFrame end = ch.readOutbound();
        assertThat(end.isEndStream()).isTrue();
        end.release();
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void inboundDataBecomesBytesAndEndStreamBecomesInputShutdownAfterTheData() {
        Tail tail = new Tail();
        EmbeddedChannel ch = new EmbeddedChannel(SessionStreamHandler.dialer("web", e -> {}), tail);
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
        ch.writeInbound(new DefaultHttp2DataFrame(ascii("STATUS+")));
        ch.writeInbound(new DefaultHttp2DataFrame(ascii("reply"), true));
        ch.writeInbound(new DefaultHttp2DataFrame(ascii("late"))); // after END_STREAM: dropped, released
        assertThat(tail.bytes.toString()).isEqualTo("STATUS+reply");
        assertThat(tail.events).containsExactly(ChannelInputShutdownEvent.INSTANCE);
        assertThat(ch.isOpen()).isTrue(); // half-closed: our direction still writes
        ch.writeOutbound(ascii("still"));
        assertThat(ch.finishAndReleaseAll()).isTrue();
    }

    @Test
    void anEmptyEndStreamAndTrailersAlsoEndTheInput() {
        Tail tail = new Tail();
        EmbeddedChannel ch = new EmbeddedChannel(SessionStreamHandler.dialer("web", e -> {}), tail);
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers(), true));
        assertThat(tail.events).containsExactly(ChannelInputShutdownEvent.INSTANCE);
        ch.finishAndReleaseAll();
    }

    @Test
    void aDialerThatGetsNoStatus200ResetsTheStream() {
        Tail tail = new Tail();
        EmbeddedChannel ch = new EmbeddedChannel(SessionStreamHandler.dialer("web", e -> {}), tail);
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("404")));
        Http2ResetFrame rst = ch.readOutbound();
        assertThat(rst.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void theListenerHandsOnTheServiceAndAnswersWithStatus200BeforeItsFirstBytes() {
        List<String> requests = new ArrayList<>();
        Tail tail = new Tail();
        EmbeddedChannel ch =
                new EmbeddedChannel(SessionStreamHandler.listener((ctx, s) -> requests.add(s), e -> {}), tail);
        ch.writeInbound(new DefaultHttp2HeadersFrame(SessionStreamHandler.requestHeaders("echo")));
        ch.writeInbound(new DefaultHttp2DataFrame(ascii("OPEN")));
        assertThat(requests).containsExactly("echo");
        assertThat(tail.bytes.toString()).isEqualTo("OPEN");
        ch.writeOutbound(ascii("STATUS"));
        Http2HeadersFrame h = ch.readOutbound();
        assertThat(h.headers().status().toString()).isEqualTo("200");
        Http2DataFrame d = ch.readOutbound();
        assertThat(d.content().toString(StandardCharsets.US_ASCII)).isEqualTo("STATUS");
        d.release();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void aMalformedRequestIsReportedAndResetAndItsDataNeverPasses() {
        for (var headers : List.of(
                new DefaultHttp2Headers().method("GET").authority("echo"),
                new DefaultHttp2Headers().method("CONNECT"),
                new DefaultHttp2Headers().method("CONNECT").authority("Not Valid"),
                new DefaultHttp2Headers().method("CONNECT").authority(SessionProtocol.SERVICE),
                new DefaultHttp2Headers().method("CONNECT").authority("echo").path("/"))) {
            List<String> requests = new ArrayList<>();
            Tail tail = new Tail();
            EmbeddedChannel ch =
                    new EmbeddedChannel(SessionStreamHandler.listener((ctx, s) -> requests.add(s), e -> {}), tail);
            ch.writeInbound(new DefaultHttp2HeadersFrame(headers));
            ByteBuf data = ascii("OPEN");
            ch.pipeline().fireChannelRead(new DefaultHttp2DataFrame(data)); // arrived in the same read
            assertThat(requests).as(headers.toString()).containsExactly((String) null);
            Http2ResetFrame rst = ch.readOutbound();
            assertThat(rst.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            assertThat(ch.isOpen()).isFalse();
            assertThat(tail.bytes.toString()).isEmpty();
            ch.finishAndReleaseAll();
            assertThat(data.refCnt()).isZero();
        }
    }

    @Test
    void aResetFromThePeerIsReportedAndNotPassedOn() {
        List<Http2Error> resets = new ArrayList<>();
        Tail tail = new Tail();
        EmbeddedChannel ch = new EmbeddedChannel(SessionStreamHandler.dialer("web", resets::add), tail);
        ch.pipeline().fireUserEventTriggered(new DefaultHttp2ResetFrame(Http2Error.CANCEL));
        assertThat(resets).containsExactly(Http2Error.CANCEL);
        assertThat(tail.events).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void outboundResetPassesWithoutHeaders() {
        EmbeddedChannel ch = new EmbeddedChannel(SessionStreamHandler.dialer("web", e -> {}));
        ch.writeOutbound(new DefaultHttp2ResetFrame(Http2Error.CANCEL));
        assertThat((Object) ch.readOutbound()).isInstanceOf(Http2ResetFrame.class);
        assertThat((Object) ch.readOutbound()).isNull();
        ch.finishAndReleaseAll();
    }
}
