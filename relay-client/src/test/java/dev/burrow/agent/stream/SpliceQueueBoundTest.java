package dev.burrow.agent.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The splice bounds what one direction has written but not yet seen complete ({@link
 * Splice#MAX_QUEUED}), even when the far end reports itself writable all along, as a QUIC stream
 * channel can while its queue of pending writes grows: reading stops at the bound and resumes when
 * writes complete.
 */
class SpliceQueueBoundTest {
    static final int CHUNK = 64 * 1024;

    @Test
    void readingStopsWhileTooMuchIsQueuedAndResumesWhenWritesComplete() {
        AtomicInteger readsOfA = new AtomicInteger();
        EmbeddedChannel a = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void read(ChannelHandlerContext ctx) {
                readsOfA.incrementAndGet();
                ctx.read();
            }
        });
        // b accepts every write and completes none of them, and stays writable
        List<ChannelPromise> pending = new ArrayList<>();
        EmbeddedChannel b = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ReferenceCountUtil.release(msg);
                pending.add(promise);
            }
        });
        Splice splice = Splice.join(StreamEnd.plain(a, "a"), StreamEnd.plain(b, "b"), null, SpliceListener.NONE);

        long fed = 0;
        while (fed < Splice.MAX_QUEUED) {
            int before = readsOfA.get();
            a.writeInbound(Unpooled.wrappedBuffer(new byte[CHUNK]));
            fed += CHUNK;
            if (fed < Splice.MAX_QUEUED) {
                assertThat(readsOfA.get()).as("reads below the bound").isEqualTo(before + 1);
            }
        }
        assertThat(b.isWritable()).isTrue();
        int held = readsOfA.get();
        a.writeInbound(Unpooled.wrappedBuffer(new byte[CHUNK])); // what a read already asked for still arrives
        assertThat(readsOfA.get()).as("no read asked for at the bound").isEqualTo(held);
        assertThat(splice.bytesAtoB()).isEqualTo(Splice.MAX_QUEUED + CHUNK);

        // the first two writes complete: below the bound again, so a is read again (once)
        pending.remove(0).setSuccess();
        assertThat(readsOfA.get()).as("still at the bound").isEqualTo(held);
        pending.remove(0).setSuccess();
        assertThat(readsOfA.get()).as("read resumed").isEqualTo(held + 1);
        pending.forEach(ChannelPromise::setSuccess);
        assertThat(readsOfA.get()).isEqualTo(held + 1);
        a.finishAndReleaseAll();
        b.finishAndReleaseAll();
    }
}
