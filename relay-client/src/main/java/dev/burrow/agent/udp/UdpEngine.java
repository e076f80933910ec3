package dev.burrow.agent.udp;

import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.log.LogBudget;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's UDP services, both ends: {@link UdpServiceSide} (flows peers open to the services we
 * expose) and {@link UdpForwarder}s (local UDP ports whose sources become flows to a peer's
 * service). Every packet is sealed end to end by the {@link UdpBox} and travels on a
 * {@link UdpPath}; everything stateful runs on one event loop, so flows need no locks.
 *
 * <p>Receiving, in order: the UDP magic (else the datagram is not ours: disco or something later);
 * the box (sender, session, replay window, tag); through the relay, the header's sender must be
 * the relay's authenticated source; then the message goes to the side its direction names. Every
 * drop is counted by reason ({@link UdpDropReason}) and nothing is answered to a packet that did
 * not open.
 */
public final class UdpEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UdpEngine.class);
    /** Environment override of the idle timeouts, {@code UNREPLIED[,ASSURED]} (tests; operators with unusual protocols). */
    public static final String IDLE_ENV = "BURROW_UDP_IDLE_TIMEOUT";
    /**
     * Datagrams per second one local source may send through a forward (0 or unset: no limit). The
     * excess is dropped at the connecting side ({@link UdpDropReason#FLOW_RATE}). The agents' round
     * robin keeps a flood from taking another flow's turn at the agents, but a relay whose queue to the
     * peer overflows drops every flow's datagrams alike: a per-flow rate below what the path carries
     * keeps one source from crowding out the others there.
     */
    public static final String FLOW_RATE_ENV = "BURROW_UDP_FLOW_RATE";

    // Final after construction.
    final NodeIdentity identity;
    final UdpBox box;
    final EventLoop loop;
    final Transport transport;
    final UdpPath path;
    /** Failed peer messages' log lines: a few per window, not one per message. */
    private final LogBudget failureLog = new LogBudget();

    final UdpMetrics metrics;
    final RecentRefusals refusals;
    final Duration idle;
    final Duration assuredIdle;
    /** {@link #FLOW_RATE_ENV}: datagrams per second per local source, 0 for no limit. */
    final double flowRate;

    final UdpServiceSide services;
    private final Map<UdpDropReason, LongAdder> drops = new EnumMap<>(UdpDropReason.class);
    private final LongAdder relayPackets = new LongAdder();
    private final LongAdder directPackets = new LongAdder();
    private final SecureRandom random = new SecureRandom();
    private final List<UdpForwarder> forwarders = new CopyOnWriteArrayList<>();
    private final ScheduledFuture<?> ticker;

    // Event loop only.
    final Map<Long, UdpForwarder.ClientFlow> clientFlows = new HashMap<>();
    private long nextFlow;
    private final ArrayDeque<Outbox> ready = new ArrayDeque<>();
    private boolean drainScheduled;
    /** True while {@link #drain()} runs: a drain it asks for must wait for the next round of I/O. */
    private boolean draining;

    /**
     * One flow's datagrams waiting for the path. Flows with something to send take turns, one
     * datagram each, while the path is writable (round robin): a flood from one flow fills its own
     * outbox and loses its own excess, never another flow's turn.
     */
    static final class Outbox {
        final NodeKey peer;
        final ArrayDeque<UdpMessage> queue = new ArrayDeque<>();
        boolean scheduled;

        Outbox(NodeKey peer) {
            this.peer = peer;
        }
    }

    public UdpEngine(
            NodeIdentity identity,
            NodeVerifier verifier,
            ServiceRegistry registry,
            WhoisTable whois,
            RecentRefusals refusals,
            EventLoop loop,
            Transport transport,
            UdpPath path,
            UdpMetrics metrics,
            Duration idle,
            Duration assuredIdle) {
        this.identity = identity;
        this.box = new UdpBox(identity);
        this.loop = loop;
        this.transport = transport;
        this.path = path;
        this.metrics = metrics;
        this.refusals = refusals;
        this.idle = idle;
        this.assuredIdle = assuredIdle;
        this.flowRate = flowRate(System.getenv(FLOW_RATE_ENV));
        for (UdpDropReason r : UdpDropReason.values()) {
            drops.put(r, new LongAdder());
        }
        this.nextFlow = random.nextInt() & 0xFFFF_FFFFL;
        this.services = new UdpServiceSide(this, verifier, registry, whois);
        this.ticker = loop.scheduleAtFixedRate(this::tick, 250, 250, TimeUnit.MILLISECONDS);
    }

    /** {@link #FLOW_RATE_ENV} parsed: datagrams per second, 0 when unset or 0. */
    public static double flowRate(String env) {
        if (env == null || env.isBlank()) {
            return 0;
        }
        try {
            double r = Double.parseDouble(env.trim());
            if (r < 0 || Double.isNaN(r) || Double.isInfinite(r)) {
                throw new NumberFormatException();
            }
            return r;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    FLOW_RATE_ENV + ": '" + env + "' is not a rate in datagrams per second (0: no limit)");
        }
    }

    /** The idle timeouts from {@link #IDLE_ENV}, else {@link UdpLimits#IDLE_TIMEOUT} and {@link UdpLimits#ASSURED_IDLE_TIMEOUT}. */
    public static Duration[] idleTimeouts(String env) {
        if (env == null || env.isBlank()) {
            return new Duration[] {UdpLimits.IDLE_TIMEOUT, UdpLimits.ASSURED_IDLE_TIMEOUT};
        }
        String[] parts = env.split(",");
        Duration a = parseDuration(parts[0]);
        Duration b = parts.length > 1 ? parseDuration(parts[1]) : a.multipliedBy(4);
        return new Duration[] {a, b};
    }

    private static Duration parseDuration(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            }
            if (t.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
            }
            return Duration.ofSeconds(Long.parseLong(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(IDLE_ENV + ": '" + s + "' is not a duration like 30s or 500ms");
        }
    }

    /**
     * A datagram that came through the relay (source authenticated by the relay). Returns false when
     * it is not a UDP-service packet (left for disco); true when it was taken (processed or dropped).
     */
    public boolean receiveFromRelay(NodeKey source, ByteBuf payload) {
        boolean ours = receive(source, payload);
        if (ours) {
            relayPackets.increment();
        }
        return ours;
    }

    /** A QUIC datagram from the direct path; {@code peer} is the QUIC-verified peer. */
    public void receiveDirect(NodeKey peer, ByteBuf payload) {
        if (receive(peer, payload)) {
            directPackets.increment();
        } else {
            drop(UdpDropReason.MALFORMED); // QUIC datagrams carry nothing else
        }
    }

    /**
     * A packet from any path whose sender the path authenticated ({@code source}: the relay's
     * source, or the QUIC-verified peer); false when it is not a UDP-service packet. The payload is
     * not consumed.
     */
    public boolean receive(NodeKey source, ByteBuf payload) {
        if (!UdpCodec.looksLikeUdp(payload)) {
            return false;
        }
        ByteBuf copy = payload.retainedDuplicate();
        try {
            loop.execute(() -> {
                try {
                    process(source, copy);
                } finally {
                    copy.release();
                }
            });
        } catch (RuntimeException e) { // the loop is shutting down
            copy.release();
        }
        return true;
    }

    /** A packet from any path; {@code source} is the path's authenticated sender, or null when the box alone proves it. */
    void process(NodeKey source, ByteBuf packet) {
        UdpBox.Result r = box.open(packet);
        if (r.dropped() != null) {
            drop(r.dropped());
            return;
        }
        UdpBox.Opened o = r.opened();
        if (source != null && !source.equals(o.sender())) {
            drop(UdpDropReason.UNKNOWN_SENDER); // a relay naming one sender for another's packet
            return;
        }
        try {
            switch (o.message()) {
                case UdpMessage.ToService m -> services.receive(o.sender(), o.session(), m);
                case UdpMessage.ToClient m -> toClient(o.sender(), m);
                case UdpMessage.Unknown u -> drop(UdpDropReason.UNEXPECTED);
            }
        } catch (RuntimeException e) {
            failureLog.warn(log, "UDP message from {} failed: {}", o.sender().shortId(), e.toString());
            drop(UdpDropReason.MALFORMED);
        }
    }

    private void toClient(NodeKey sender, UdpMessage.ToClient m) {
        UdpForwarder.ClientFlow f = clientFlows.get(m.flow());
        if (f == null || !f.peerIs(sender)) {
            drop(UdpDropReason.UNKNOWN_FLOW);
            return;
        }
        f.forwarder().fromPeer(f, m);
    }

    /** Starts a forward: binds its socket; completes with it (or the bind failure). */
    public CompletableFuture<UdpForwarder> startForward(UdpForwarder.Spec spec) {
        UdpForwarder f = new UdpForwarder(this, spec);
        return f.start().thenApply(x -> {
            forwarders.add(f);
            return f;
        });
    }

    void forwarderClosed(UdpForwarder f) {
        forwarders.remove(f);
    }

    /**
     * Queues a datagram in its flow's outbox; false (not counted here) when the outbox is full. Does
     * not send: a drain runs once the loop has finished its current reads (see {@link #drain()}).
     */
    boolean enqueue(Outbox box, UdpMessage m) {
        if (box.queue.size() >= UdpLimits.MAX_QUEUED_PER_FLOW) {
            return false;
        }
        box.queue.add(m);
        if (!box.scheduled) {
            box.scheduled = true;
            ready.add(box);
        }
        scheduleDrain(false);
        return true;
    }

    /**
     * One drain pending at a time: {@code later} (a full path) waits {@link UdpLimits#DRAIN_RETRY};
     * otherwise it runs after the loop's current work: at once after the read batch that queued it,
     * or, for a backlog left by a drain's budget, after the next round of I/O.
     */
    private void scheduleDrain(boolean later) {
        if (drainScheduled) {
            return;
        }
        drainScheduled = true;
        Runnable task = () -> {
            drainScheduled = false;
            drain();
        };
        if (later) {
            loop.schedule(task, UdpLimits.DRAIN_RETRY.toNanos(), TimeUnit.NANOSECONDS);
        } else if (loop.inEventLoop() && draining) {
            // a scheduled task (even with no delay) runs only after the loop polled its sockets again
            loop.schedule(task, 0, TimeUnit.NANOSECONDS);
        } else {
            loop.execute(task);
        }
    }

    /**
     * Sends from the outboxes in turn, one datagram per flow per turn, while the path takes them and
     * at most {@link UdpLimits#DRAIN_BUDGET} per run (loop only). The budget keeps reading ahead of
     * sealing under overload: the loop reads a whole batch from its sockets (cheap) between two
     * drains, so a flooding source overflows its own outbox, where its excess is dropped and counted,
     * rather than the kernel's receive buffer that every source of a forward shares.
     */
    private void drain() {
        int budget = UdpLimits.DRAIN_BUDGET;
        draining = true;
        try {
            while (!ready.isEmpty()) {
                Outbox box = ready.peek();
                if (!path.writable(box.peer)) {
                    scheduleDrain(true);
                    return;
                }
                if (budget-- == 0) {
                    scheduleDrain(false);
                    return;
                }
                ready.poll();
                UdpMessage m = box.queue.poll();
                if (m != null) {
                    send(box.peer, m);
                }
                if (box.queue.isEmpty()) {
                    box.scheduled = false;
                } else {
                    ready.add(box);
                }
            }
        } finally {
            draining = false;
        }
    }

    /** Forgets what a closed flow still had queued. */
    void discard(Outbox box) {
        box.queue.clear();
        ready.remove(box);
        box.scheduled = false;
    }

    /** Seals and sends; false (and counted under {@code PATH}) when the path would not take it. */
    boolean send(NodeKey peer, UdpMessage m) {
        ByteBuf packet;
        try {
            packet = box.seal(peer, m, ByteBufAllocator.DEFAULT);
        } catch (IllegalArgumentException e) {
            drop(UdpDropReason.UNKNOWN_SENDER);
            return false;
        }
        if (!path.send(peer, packet)) {
            drop(UdpDropReason.PATH);
            return false;
        }
        return true;
    }

    /** The largest user datagram the path to {@code peer} carries now. */
    int usablePayload(NodeKey peer) {
        int mp = path.maxPacket(peer);
        int max = mp <= 0 ? UdpLimits.MAX_PACKET : Math.min(mp, UdpLimits.MAX_PACKET); // no path now: sending says so
        return Math.max(0, max - UdpLimits.DATA_OVERHEAD);
    }

    void drop(UdpDropReason r) {
        drops.get(r).increment();
        metrics.dropped(r);
    }

    long dropped(UdpDropReason r) {
        return drops.get(r).sum();
    }

    /** A new flow ID not in use here (loop only). */
    long newFlowId() {
        while (true) {
            long id = nextFlow;
            nextFlow = (nextFlow + 1) & 0xFFFF_FFFFL;
            if (!clientFlows.containsKey(id)) {
                return id;
            }
        }
    }

    private void tick() {
        long now = System.nanoTime();
        try {
            services.tick(now);
            for (UdpForwarder f : forwarders) {
                f.tick(now);
            }
        } catch (RuntimeException e) {
            log.warn("UDP flow timer failed", e);
        }
    }

    /** Drops the flows of services no longer exposed as UDP (after a reload). */
    public void servicesChanged() {
        loop.execute(services::servicesChanged);
    }

    /** A snapshot for status (waits briefly for the loop). */
    public UdpStatus status() {
        CompletableFuture<UdpStatus> f = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                try {
                    f.complete(snapshot());
                } catch (RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
            return f.get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            return new UdpStatus(0, List.of(), dropCounts(), relayPackets.sum(), directPackets.sum());
        }
    }

    private UdpStatus snapshot() {
        long now = System.nanoTime();
        List<UdpStatus.Flow> flows = new ArrayList<>();
        int open = 0;
        for (UdpForwarder f : forwarders) {
            open += f.flowCount();
            f.addStatus(flows, now);
        }
        open += services.flowCount();
        services.addStatus(flows, now);
        if (flows.size() > UdpLimits.MAX_STATUS_FLOWS) {
            flows = flows.subList(0, UdpLimits.MAX_STATUS_FLOWS);
        }
        return new UdpStatus(open, flows, dropCounts(), relayPackets.sum(), directPackets.sum());
    }

    private Map<String, Long> dropCounts() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (var e : drops.entrySet()) {
            long n = e.getValue().sum();
            if (n > 0) {
                out.put(e.getKey().name().toLowerCase(Locale.ROOT), n);
            }
        }
        return out;
    }

    @Override
    public void close() {
        ticker.cancel(false);
        for (UdpForwarder f : forwarders) {
            f.close();
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                services.closeAll(UdpCloseReason.SHUTDOWN);
                done.complete(null);
            });
            done.get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.debug("closing UDP flows: {}", e.toString());
        }
    }
}
