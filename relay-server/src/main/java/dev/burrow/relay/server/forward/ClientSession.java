package dev.burrow.relay.server.forward;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.metrics.DropReason;
import dev.burrow.relay.server.metrics.RelayMetrics;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated client connection and its two bounded send queues.
 *
 * <p><b>Drop policy.</b> Datagrams for this client wait in a queue of {@code sendQueueDepth} (and at
 * most {@link #MAX_QUEUED_BYTES} of payload); when it is full the <em>oldest</em> queued datagram is dropped ({@link DropReason#QUEUE_FULL}, head drop as
 * DERP does: a fresh hole-punch or signalling message is worth more than a stale one). Control
 * frames (PEER_GONE, PEER_PRESENT, HEALTH, PONG, KEEPALIVE, RESTARTING, circuit frames) wait in a
 * separate small queue that is always written first, so datagram floods never starve them; when it
 * is full the new control frame is dropped ({@link DropReason#CONTROL_QUEUE_FULL}) rather than block.
 *
 * <p><b>Backpressure.</b> Queues are drained on this channel's event loop only while the channel is
 * writable (below the high-water mark); the forwarder never writes into an unwritable channel. When
 * the channel stays unwritable for the write timeout the client is disconnected
 * ({@link DropReason#WRITE_TIMEOUT}), so a stalled receiver holds at most one queue plus one
 * outbound buffer of memory and never slows any other client: senders only ever touch the queue.
 *
 * <p>Thread-safety: {@code enqueue*} may be called from any thread; everything else runs on the
 * channel's event loop.
 */
public final class ClientSession {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    /** Destinations whose watcher entry this sender refreshed recently (bounded, cleared when full). */
    private static final int RECENT_WATCH_ENTRIES = 256;
    /** Refresh a watcher entry at most this often per destination: the registry needs no per-datagram write. */
    private static final long WATCH_REFRESH_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * Payload bytes one receiver's datagram queue holds at most, whatever its depth: the oldest are
     * dropped to stay below ({@link DropReason#QUEUE_FULL}). 32 datagrams of the largest size.
     */
    static final long MAX_QUEUED_BYTES = 32L * FrameLimits.MAX_DATAGRAM_PAYLOAD;
    /** Queued datagrams from which a sender on the receiver's own loop writes them out at once (unflushed). */
    static final int INLINE_WRITE_AT = 16;

    // Final after construction.
    private final NodeKey key;
    private final String certifiedName;
    private final Channel channel;
    private final boolean acceptsCircuits;
    private final int datagramDepth;
    private final int controlDepth;
    private final long writeTimeoutNanos;
    private final RelayMetrics metrics;
    private final QueueGauge queueGauge;

    // Guarded by this (senders on any thread only touch the queues).
    private final ArrayDeque<RelayFrame.RecvDatagram> datagrams = new ArrayDeque<>();
    private final ArrayDeque<Frame> control = new ArrayDeque<>();
    /** Payload bytes in {@link #datagrams}, at most {@link #MAX_QUEUED_BYTES}. */
    private long queuedBytes;

    private boolean pongPending;
    private boolean closed;
    /** One drain task scheduled at a time (any thread). */
    private final AtomicBoolean drainScheduled = new AtomicBoolean();

    // Owned by the channel's event loop.
    private long unwritableSinceNanos;
    /** Frames written and not yet flushed (the drain flushes them). */
    private boolean unflushed;

    private boolean timedOut;
    private ScheduledFuture<?> writeTimeoutCheck;
    private final TokenBucket peerGoneNotices;
    private final Map<NodeKey, Long> recentWatches = new HashMap<>();

    /** Counts datagrams queued over all sessions, for the queue-depth gauge. */
    public interface QueueGauge {
        void add(int delta);
    }

    public ClientSession(
            NodeKey key,
            Channel channel,
            boolean acceptsCircuits,
            int datagramDepth,
            int controlDepth,
            long writeTimeoutNanos,
            double noticeRate,
            int noticeBurst,
            RelayMetrics metrics,
            QueueGauge queueGauge) {
        this(
                key,
                null,
                channel,
                acceptsCircuits,
                datagramDepth,
                controlDepth,
                writeTimeoutNanos,
                noticeRate,
                noticeBurst,
                metrics,
                queueGauge);
    }

    /**
     * @param certifiedName the name in the client's certificate, only when the relay verified that its
     *     fleet CA issued it ({@code VerifiedPeer.caIssued()}); else null. Name lookups find only these.
     */
    public ClientSession(
            NodeKey key,
            String certifiedName,
            Channel channel,
            boolean acceptsCircuits,
            int datagramDepth,
            int controlDepth,
            long writeTimeoutNanos,
            double noticeRate,
            int noticeBurst,
            RelayMetrics metrics,
            QueueGauge queueGauge) {
        this.key = key;
        this.certifiedName = certifiedName;
        this.channel = channel;
        this.acceptsCircuits = acceptsCircuits;
        this.datagramDepth = datagramDepth;
        this.controlDepth = controlDepth;
        this.writeTimeoutNanos = writeTimeoutNanos;
        this.metrics = metrics;
        this.queueGauge = queueGauge;
        this.peerGoneNotices = new TokenBucket(noticeRate, noticeBurst, System.nanoTime());
    }

    public NodeKey key() {
        return key;
    }

    public Channel channel() {
        return channel;
    }

    /** The CA-verified certificate name, or null (self-signed, key-only, or no fleet CA). */
    public String certifiedName() {
        return certifiedName;
    }

    public boolean acceptsCircuits() {
        return acceptsCircuits;
    }

    public SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    /**
     * Queues a datagram for this client, taking ownership of it. Never blocks: a full queue drops its
     * oldest datagram; a closed session drops this one.
     */
    public void enqueueDatagram(RelayFrame.RecvDatagram datagram) {
        RelayFrame.RecvDatagram evicted = null;
        int evictedMore = 0;
        int queued = 0;
        synchronized (this) {
            if (closed) {
                evicted = datagram;
                datagram = null;
            } else {
                int n = datagram.payload().readableBytes();
                if (datagrams.size() >= datagramDepth) {
                    evicted = datagrams.pollFirst();
                    queuedBytes -= evicted.payload().readableBytes();
                } else {
                    queueGauge.add(1);
                }
                while (queuedBytes + n > MAX_QUEUED_BYTES && !datagrams.isEmpty()) {
                    RelayFrame.RecvDatagram old = datagrams.pollFirst();
                    queuedBytes -= old.payload().readableBytes();
                    queueGauge.add(-1);
                    old.release();
                    evictedMore++;
                }
                datagrams.addLast(datagram);
                queuedBytes += n;
                queued = datagrams.size();
            }
        }
        if (evicted != null) {
            ReferenceCountUtil.release(evicted);
            metrics.dropped(datagram == null ? DropReason.GONE : DropReason.QUEUE_FULL);
        }
        for (int i = 0; i < evictedMore; i++) {
            metrics.dropped(DropReason.QUEUE_FULL);
        }
        if (datagram != null) {
            // Sender and receiver on one loop: a read batch may carry more datagrams than the queue
            // holds (senders coalesce them into 16 KiB TLS records), so write them out as they come,
            // unflushed; the drain task flushes once at the end of the batch.
            if (queued >= INLINE_WRITE_AT && channel.eventLoop().inEventLoop()) {
                write();
            }
            scheduleDrain();
        }
    }

    /** Queues a control frame ahead of all datagrams; false (and counted) when the control queue is full. */
    public boolean enqueueControl(Frame frame) {
        synchronized (this) {
            if (closed) {
                return false;
            }
            if (control.size() >= controlDepth) {
                metrics.dropped(DropReason.CONTROL_QUEUE_FULL);
                return false;
            }
            control.addLast(frame);
        }
        scheduleDrain();
        return true;
    }

    /** Queues a PONG unless one is already waiting: at most one pending pong (DERP's pong channel of 1). */
    public boolean enqueuePong(Frame.Pong pong) {
        synchronized (this) {
            if (closed || pongPending || control.size() >= controlDepth) {
                return false;
            }
            pongPending = true;
            control.addLast(pong);
        }
        scheduleDrain();
        return true;
    }

    /** Rate limit of PEER_GONE(NOT_HERE) notices to this (sending) client; event loop only. */
    public boolean allowPeerGoneNotice() {
        return peerGoneNotices.tryTake(1, System.nanoTime());
    }

    /** True when this sender should refresh its watcher entry for {@code destination}; event loop only. */
    public boolean shouldRecordWatch(NodeKey destination) {
        long now = System.nanoTime();
        Long last = recentWatches.get(destination);
        if (last != null && now - last < WATCH_REFRESH_NANOS) {
            return false;
        }
        if (recentWatches.size() >= RECENT_WATCH_ENTRIES) {
            recentWatches.clear();
        }
        recentWatches.put(destination, now);
        return true;
    }

    public synchronized int queuedDatagrams() {
        return datagrams.size();
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            channel.eventLoop().execute(this::drainTask);
        }
    }

    private void drainTask() {
        drainScheduled.set(false);
        drain();
    }

    /** Writes queued frames while the channel is writable, then flushes what was written; event loop only. */
    public void drain() {
        if (!channel.isActive()) {
            return;
        }
        write();
        if (unflushed) {
            unflushed = false;
            channel.flush();
        }
        if (!channel.isWritable()) {
            markUnwritable();
        }
    }

    /** Writes queued frames while the channel is writable, without flushing; event loop only. */
    private void write() {
        if (!channel.isActive()) {
            return;
        }
        while (channel.isWritable()) {
            Frame next;
            boolean isDatagram = false;
            synchronized (this) {
                next = control.pollFirst();
                if (next == null) {
                    next = datagrams.pollFirst();
                    isDatagram = next != null;
                    if (isDatagram) {
                        queuedBytes -=
                                ((RelayFrame.RecvDatagram) next).payload().readableBytes();
                    }
                } else if (next instanceof Frame.Pong) {
                    pongPending = false;
                }
            }
            if (next == null) {
                break;
            }
            if (isDatagram) {
                queueGauge.add(-1);
                metrics.datagramForwarded(
                        ((RelayFrame.RecvDatagram) next).payload().readableBytes());
            }
            channel.write(next, channel.voidPromise());
            unflushed = true;
        }
    }

    /** Called by the connection handler when writability changes; event loop only. */
    public void writabilityChanged() {
        if (channel.isWritable()) {
            unwritableSinceNanos = 0;
            drain();
        } else {
            markUnwritable();
        }
    }

    private void markUnwritable() {
        if (unwritableSinceNanos == 0) {
            unwritableSinceNanos = System.nanoTime();
        }
        if (writeTimeoutCheck == null || writeTimeoutCheck.isDone()) {
            writeTimeoutCheck =
                    channel.eventLoop().schedule(this::checkWriteTimeout, writeTimeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void checkWriteTimeout() {
        if (unwritableSinceNanos == 0 || !channel.isActive() || timedOut) {
            return;
        }
        long stalled = System.nanoTime() - unwritableSinceNanos;
        if (stalled >= writeTimeoutNanos) {
            timedOut = true;
            log.atInfo()
                    .addKeyValue("event", "client_write_timeout")
                    .addKeyValue("node", key.shortId())
                    .addKeyValue("stalled_ms", TimeUnit.NANOSECONDS.toMillis(stalled))
                    .log("client write timeout");
            metrics.dropped(DropReason.WRITE_TIMEOUT);
            channel.close();
        } else {
            writeTimeoutCheck = channel.eventLoop()
                    .schedule(this::checkWriteTimeout, writeTimeoutNanos - stalled, TimeUnit.NANOSECONDS);
        }
    }

    /** Writes {@code frame} at once (bypassing the queues), then closes: used to tell a replaced or denied client why. */
    public void sendAndClose(Frame frame) {
        channel.eventLoop().execute(() -> {
            if (channel.isActive()) {
                channel.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
            }
        });
    }

    /** Marks the session closed and releases everything still queued (counted as {@link DropReason#GONE}). */
    public void close() {
        ArrayDeque<RelayFrame.RecvDatagram> left;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            left = new ArrayDeque<>(datagrams);
            datagrams.clear();
            queuedBytes = 0;
            control.clear();
        }
        if (writeTimeoutCheck != null) {
            writeTimeoutCheck.cancel(false);
        }
        queueGauge.add(-left.size());
        for (RelayFrame.RecvDatagram d : left) {
            d.release();
            metrics.dropped(DropReason.GONE);
        }
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "ClientSession[" + key.shortId() + "]";
    }
}
