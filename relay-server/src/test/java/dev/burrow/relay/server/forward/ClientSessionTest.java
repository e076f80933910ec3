package dev.burrow.relay.server.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.metrics.DropReason;
import dev.burrow.relay.server.metrics.MicrometerRelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The drop policy of one client's queues, deterministically (stalled receivers, unknown or gone destinations). */
class ClientSessionTest {
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final MicrometerRelayMetrics metrics = new MicrometerRelayMetrics(meters);
    private final AtomicLong queued = new AtomicLong();
    private final NodeIdentity src = NodeIdentity.ephemeral("src");

    private ClientSession session(EmbeddedChannel ch, int depth, int controlDepth) {
        return new ClientSession(
                NodeIdentity.ephemeral("dst").nodeKey(),
                ch,
                false,
                depth,
                controlDepth,
                TimeUnit.SECONDS.toNanos(2),
                1,
                3,
                metrics,
                d -> queued.addAndGet(d));
    }

    private double drops(DropReason r) {
        return meters.get(RelayMetrics.DROPS).tag("reason", r.tag()).counter().count();
    }

    private static List<Object> outbound(EmbeddedChannel ch) {
        ch.runPendingTasks();
        List<Object> out = new ArrayList<>();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            out.add(o);
        }
        return out;
    }

    @Test
    void fullQueueDropsTheOldestAndControlFramesGoFirst() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ClientSession s = session(ch, 4, 2);
        for (int i = 0; i < 10; i++) {
            s.enqueueDatagram(
                    new RelayFrame.RecvDatagram(src.nodeKey(), Unpooled.wrappedBuffer(new byte[] {(byte) i})));
        }
        assertThat(s.enqueueControl(new RelayFrame.PeerGone(src.nodeKey(), PeerGoneReason.NOT_HERE)))
                .isTrue();
        assertThat(s.enqueueControl(new RelayFrame.Keepalive())).isTrue();
        assertThat(s.enqueueControl(new RelayFrame.Keepalive())).isFalse(); // control queue of 2 is full
        assertThat(queued.get()).isEqualTo(4);
        assertThat(drops(DropReason.QUEUE_FULL)).isEqualTo(6);
        assertThat(drops(DropReason.CONTROL_QUEUE_FULL)).isEqualTo(1);

        List<Object> out = outbound(ch);
        assertThat(out).hasSize(6);
        assertThat(out.get(0)).isInstanceOf(RelayFrame.PeerGone.class);
        assertThat(out.get(1)).isInstanceOf(RelayFrame.Keepalive.class);
        for (int i = 0; i < 4; i++) {
            RelayFrame.RecvDatagram d = (RelayFrame.RecvDatagram) out.get(2 + i);
            assertThat(d.payload().getByte(0)).isEqualTo((byte) (6 + i)); // the newest four survived
            d.release();
        }
        assertThat(queued.get()).isZero();
        ch.finishAndReleaseAll();
    }

    /**
     * Flush batching: datagrams queued during one read batch (the sender's loop) are written as they
     * come or by the drain task, and flushed once by it, so TLS seals them together; a lone datagram after that is flushed by
     * its own drain at the end of its batch, never held back waiting for more.
     */
    @Test
    void aReadBatchIsFlushedOnceAndALoneDatagramIsFlushedAtTheEndOfItsBatch() {
        AtomicInteger flushes = new AtomicInteger();
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void flush(ChannelHandlerContext ctx) {
                flushes.incrementAndGet();
                ctx.flush();
            }
        });
        ClientSession s = session(ch, 64, 4);
        // below INLINE_WRITE_AT (EmbeddedChannel runs pending tasks on every write, so the inline writes
        // of a larger batch would run the drain early here)
        int batch = ClientSession.INLINE_WRITE_AT - 1;
        for (int i = 0; i < batch; i++) {
            s.enqueueDatagram(
                    new RelayFrame.RecvDatagram(src.nodeKey(), Unpooled.wrappedBuffer(new byte[] {(byte) i})));
        }
        assertThat((Object) ch.readOutbound()).isNull(); // queued: the drain task runs after the batch
        assertThat(flushes.get()).isZero();
        List<Object> out = outbound(ch);
        assertThat(out).hasSize(batch);
        assertThat(flushes.get()).isEqualTo(1);
        out.forEach(ReferenceCountUtil::release);

        s.enqueueDatagram(new RelayFrame.RecvDatagram(src.nodeKey(), Unpooled.wrappedBuffer(new byte[] {42})));
        out = outbound(ch);
        assertThat(out).hasSize(1);
        assertThat(((RelayFrame.RecvDatagram) out.get(0)).payload().getByte(0)).isEqualTo((byte) 42);
        assertThat(flushes.get()).isEqualTo(2);
        out.forEach(ReferenceCountUtil::release);
        assertThat(queued.get()).isZero();
        assertThat(drops(DropReason.QUEUE_FULL)).isZero();
        ch.finishAndReleaseAll();
    }

    @Test
    void aDeepQueueStillHoldsAtMostItsBytesAndDropsTheOldest() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1, 2));
        ch.write(Unpooled.wrappedBuffer(new byte[16])); // unflushed: unwritable, so everything stays queued
        ClientSession s = session(ch, 1000, 4);
        int big = FrameLimits.MAX_DATAGRAM_PAYLOAD;
        for (int i = 0; i < 40; i++) {
            s.enqueueDatagram(new RelayFrame.RecvDatagram(
                    src.nodeKey(), Unpooled.buffer(big).writeZero(big)));
        }
        assertThat(s.queuedDatagrams()).isEqualTo((int) (ClientSession.MAX_QUEUED_BYTES / big));
        assertThat(queued.get()).isEqualTo(s.queuedDatagrams());
        assertThat(drops(DropReason.QUEUE_FULL)).isEqualTo(40 - s.queuedDatagrams());
        s.close();
        assertThat(queued.get()).isZero();
        ch.finishAndReleaseAll();
    }

    @Test
    void nothingIsWrittenWhileUnwritableAndCloseReleasesTheQueue() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1, 2));
        ClientSession s = session(ch, 8, 8);
        ch.write(Unpooled.wrappedBuffer(new byte[16])); // unflushed: the channel is now above its high-water mark
        assertThat(ch.isWritable()).isFalse();
        for (int i = 0; i < 5; i++) {
            s.enqueueDatagram(
                    new RelayFrame.RecvDatagram(src.nodeKey(), Unpooled.wrappedBuffer(new byte[] {(byte) i})));
        }
        ch.runPendingTasks();
        assertThat(s.queuedDatagrams()).isEqualTo(5); // held in the bounded queue, not pushed into the channel
        s.close();
        assertThat(drops(DropReason.GONE)).isEqualTo(5);
        assertThat(queued.get()).isZero();
        s.enqueueDatagram(new RelayFrame.RecvDatagram(src.nodeKey(), Unpooled.wrappedBuffer(new byte[] {9})));
        assertThat(drops(DropReason.GONE)).isEqualTo(6);
        ch.finishAndReleaseAll();
    }

    @Test
    void onlyOnePongIsPending() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ClientSession s = session(ch, 8, 8);
        assertThat(s.enqueuePong(new Frame.Pong(new byte[8]))).isTrue();
        assertThat(s.enqueuePong(new Frame.Pong(new byte[8]))).isFalse();
        assertThat(outbound(ch)).hasSize(1);
        assertThat(s.enqueuePong(new Frame.Pong(new byte[8]))).isTrue(); // written: the next may queue
        outbound(ch);
        ch.finishAndReleaseAll();
    }
}
