package dev.burrow.agent.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * When the two ends live on different event loops (each {@link EmbeddedChannel} has its own), the
 * splice flushes the other end once after the reading loop has handled what it read, not after
 * every read completion (a QUIC stream completes a read per packet, and each cross-loop flush can
 * cost the other loop a wake-up). Nothing is lost or reordered on the way.
 */
class SpliceFlushCoalescingTest {

    @Test
    void readsCompletedInOneLoopIterationAreFlushedOnceInOrder() {
        // An EmbeddedChannel runs its loop's pending tasks whenever it is asked to read; a real loop
        // runs them after its I/O, which is what this test is about. So a's reads stop short of the
        // embedded machinery: its read() only asks the pipeline, whose first handler drops the request.
        EmbeddedChannel a =
                new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
                    @Override
                    public void read(ChannelHandlerContext ctx) {}
                }) {
                    @Override
                    public Channel read() {
                        pipeline().read();
                        return this;
                    }
                };
        AtomicInteger flushesOfB = new AtomicInteger();
        EmbeddedChannel b = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void flush(ChannelHandlerContext ctx) {
                flushesOfB.incrementAndGet();
                ctx.flush();
            }
        });
        Splice splice = Splice.join(StreamEnd.plain(a, "a"), StreamEnd.plain(b, "b"), null, SpliceListener.NONE);
        a.runPendingTasks();
        b.runPendingTasks();
        int atStart = flushesOfB.get();

        for (String packet : new String[] {"one ", "two ", "three"}) {
            a.pipeline().fireChannelRead(Unpooled.copiedBuffer(packet, StandardCharsets.US_ASCII));
            a.pipeline().fireChannelReadComplete();
        }
        assertThat(flushesOfB.get())
                .as("no flush before a's loop ran its tasks")
                .isZero();
        assertThat((Object) b.readOutbound()).as("nothing written out yet").isNull();

        a.runPendingTasks();

        assertThat(flushesOfB.get()).isEqualTo(atStart + 1);
        StringBuilder out = new StringBuilder();
        for (ByteBuf buf; (buf = b.readOutbound()) != null; ) {
            out.append(buf.toString(StandardCharsets.US_ASCII));
            buf.release();
        }
        assertThat(out).hasToString("one two three");
        assertThat(splice.bytesAtoB()).isEqualTo(13);

        // the next read completion queues a new flush
        a.pipeline().fireChannelRead(Unpooled.copiedBuffer("four", StandardCharsets.US_ASCII));
        a.pipeline().fireChannelReadComplete();
        a.runPendingTasks();
        assertThat(flushesOfB.get()).isEqualTo(atStart + 2);
        ByteBuf last = b.readOutbound();
        assertThat(last.toString(StandardCharsets.US_ASCII)).isEqualTo("four");
        last.release();
        a.finishAndReleaseAll();
        b.finishAndReleaseAll();
    }
}
