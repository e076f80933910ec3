package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;
import io.netty.util.internal.PlatformDependent;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keyed datagrams through the relay: SEND_DATAGRAM on the current control connection, never
 * blocking and never queueing beyond {@code maxQueuedDatagrams} / {@code maxQueuedBytes}, and
 * RECV_DATAGRAM to the {@link DatagramHandler}.
 *
 * <p><b>Coalesced writes.</b> A datagram is never written and flushed on its own: a sender on the
 * connection's event loop writes it at once and leaves the flush to one task per batch; a sender on
 * any other thread puts it in a queue that one task per batch writes (no task per datagram). That
 * task flushes once, so the TLS handler seals everything written in the batch into as few records
 * as fit (16 KiB each) instead of one record per datagram. The task runs as soon as the loop has
 * finished its current work, so a lone datagram is flushed at the end of its batch, never held. The
 * queue is bounded by the same {@code maxQueuedDatagrams} / {@code maxQueuedBytes} as before (a
 * datagram counts until its write completes).
 */
final class RelayDatagrams {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    // Final after construction.
    private final RelayClientConfig config;
    private final RelayClientMetrics metrics;
    private final RelayLink link;

    // Any thread: the handler is set by the owner and read on the event loop; the queue bounds and
    // counters move on the sending thread and on the loop as writes complete.
    private volatile DatagramHandler handler;
    private final AtomicInteger queuedDatagrams = new AtomicInteger();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final LongAdder sent = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    /** Datagrams sent from threads other than the connection's loop, written by {@link #writeBatch()}. */
    private final Queue<Pending> pending = PlatformDependent.newMpscQueue();
    /** One {@link #writeBatch()} task scheduled at a time (any thread). */
    private final AtomicBoolean batchScheduled = new AtomicBoolean();
    /** A channel written on its loop and not yet flushed; loop only. */
    private Channel unflushed;

    /** A datagram frame waiting for the batch task, with its channel and its payload size. */
    private record Pending(Channel channel, ClientFrame.SendDatagram frame, int size) {}

    RelayDatagrams(RelayClientConfig config, RelayClientMetrics metrics, RelayLink link) {
        this.config = config;
        this.metrics = metrics;
        this.link = link;
    }

    void setHandler(DatagramHandler handler) {
        this.handler = handler;
    }

    long sent() {
        return sent.sum();
    }

    long received() {
        return received.sum();
    }

    long dropped() {
        return dropped.sum();
    }

    /** @see RelayClient#isWritable() */
    boolean isWritable() {
        ControlHandler c = link.current();
        Channel ch = c == null ? null : c.channel();
        return ch != null && ch.isWritable() && queuedDatagrams.get() < config.maxQueuedDatagrams();
    }

    /** @see RelayClient#send(NodeKey, ByteBuf) */
    SendResult send(NodeKey destination, ByteBuf payload) {
        ControlHandler c = link.current();
        Channel ch = c == null ? null : c.channel();
        if (c == null || ch == null || !c.ready()) {
            return drop(payload, SendResult.DROPPED_NOT_CONNECTED);
        }
        int n = payload.readableBytes();
        if (n > c.maxDatagram()) {
            return drop(payload, SendResult.DROPPED_TOO_LARGE);
        }
        if (!ch.isWritable()) {
            return drop(payload, SendResult.DROPPED_BACKPRESSURE);
        }
        int count = queuedDatagrams.incrementAndGet();
        long bytes = queuedBytes.addAndGet(n);
        if (count > config.maxQueuedDatagrams() || bytes > config.maxQueuedBytes()) {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-n);
            return drop(payload, SendResult.DROPPED_BACKPRESSURE);
        }
        ClientFrame.SendDatagram frame;
        try {
            frame = new ClientFrame.SendDatagram(destination, payload);
        } catch (RuntimeException e) {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-n);
            payload.release();
            throw e;
        }
        EventLoop loop = ch.eventLoop();
        if (loop.inEventLoop()) {
            if (unflushed != null && unflushed != ch) {
                unflushed.flush();
            }
            ch.write(frame).addListener(written(n));
            unflushed = ch;
        } else {
            pending.offer(new Pending(ch, frame, n));
        }
        if (batchScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(this::writeBatch);
            } catch (RejectedExecutionException e) { // the loop is shutting down: nothing will write
                batchScheduled.set(false);
                discardPending();
            }
        }
        return SendResult.QUEUED;
    }

    private GenericFutureListener<Future<? super Void>> written(int n) {
        return f -> {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-n);
            if (f.isSuccess()) {
                sent.increment();
                metrics.datagramSent(n);
            }
        };
    }

    /** On the loop: writes what other threads queued, then flushes once per channel written. */
    private void writeBatch() {
        batchScheduled.set(false);
        Channel last = unflushed;
        unflushed = null;
        Pending p;
        while ((p = pending.poll()) != null) {
            if (last != null && last != p.channel()) {
                last.flush();
            }
            p.channel().write(p.frame()).addListener(written(p.size()));
            last = p.channel();
        }
        if (last != null) {
            last.flush();
        }
    }

    /** Releases queued datagrams no loop will write (the client is closing); counted as not connected. */
    private void discardPending() {
        Pending p;
        while ((p = pending.poll()) != null) {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-p.size());
            drop(p.frame().payload(), SendResult.DROPPED_NOT_CONNECTED);
        }
    }

    /** On the loop: our queue plus the channel's outbound buffer. */
    void pendingOutboundBytes(CompletableFuture<Long> result) {
        ControlHandler c = link.current();
        Channel ch = c == null ? null : c.channel();
        var buffer = ch == null ? null : ch.unsafe().outboundBuffer();
        result.complete(queuedBytes.get() + (buffer == null ? 0 : buffer.totalPendingWriteBytes()));
    }

    private SendResult drop(ByteBuf payload, SendResult result) {
        payload.release();
        dropped.increment();
        metrics.datagramDropped(result);
        return result;
    }

    /** On the loop: a RECV_DATAGRAM (released by the caller after return). */
    void received(RelayFrame.RecvDatagram d) {
        received.increment();
        metrics.datagramReceived(d.payload().readableBytes());
        DatagramHandler h = handler;
        if (h != null) {
            try {
                h.datagram(d.source(), d.payload());
            } catch (RuntimeException e) {
                log.warn("datagram handler failed", e);
            }
        }
    }
}
