package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keyed datagrams through the relay: SEND_DATAGRAM on the current control connection, never
 * blocking and never queueing beyond {@code maxQueuedDatagrams} / {@code maxQueuedBytes}, and
 * RECV_DATAGRAM to the {@link DatagramHandler}.
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
        ch.writeAndFlush(frame).addListener(f -> {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-n);
            if (f.isSuccess()) {
                sent.increment();
                metrics.datagramSent(n);
            }
        });
        return SendResult.QUEUED;
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
