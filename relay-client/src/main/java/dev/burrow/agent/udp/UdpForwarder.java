package dev.burrow.agent.udp;

import dev.burrow.agent.log.LogBudget;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeKey;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.security.cert.CertificateEncodingException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connecting end of one UDP forward: one bound UDP socket; each local source address is one
 * flow to the peer's service. A new source sends OPEN (with our node certificate) and holds up to
 * {@link UdpLimits#MAX_PENDING_PER_FLOW} datagrams until OPENED; a refused source is held off for
 * {@link UdpLimits#REFUSAL_HOLD}. Datagrams larger than the path carries are refused here, counted.
 */
public final class UdpForwarder {
    private static final Logger log = LoggerFactory.getLogger(UdpForwarder.class);

    /**
     * @param peer resolves the peer's key (a key or alias at once; a node name through the relay)
     * @param peerLabel what the user wrote (status, refusals)
     * @param maxFlows sources at once; one more is dropped and counted ({@code no_flow})
     */
    public record Spec(
            String listenHost,
            int listenPort,
            Supplier<CompletableFuture<NodeKey>> peer,
            String peerLabel,
            String service,
            int maxFlows) {}

    enum State {
        RESOLVING,
        OPENING,
        OPEN,
        REFUSED
    }

    final class ClientFlow {
        final long id;
        final InetSocketAddress source;
        NodeKey peer;
        State state = State.RESOLVING;
        final ArrayDeque<byte[]> pending = new ArrayDeque<>();
        UdpEngine.Outbox outbox;
        int tries;
        long nextTryNanos;
        long lastNanos = System.nanoTime();
        long refusedUntilNanos;
        byte[] session;
        boolean replied;
        long packetsOut;
        long packetsIn;
        long bytesOut;
        long bytesIn;
        long drops;
        /** Per-flow rate ({@link UdpEngine#FLOW_RATE_ENV}): datagrams this source may still send now. */
        double tokens = -1;

        long tokensAtNanos;

        ClientFlow(long id, InetSocketAddress source) {
            this.id = id;
            this.source = source;
        }

        /** Takes one datagram's token at the engine's per-flow rate; true when there is no limit. */
        boolean withinRate(long now) {
            double rate = engine.flowRate;
            if (rate <= 0) {
                return true;
            }
            double burst = Math.max(UdpLimits.FLOW_RATE_MIN_BURST, rate / 10); // 100 ms worth
            if (tokens < 0) {
                tokens = burst;
            } else {
                tokens = Math.min(burst, tokens + (now - tokensAtNanos) * rate / 1e9);
            }
            tokensAtNanos = now;
            if (tokens < 1) {
                return false;
            }
            tokens -= 1;
            return true;
        }

        boolean peerIs(NodeKey k) {
            return k.equals(peer);
        }

        UdpForwarder forwarder() {
            return UdpForwarder.this;
        }

        void dropped(UdpDropReason r) {
            drops++;
            engine.drop(r);
        }
    }

    private final UdpEngine engine;
    private final Spec spec;
    private final byte[] certificate;
    /** Refused flows' log lines: a local client retrying in a loop writes a few per window, not one each. */
    private final LogBudget refusalLog = new LogBudget();

    private volatile Channel socket;

    // Event loop only.
    private final Map<InetSocketAddress, ClientFlow> bySource = new HashMap<>();

    UdpForwarder(UdpEngine engine, Spec spec) {
        this.engine = engine;
        this.spec = spec;
        try {
            this.certificate = engine.identity.certificateChain().get(0).getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("own certificate does not encode", e);
        }
    }

    public Spec spec() {
        return spec;
    }

    /** The bound address (null before start). */
    public InetSocketAddress boundAddress() {
        Channel c = socket;
        return c == null ? null : (InetSocketAddress) c.localAddress();
    }

    public boolean isListening() {
        Channel c = socket;
        return c != null && c.isActive();
    }

    CompletableFuture<UdpForwarder> start() {
        CompletableFuture<UdpForwarder> result = new CompletableFuture<>();
        Bootstrap b = new Bootstrap()
                .group(engine.loop)
                .channel(engine.transport.datagramChannel())
                // read a whole batch per round (the engine seals fewer per round: see UdpEngine.drain)
                .option(
                        ChannelOption.RCVBUF_ALLOCATOR,
                        new FixedRecvByteBufAllocator(UdpLimits.READ_BUFFER).maxMessagesPerRead(UdpLimits.READ_BATCH))
                .option(ChannelOption.SO_RCVBUF, UdpLimits.FORWARD_RCVBUF)
                .option(
                        ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(
                                UdpLimits.MAX_TARGET_QUEUE_BYTES / 2, UdpLimits.MAX_TARGET_QUEUE_BYTES))
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        fromLocal(p);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        log.debug("UDP forward {}: {}", label(), cause.toString());
                    }
                });
        b.bind(new InetSocketAddress(spec.listenHost(), spec.listenPort())).addListener(f -> {
            if (f.isSuccess()) {
                socket = ((io.netty.channel.ChannelFuture) f).channel();
                log.info("UDP forward {} listening on {}", label(), boundAddress());
                result.complete(this);
            } else {
                result.completeExceptionally(f.cause());
            }
        });
        return result;
    }

    String label() {
        return spec.peerLabel() + "/" + spec.service();
    }

    private void fromLocal(DatagramPacket p) {
        InetSocketAddress source = p.sender();
        int n = p.content().readableBytes();
        ClientFlow f = bySource.get(source);
        if (f == null) {
            if (bySource.size() >= spec.maxFlows()) {
                engine.drop(UdpDropReason.NO_FLOW);
                return;
            }
            f = new ClientFlow(engine.newFlowId(), source);
            bySource.put(source, f);
            engine.clientFlows.put(f.id, f);
            resolve(f);
        }
        if (f.state == State.REFUSED) {
            f.dropped(UdpDropReason.REFUSED);
            return;
        }
        int usable = engine.usablePayload(f.peer); // the path's limit (the peer may still be resolving)
        if (n > usable || n > UdpLimits.MAX_PAYLOAD) {
            f.dropped(UdpDropReason.TOO_LARGE);
            return;
        }
        long now = System.nanoTime();
        if (!f.withinRate(now)) {
            f.dropped(UdpDropReason.FLOW_RATE);
            return;
        }
        byte[] payload = new byte[n];
        p.content().readBytes(payload);
        f.lastNanos = now;
        if (f.state != State.OPEN) {
            if (f.pending.size() >= UdpLimits.MAX_PENDING_PER_FLOW) {
                f.dropped(UdpDropReason.QUEUE_FULL);
                return;
            }
            f.pending.add(payload);
            return;
        }
        sendData(f, payload);
    }

    private void sendData(ClientFlow f, byte[] payload) {
        if (engine.enqueue(f.outbox, new UdpMessage.Data(f.id, payload))) {
            f.packetsOut++;
            f.bytesOut += payload.length;
            engine.metrics.datagram(UdpMetrics.Side.CONNECT, true, payload.length);
        } else {
            f.dropped(UdpDropReason.QUEUE_FULL);
        }
    }

    private void resolve(ClientFlow f) {
        CompletableFuture<NodeKey> k;
        try {
            k = spec.peer().get();
        } catch (RuntimeException e) {
            k = CompletableFuture.failedFuture(e);
        }
        k.whenComplete((key, err) -> engine.loop.execute(() -> {
            if (f.state != State.RESOLVING || bySource.get(f.source) != f) {
                return;
            }
            if (err != null || key == null) {
                refused(
                        f,
                        StreamStatusCode.PEER_NOT_FOUND,
                        "peer " + spec.peerLabel() + " not found: " + (err == null ? "no key" : err.getMessage()),
                        "this agent");
                return;
            }
            f.peer = key;
            f.outbox = new UdpEngine.Outbox(key);
            f.state = State.OPENING;
            f.session = engine.box.sendSession(key);
            sendOpen(f, System.nanoTime());
        }));
    }

    private void sendOpen(ClientFlow f, long now) {
        f.tries++;
        f.nextTryNanos = now + UdpLimits.OPEN_RETRY.toNanos();
        engine.send(f.peer, new UdpMessage.Open(f.id, spec.service(), certificate));
    }

    /** A message from the flow's peer (checked by the engine). */
    void fromPeer(ClientFlow f, UdpMessage.ToClient m) {
        switch (m) {
            case UdpMessage.Opened o -> {
                if (f.state != State.OPENING && f.state != State.OPEN) {
                    engine.drop(UdpDropReason.UNEXPECTED);
                    return;
                }
                if (!Arrays.equals(o.session(), f.session)) {
                    engine.drop(UdpDropReason.UNKNOWN_FLOW); // an answer to an OPEN of another session of ours
                    return;
                }
                if (f.state == State.OPENING) {
                    f.state = State.OPEN;
                    engine.metrics.flowOpened(UdpMetrics.Side.CONNECT);
                    while (!f.pending.isEmpty()) {
                        sendData(f, f.pending.poll());
                    }
                }
            }
            case UdpMessage.Refused r -> {
                if (f.state != State.OPENING) {
                    engine.drop(UdpDropReason.UNEXPECTED);
                    return;
                }
                refused(f, StreamStatusCode.fromCode(r.code()), r.reason(), "peer");
            }
            case UdpMessage.Reply r -> {
                if (f.state != State.OPEN) {
                    engine.drop(UdpDropReason.UNKNOWN_FLOW);
                    return;
                }
                int n = r.payload().length;
                f.lastNanos = System.nanoTime();
                f.replied = true;
                f.packetsIn++;
                f.bytesIn += n;
                engine.metrics.datagram(UdpMetrics.Side.CONNECT, false, n);
                Channel s = socket;
                if (s == null || !s.isWritable()) {
                    f.dropped(UdpDropReason.QUEUE_FULL);
                    return;
                }
                s.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(r.payload()), f.source));
            }
            case UdpMessage.Closed c -> {
                log.debug("UDP flow {} of {} closed by the peer: {}", f.id, label(), UdpCloseReason.of(c.reason()));
                forget(f, UdpCloseReason.PEER_CLOSED, false);
            }
        }
    }

    private void refused(ClientFlow f, StreamStatusCode code, String message, String by) {
        f.state = State.REFUSED;
        f.drops += f.pending.size();
        f.pending.clear();
        f.refusedUntilNanos = System.nanoTime() + UdpLimits.REFUSAL_HOLD.toNanos();
        engine.metrics.flowRefused(UdpMetrics.Side.CONNECT, code);
        engine.refusals.add(new RecentRefusals.Refusal(
                Instant.now(), Direction.OUTBOUND, spec.peerLabel(), spec.service(), code, by, message));
        refusalLog.info(log, "UDP flow from {} to {} refused: {} ({})", f.source, label(), code, message);
    }

    private void forget(ClientFlow f, UdpCloseReason reason, boolean tellPeer) {
        bySource.remove(f.source, f);
        engine.clientFlows.remove(f.id, f);
        if (f.outbox != null) {
            engine.discard(f.outbox);
        }
        if (f.state == State.OPEN) {
            engine.metrics.flowClosed(UdpMetrics.Side.CONNECT, reason);
        }
        if (tellPeer && f.peer != null && (f.state == State.OPEN || f.state == State.OPENING)) {
            engine.send(f.peer, new UdpMessage.Close(f.id, reason.code()));
        }
    }

    int flowCount() {
        return bySource.size();
    }

    void tick(long now) {
        for (ClientFlow f : List.copyOf(bySource.values())) {
            switch (f.state) {
                case REFUSED -> {
                    if (now - f.refusedUntilNanos > 0) {
                        forget(f, UdpCloseReason.REFUSED, false);
                    }
                }
                case OPENING -> {
                    if (now - f.nextTryNanos >= 0) {
                        if (f.tries >= UdpLimits.MAX_OPEN_TRIES) {
                            f.drops += f.pending.size();
                            forget(f, UdpCloseReason.UNANSWERED, true);
                        } else {
                            sendOpen(f, now);
                        }
                    }
                }
                case OPEN -> {
                    long limit = (f.replied ? engine.assuredIdle : engine.idle).toNanos();
                    if (now - f.lastNanos > limit) {
                        forget(f, UdpCloseReason.IDLE, true);
                    }
                }
                case RESOLVING -> {
                    if (now - f.lastNanos > engine.idle.toNanos()) {
                        forget(f, UdpCloseReason.UNANSWERED, false);
                    }
                }
            }
        }
    }

    void addStatus(List<UdpStatus.Flow> out, long now) {
        for (ClientFlow f : bySource.values()) {
            out.add(new UdpStatus.Flow(
                    "connect",
                    f.peer == null ? spec.peerLabel() : f.peer.nodeId(),
                    spec.service(),
                    f.source.getAddress().getHostAddress() + ":" + f.source.getPort(),
                    f.peer == null ? "" : engine.path.name(f.peer),
                    f.state.name().toLowerCase(java.util.Locale.ROOT),
                    f.packetsOut,
                    f.packetsIn,
                    f.bytesOut,
                    f.bytesIn,
                    f.drops,
                    (now - f.lastNanos) / 1_000_000));
        }
    }

    /** Closes the socket and forgets every flow (telling the peer). */
    public void close() {
        Channel c = socket;
        engine.forwarderClosed(this);
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            engine.loop.execute(() -> {
                for (ClientFlow f : List.copyOf(bySource.values())) {
                    forget(f, UdpCloseReason.SHUTDOWN, true);
                }
                done.complete(null);
            });
            done.get(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            log.debug("closing UDP forward {}: {}", label(), e.toString());
        }
        if (c != null) {
            c.close().awaitUninterruptibly(2, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
