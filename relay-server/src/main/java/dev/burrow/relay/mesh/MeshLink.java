package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.Denials;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated mesh link to a sibling relay, with two bounded send queues.
 *
 * <p>Links are one-way in purpose: the relay that <em>dialed</em> ({@code outbound}) learns the
 * acceptor's presence over it and sends datagrams and circuit requests for the acceptor's clients;
 * the acceptor ({@code inbound}) sends its presence and circuit answers. Each relay dials every
 * sibling, so every pair has two links, one per direction, and no tie-break is needed: both relays
 * dialling at once yields exactly those two links (see {@link MeshManager} for the early redial).
 *
 * <p><b>Backpressure.</b> Senders only touch the queues; frames are written on the link's event loop
 * while the channel is writable. Datagrams wait in a queue of {@value #DATAGRAM_QUEUE} and the oldest
 * is dropped when full (as for clients). Presence and circuit frames wait in a queue of
 * {@value #CONTROL_QUEUE}, written first; since losing presence would leave wrong routes, an overflow
 * resets the link (the peer drops our routes and the full presence is sent again on reconnect). A
 * link unwritable for {@link #WRITE_TIMEOUT_NANOS} is closed. So a slow sibling costs at most its two
 * queues and never stalls a local client.
 */
final class MeshLink extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(MeshLink.class);
    /** Datagrams queued for one sibling: 1024 full datagrams are 64 MiB at worst; most are small. */
    static final int DATAGRAM_QUEUE = 1024;
    /** Presence and circuit frames queued for one sibling (a full-presence batch is one frame of 1024 keys). */
    static final int CONTROL_QUEUE = 4096;
    /** Routes one sibling may announce: the relay's own client limit is 100 000 by default. */
    static final int MAX_ROUTES_PER_LINK = 1_000_000;
    /**
     * Certified names one sibling may announce: one per key it announced, so never more than its
     * routes (a NAMES entry for a key not announced on the link resets the link).
     */
    static final int MAX_NAMES_PER_LINK = MAX_ROUTES_PER_LINK;
    /** A sibling that reads nothing for this long is cut off (its clients are better served elsewhere). */
    static final long WRITE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** Keepalive period of a link; well under any cloud load balancer's or conntrack's idle timeout. */
    static final int KEEPALIVE_SECONDS = 15;
    /** Silence after which a link is dead: three keepalives missed. */
    static final int IDLE_SECONDS = 3 * KEEPALIVE_SECONDS;

    // Final after construction.
    private final MeshNode mesh;
    final Channel channel;
    final boolean outbound;
    final String peerRelayId;
    /** Where the sibling's public listener is (outbound links: the dialed address; used for circuit connections). */
    final InetSocketAddress peerAddress;
    /**
     * {@link MeshKey#fingerprint} of the key the sibling proved on this link (null in handler tests):
     * when a key file reload stops accepting it, the link is cut and redialled with the current key.
     */
    final byte[] provenKey;

    // Guarded by this (senders on any thread only touch the queues).
    private final ArrayDeque<MeshFrame.Datagram> datagrams = new ArrayDeque<>();
    private final ArrayDeque<MeshFrame> control = new ArrayDeque<>();
    private boolean closed;
    /** One drain task scheduled at a time (any thread). */
    private final AtomicBoolean drainScheduled = new AtomicBoolean();

    // Owned by the link's event loop.
    /** Keys learned over this (outbound) link. */
    final Set<NodeKey> learned = new HashSet<>();

    private long unwritableSince;
    private ScheduledFuture<?> writeCheck;
    private ScheduledFuture<?> keepalive;

    MeshLink(MeshNode mesh, Channel channel, boolean outbound, String peerRelayId, InetSocketAddress peerAddress) {
        this(mesh, channel, outbound, peerRelayId, peerAddress, null);
    }

    MeshLink(
            MeshNode mesh,
            Channel channel,
            boolean outbound,
            String peerRelayId,
            InetSocketAddress peerAddress,
            byte[] provenKey) {
        this.provenKey = provenKey;
        this.mesh = mesh;
        this.channel = channel;
        this.outbound = outbound;
        this.peerRelayId = peerRelayId;
        this.peerAddress = peerAddress;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.pipeline().addBefore(ctx.name(), "mesh-idle", new IdleStateHandler(IDLE_SECONDS, 0, 0));
        keepalive = ctx.executor()
                .scheduleAtFixedRate(
                        () -> enqueueControl(new MeshFrame.Keepalive()),
                        KEEPALIVE_SECONDS,
                        KEEPALIVE_SECONDS,
                        TimeUnit.SECONDS);
    }

    /** Queues a datagram (ownership moves here); the oldest is dropped when the queue is full. Any thread. */
    void enqueueDatagram(MeshFrame.Datagram d) {
        MeshFrame.Datagram evicted = null;
        boolean dropNew = false;
        synchronized (this) {
            if (closed) {
                dropNew = true;
            } else {
                if (datagrams.size() >= DATAGRAM_QUEUE) {
                    evicted = datagrams.pollFirst();
                }
                datagrams.addLast(d);
            }
        }
        if (dropNew) {
            d.release();
            mesh.metrics().meshEvent(MeshEvent.DATAGRAM_QUEUE_FULL);
            return;
        }
        if (evicted != null) {
            evicted.release();
            mesh.metrics().meshEvent(MeshEvent.DATAGRAM_QUEUE_FULL);
        }
        scheduleDrain();
    }

    /** Queues a presence or circuit frame; a full queue resets the link. Any thread. */
    boolean enqueueControl(MeshFrame f) {
        boolean overflow = false;
        synchronized (this) {
            if (closed) {
                return false;
            }
            if (control.size() >= CONTROL_QUEUE) {
                overflow = true;
            } else {
                control.addLast(f);
            }
        }
        if (overflow) {
            mesh.metrics().meshEvent(MeshEvent.CONTROL_QUEUE_FULL);
            log.atWarn()
                    .addKeyValue("event", "mesh_link_reset")
                    .addKeyValue("peer_relay", peerRelayId)
                    .addKeyValue("why", "control queue full")
                    .log("mesh link reset");
            channel.close();
            return false;
        }
        scheduleDrain();
        return true;
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            channel.eventLoop().execute(() -> {
                drainScheduled.set(false);
                drain();
            });
        }
    }

    private void drain() {
        if (!channel.isActive()) {
            return;
        }
        boolean wrote = false;
        while (channel.isWritable()) {
            MeshFrame next;
            synchronized (this) {
                next = control.pollFirst();
                if (next == null) {
                    next = datagrams.pollFirst();
                }
            }
            if (next == null) {
                break;
            }
            if (next instanceof MeshFrame.Datagram) {
                mesh.metrics().meshEvent(MeshEvent.DATAGRAM_SENT);
            }
            channel.write(next, channel.voidPromise());
            wrote = true;
        }
        if (wrote) {
            channel.flush();
        }
        if (!channel.isWritable()) {
            if (unwritableSince == 0) {
                unwritableSince = System.nanoTime();
            }
            if (writeCheck == null || writeCheck.isDone()) {
                writeCheck = channel.eventLoop()
                        .schedule(this::checkWriteTimeout, WRITE_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
            }
        }
    }

    private void checkWriteTimeout() {
        if (unwritableSince != 0 && channel.isActive() && System.nanoTime() - unwritableSince >= WRITE_TIMEOUT_NANOS) {
            mesh.metrics().meshEvent(MeshEvent.WRITE_TIMEOUT);
            log.atWarn()
                    .addKeyValue("event", "mesh_link_write_timeout")
                    .addKeyValue("peer_relay", peerRelayId)
                    .log("mesh link write timeout");
            channel.close();
        } else if (unwritableSince != 0) {
            writeCheck =
                    channel.eventLoop().schedule(this::checkWriteTimeout, WRITE_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            unwritableSince = 0;
            drain();
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case MeshFrame.Present p when outbound -> mesh.routesAdded(this, p.keys());
                case MeshFrame.Gone g when outbound -> mesh.routesRemoved(this, g.keys());
                case MeshFrame.Names n when outbound -> mesh.namesAnnounced(this, n.entries());
                case MeshFrame.CircuitAccepted a when outbound -> mesh.circuitAccepted(this, a);
                case MeshFrame.CircuitRejected r when outbound -> mesh.circuitRejected(this, r);
                case MeshFrame.Datagram d
                when !outbound -> {
                    msg = null; // ownership moves on
                    mesh.deliver(d);
                }
                case MeshFrame.CircuitRequest r when !outbound -> mesh.circuitRequested(this, r);
                case MeshFrame.Keepalive k -> {}
                case MeshFrame.Unknown u -> mesh.metrics().unknownFrame();
                default -> {
                    mesh.metrics().meshEvent(MeshEvent.PROTOCOL_ERROR);
                    log.atWarn()
                            .addKeyValue("event", "mesh_protocol_error")
                            .addKeyValue("peer_relay", peerRelayId)
                            .log(
                                    "unexpected {} on an {} link",
                                    msg.getClass().getSimpleName(),
                                    outbound ? "outbound" : "inbound");
                    ctx.close();
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent
                || evt instanceof ChannelInputShutdownEvent
                || evt instanceof SslCloseCompletionEvent) {
            ctx.close(); // the sibling closed its side (connections allow half-closure for circuits): the link is over
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        closeQueues();
        mesh.linkDown(this);
        super.channelInactive(ctx);
    }

    private void closeQueues() {
        ArrayDeque<MeshFrame.Datagram> left;
        synchronized (this) {
            closed = true;
            left = new ArrayDeque<>(datagrams);
            datagrams.clear();
            control.clear();
        }
        if (writeCheck != null) {
            writeCheck.cancel(false);
        }
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        left.forEach(MeshFrame.Datagram::release);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ProtocolViolation v = Denials.violation(cause);
        if (v != null) {
            mesh.metrics().meshEvent(MeshEvent.PROTOCOL_ERROR);
            log.atWarn()
                    .addKeyValue("event", "mesh_protocol_error")
                    .addKeyValue("peer_relay", peerRelayId)
                    .log("{}", v.getMessage());
        } else {
            log.atDebug()
                    .addKeyValue("event", "mesh_link_error")
                    .addKeyValue("peer_relay", peerRelayId)
                    .addKeyValue("error", cause.toString())
                    .log("mesh link error");
        }
        ctx.close();
    }

    @Override
    public String toString() {
        return "MeshLink[" + (outbound ? "to " : "from ") + peerRelayId + "]";
    }
}
