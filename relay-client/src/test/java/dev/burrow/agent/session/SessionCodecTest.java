package dev.burrow.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The session's HTTP/2 codec as configured by {@link SessionProtocol#codec}. */
class SessionCodecTest {
    private static final int FRAME_HEADER = 9;
    private static final int DATA = 0x0;

    /** A frame's type, stream and payload length, read from the codec's output. */
    record Frame(int type, int stream, int length) {}

    private static List<Frame> framesWritten(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            all.writeBytes(b);
            b.release();
        }
        all.skipBytes(Http2CodecUtil.connectionPrefaceBuf().readableBytes());
        List<Frame> frames = new ArrayList<>();
        while (all.readableBytes() >= FRAME_HEADER) {
            int length = all.readUnsignedMedium();
            int type = all.readUnsignedByte();
            all.skipBytes(1); // flags
            int stream = all.readInt() & 0x7fffffff;
            all.skipBytes(length);
            frames.add(new Frame(type, stream, length));
        }
        all.release();
        return frames;
    }

    @Test
    void busyStreamsTakeTurnsInRecordSizedFramesNotOneKibibyteSlices() {
        EmbeddedChannel ch = new EmbeddedChannel(
                SessionProtocol.codec(true), new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
        List<Http2StreamChannel> streams = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Http2StreamChannel s = new Http2StreamChannelBootstrap(ch)
                    .handler(new ChannelInboundHandlerAdapter())
                    .open()
                    .syncUninterruptibly()
                    .getNow();
            s.write(new DefaultHttp2HeadersFrame(SessionStreamHandler.requestHeaders("svc")));
            s.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[256 << 10])));
            streams.add(s);
        }
        streams.forEach(Http2StreamChannel::flush); // both streams have bytes waiting at the first flush
        ch.runPendingTasks();

        Map<Integer, Integer> bytesPerStream = new HashMap<>();
        List<Integer> sizes = new ArrayList<>();
        for (Frame f : framesWritten(ch)) {
            if (f.type() == DATA) {
                sizes.add(f.length());
                bytesPerStream.merge(f.stream(), f.length(), Integer::sum);
            }
        }
        // Until the peer's SETTINGS and WINDOW_UPDATEs arrive, the session may send the protocol's
        // initial 65,535 bytes: both streams get a share, in slices of the allocation quantum.
        assertThat(bytesPerStream).hasSize(2);
        assertThat(bytesPerStream.values().stream().mapToInt(Integer::intValue).sum())
                .isEqualTo(Http2CodecUtil.DEFAULT_WINDOW_SIZE);
        // 16 KiB, 16 KiB, 16 KiB, then the window's rest (seen: 15,967 + 416); Netty's default
        // quantum (1 KiB) wrote 34 frames here
        int quantum = SessionProtocol.ALLOCATION_QUANTUM;
        assertThat(sizes).hasSizeLessThanOrEqualTo(Http2CodecUtil.DEFAULT_WINDOW_SIZE / quantum + 2);
        assertThat(sizes.stream().filter(n -> n == quantum)).hasSize(Http2CodecUtil.DEFAULT_WINDOW_SIZE / quantum);
        assertThat(bytesPerStream.values()).allMatch(n -> n >= quantum);
        ch.finishAndReleaseAll();
    }

    @Test
    void theCodecsAreEachTheirRole() {
        assertThat(SessionProtocol.codec(true).connection().isServer()).isFalse();
        assertThat(SessionProtocol.codec(false).connection().isServer()).isTrue();
    }
}
