package dev.burrow.relay.server.circuit;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayConfig;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.CircuitEvent;
import io.netty.channel.Channel;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relay circuits: request → offer → accept/reject → two attaches → byte copy.
 *
 * <p>A CIRCUIT_REQUEST from a dialer is refused (CIRCUIT_REJECTED) when the relay drains, when it is
 * to the dialer itself, when the destination is not connected or does not accept circuits, or when a
 * per-client cap is reached ({@code pendingCircuitsPerClient} offered or attaching,
 * {@code activeCircuitsPerClient} copying, counted for both ends), or when this dialer already holds
 * its share of the listener's pending slots ({@link #pendingShareOfOneDialer}). When the listener's
 * pending slots are all taken, a dialer holding fewer of them than another dialer by at least two
 * takes the slot of that dialer's oldest circuit it has not attached ({@link #evictionVictim}: the
 * max-min fair share). Otherwise the relay makes a random
 * circuit ID and two single-use tokens, and offers the circuit to the listener with its token. The
 * listener's CIRCUIT_ACCEPT sends the dialer its token (CIRCUIT_ACCEPTED). Each end then attaches on
 * a circuit connection; tokens are compared in constant time and consumed on first use, so a reused
 * or late token (after the TTL, the circuit is gone) is refused with DENY. Everything not active
 * within the token TTL is torn down and the dialer is told TIMEOUT if it was still waiting.
 */
public final class CircuitManager {
    private static final Logger log = LoggerFactory.getLogger(CircuitManager.class);

    /** What an attach did. */
    public enum AttachResult { REFUSED, WAITING, JOINED }

    /**
     * Circuits made outside this manager (public ingress) that attach through the same circuit path.
     * Asked only for circuit IDs this manager does not know.
     */
    public interface ExternalCircuits {
        /** The attach's result, or null when {@code a} names none of its circuits. */
        AttachResult attach(Channel ch, ClientFrame.CircuitAttach a);
    }

    private final ConcurrentHashMap<CircuitId, Circuit> circuits = new ConcurrentHashMap<>();
    /** Per client: its circuit counts and open circuits, so a disconnect touches only its own. Guarded by {@code usage}. */
    private final java.util.HashMap<ClientSession, Usage> usage = new java.util.HashMap<>();

    private static final class Usage {
        int pending;
        int active;
        final java.util.Set<Circuit> open = new java.util.HashSet<>();
        /** As a listener: pending circuits by dialer key (at most {@code pending} entries). */
        final java.util.Map<dev.burrow.identity.NodeKey, Integer> pendingByDialer = new java.util.HashMap<>();
    }

    /**
     * The share of a listener's pending slots one dialer may hold: a quarter, at least one. Pending
     * circuits are held until the token TTL by a dialer that never attaches; without a share one
     * peer the listener admits could hold all of its slots and block every other dialer's new
     * connections (found by the hardening review). With a share, it takes four such peers.
     */
    static int pendingShareOfOneDialer(int pendingPerClient) {
        return Math.max(1, pendingPerClient / 4);
    }
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();
    private final ClientRegistry registry;
    private final RelayConfig.Limits limits;
    private final Duration tokenTtl;
    private final Duration idleTimeout;
    private final RelayMetrics metrics;
    private final BooleanSupplier draining;
    private final MeshCircuits mesh;
    /** Takes attaches for circuit IDs this manager does not know (public ingress); null when none. */
    private final ExternalCircuits external;

    public CircuitManager(ClientRegistry registry, RelayConfig.Limits limits, Duration tokenTtl, Duration idleTimeout,
            RelayMetrics metrics, BooleanSupplier draining) {
        this(registry, limits, tokenTtl, idleTimeout, metrics, draining, MeshCircuits.NONE, null);
    }

    /**
     * @param mesh circuits across sibling relays ({@link MeshCircuits#NONE} without a mesh)
     * @param externalOrNull circuits made outside this manager (public ingress) that attach through it
     */
    public CircuitManager(ClientRegistry registry, RelayConfig.Limits limits, Duration tokenTtl, Duration idleTimeout,
            RelayMetrics metrics, BooleanSupplier draining, MeshCircuits mesh, ExternalCircuits externalOrNull) {
        this.mesh = mesh;
        this.external = externalOrNull;
        this.registry = registry;
        this.limits = limits;
        this.tokenTtl = tokenTtl;
        this.idleTimeout = idleTimeout;
        this.metrics = metrics;
        this.draining = draining;
    }

    public int pendingCount() {
        return pending.get();
    }

    public int activeCount() {
        return active.get();
    }

    /** A dialer asks for a circuit; called on the dialer's event loop. */
    public void request(ClientSession dialer, ClientFrame.CircuitRequest req) {
        metrics.circuitEvent(CircuitEvent.REQUESTED);
        if (draining.getAsBoolean()) {
            refuse(dialer, req.requestId(), CircuitRejectReason.RELAY_DRAINING, "relay is draining");
            return;
        }
        if (req.destination().equals(dialer.key())) {
            refuse(dialer, req.requestId(), CircuitRejectReason.BAD_REQUEST, "circuit to self");
            return;
        }
        ClientSession listener = registry.lookup(req.destination());
        if (listener == null && mesh.request(dialer, req)) {
            return; // a sibling relay has the destination (a local client always wins)
        }
        if (listener == null) {
            refuse(dialer, req.requestId(), CircuitRejectReason.PEER_NOT_FOUND, "destination not connected");
            return;
        }
        if (!listener.acceptsCircuits()) {
            refuse(dialer, req.requestId(), CircuitRejectReason.NOT_ALLOWED, "destination does not accept circuits");
            return;
        }
        offer(new Circuit(CircuitId.random(), req.requestId(), dialer, listener, req.service()));
    }

    /**
     * A sibling relay asks for a circuit from its client {@code dialer} to {@code destination}, which
     * must be connected <em>here</em> (a mesh request is never passed on). The answer goes back
     * through {@code dialer}; the dialer end attaches later over a mesh circuit connection.
     */
    public void requestFromMesh(MeshCircuits.RemoteDialer dialer, NodeKey destination, String service) {
        metrics.circuitEvent(CircuitEvent.REQUESTED);
        if (draining.getAsBoolean()) {
            dialer.rejected(CircuitRejectReason.RELAY_DRAINING, "relay is draining");
            return;
        }
        ClientSession listener = registry.lookup(destination);
        if (listener == null) {
            dialer.rejected(CircuitRejectReason.PEER_NOT_FOUND, "destination not connected");
            return;
        }
        if (!listener.acceptsCircuits()) {
            dialer.rejected(CircuitRejectReason.NOT_ALLOWED, "destination does not accept circuits");
            return;
        }
        offer(new Circuit(CircuitId.random(), 0, null, dialer, listener, service));
    }

    private void offer(Circuit c) {
        if (!reservePending(c) && !(evictForFairShare(c) && reservePending(c))) {
            metrics.circuitEvent(CircuitEvent.LIMIT_REACHED);
            refuse(c, CircuitRejectReason.LIMIT_REACHED, "circuit limit reached");
            return;
        }
        circuits.put(c.id, c);
        pending.incrementAndGet();
        synchronized (c) {
            c.timeout = c.listener.channel().eventLoop().schedule(() -> expire(c), tokenTtl.toNanos(), TimeUnit.NANOSECONDS);
        }
        if (!c.listener.enqueueControl(new RelayFrame.CircuitOffer(c.id, c.dialerKey(), c.service, c.listenerToken))) {
            fail(c, CircuitRejectReason.LIMIT_REACHED, "destination busy");
            return;
        }
        metrics.circuitEvent(CircuitEvent.OFFERED);
        log.debug("event=circuit_offered circuit={} dialer={} listener={} service={} via_mesh={}", c.id,
                c.dialerKey().shortId(), c.listener.key().shortId(), c.service, c.remote != null);
    }

    /** The listener accepts; called on the listener's event loop. */
    public void accept(ClientSession listener, ClientFrame.CircuitAccept a) {
        Circuit c = circuits.get(a.circuitId());
        if (c == null || c.listener != listener) {
            return; // unknown or someone else's circuit: nothing to do (the offer may have timed out)
        }
        CircuitToken dialerToken;
        synchronized (c) {
            if (c.state != Circuit.State.OFFERED) {
                return;
            }
            c.state = Circuit.State.ACCEPTED;
            dialerToken = c.dialerToken;
        }
        metrics.circuitEvent(CircuitEvent.ACCEPTED);
        boolean told = dialerToken != null && (c.remote != null ? c.remote.accepted(c.id, dialerToken)
                : c.dialer.enqueueControl(new RelayFrame.CircuitAccepted(c.requestId, c.id, dialerToken)));
        if (!told) {
            fail(c, CircuitRejectReason.INTERNAL, "dialer unreachable");
        }
    }

    /** The listener refuses; called on the listener's event loop. */
    public void reject(ClientSession listener, ClientFrame.CircuitReject r) {
        Circuit c = circuits.get(r.circuitId());
        if (c == null || c.listener != listener) {
            return;
        }
        synchronized (c) {
            if (c.state != Circuit.State.OFFERED) {
                return;
            }
        }
        metrics.circuitEvent(CircuitEvent.REJECTED);
        fail(c, r.reason(), r.message());
    }

    /**
     * A circuit connection presents CIRCUIT_ATTACH. Tokens are compared in constant time (both are
     * always compared) and consumed on success.
     */
    public AttachResult attach(Channel ch, ClientFrame.CircuitAttach a) {
        Circuit c = circuits.get(a.circuitId());
        if (c == null && mesh.attach(ch, a)) {
            return AttachResult.WAITING; // the dialer end of a circuit whose listener is on a sibling relay
        }
        if (c == null) {
            ExternalCircuits e = external;
            AttachResult r = e == null ? null : e.attach(ch, a);
            if (r != null) {
                return r;
            }
            metrics.circuitEvent(CircuitEvent.TOKEN_REFUSED);
            return AttachResult.REFUSED;
        }
        byte[] presented = a.token().bytes();
        boolean join;
        boolean limitHit;
        synchronized (c) {
            if (c.state == Circuit.State.CLOSED || c.state == Circuit.State.ACTIVE) {
                metrics.circuitEvent(CircuitEvent.TOKEN_REFUSED);
                return AttachResult.REFUSED;
            }
            boolean isListener = c.listenerToken != null && MessageDigest.isEqual(c.listenerToken.bytes(), presented);
            boolean isDialer = c.dialerToken != null && c.state == Circuit.State.ACCEPTED
                    && MessageDigest.isEqual(c.dialerToken.bytes(), presented);
            if (isListener) {
                c.listenerToken = null;
                c.listenerChannel = ch;
            } else if (isDialer) {
                c.dialerToken = null;
                c.dialerChannel = ch;
            } else {
                metrics.circuitEvent(CircuitEvent.TOKEN_REFUSED);
                return AttachResult.REFUSED;
            }
            join = c.listenerChannel != null && c.dialerChannel != null;
            limitHit = join && !reserveActive(c);
            if (join && !limitHit) {
                c.state = Circuit.State.ACTIVE;
                if (c.timeout != null) {
                    c.timeout.cancel(false);
                }
            }
        }
        if (limitHit) {
            metrics.circuitEvent(CircuitEvent.LIMIT_REACHED);
            fail(c, CircuitRejectReason.LIMIT_REACHED, "circuit limit reached");
            return AttachResult.REFUSED;
        }
        ch.closeFuture().addListener(f -> channelClosed(c));
        if (!join) {
            return AttachResult.WAITING;
        }
        metrics.circuitEvent(CircuitEvent.ATTACHED);
        log.info("event=circuit_active circuit={} dialer={} listener={} service={}", c.id, c.dialerKey().shortId(),
                c.listener.key().shortId(), c.service);
        CircuitProxy.join(c.dialerChannel, c.listenerChannel, idleTimeout, metrics);
        return AttachResult.JOINED;
    }

    private boolean reserveActive(Circuit c) {
        synchronized (usage) {
            Usage d = c.dialer == null ? new Usage() : usage.get(c.dialer); // a remote dialer is counted on its own relay
            Usage l = usage.get(c.listener);
            if (d == null || l == null || d.active >= limits.activeCircuitsPerClient() || l.active >= limits.activeCircuitsPerClient()) {
                return false;
            }
            d.pending--;
            l.pending--;
            leavePending(l, c);
            d.active++;
            l.active++;
        }
        pending.decrementAndGet();
        active.incrementAndGet();
        return true;
    }

    /**
     * Frees one of the listener's pending slots for {@code c}'s dialer when only the listener's
     * slots stand in the way and another dialer holds at least two more of them: that dialer's
     * oldest circuit it has not attached is failed (LIMIT_REACHED to its dialer, its listener end
     * closed). True if a circuit was evicted.
     */
    private boolean evictForFairShare(Circuit c) {
        List<Circuit> candidates = evictionCandidates(c);
        if (candidates.isEmpty()) {
            return false;
        }
        Circuit victim = evictionVictim(candidates);
        if (victim == null || !end(victim, CircuitRejectReason.LIMIT_REACHED,
                "the destination's pending circuits are full; the slot went to a dialer holding fewer", true)) {
            return false; // it attached or ended meanwhile
        }
        metrics.circuitEvent(CircuitEvent.EVICTED);
        log.info("event=circuit_evicted circuit={} dialer={} listener={} for_dialer={}", victim.id, victim.dialerKey().shortId(),
                victim.listener.key().shortId(), c.dialerKey().shortId());
        return true;
    }

    /**
     * The pending circuits of the dialer holding the most of {@code c}'s listener's slots, when that
     * listener is full, {@code c}'s dialer is within its own caps and share, and that dialer holds at
     * least two more than {@code c}'s (so a swap always narrows the gap: no churn between equals).
     */
    private List<Circuit> evictionCandidates(Circuit c) {
        int perClient = limits.pendingCircuitsPerClient();
        synchronized (usage) {
            Usage l = usage.get(c.listener);
            Usage d = c.dialer == null ? new Usage() : usage.get(c.dialer);
            if (l == null || l.pending < perClient || l.active >= limits.activeCircuitsPerClient()) {
                return List.of();
            }
            if (d != null && (d.pending >= perClient || d.active >= limits.activeCircuitsPerClient())) {
                return List.of();
            }
            int mine = l.pendingByDialer.getOrDefault(c.dialerKey(), 0);
            if (mine >= pendingShareOfOneDialer(perClient)) {
                return List.of();
            }
            NodeKey top = null;
            int most = mine + 1;
            for (var e : l.pendingByDialer.entrySet()) {
                if (e.getValue() > most) {
                    top = e.getKey();
                    most = e.getValue();
                }
            }
            if (top == null) {
                return List.of();
            }
            NodeKey holder = top;
            return l.open.stream().filter(o -> o.dialerKey().equals(holder)).toList();
        }
    }

    /** The oldest of {@code candidates} still pending whose dialer has not attached (a dialer that attached is waiting on the listener). */
    private static Circuit evictionVictim(List<Circuit> candidates) {
        Circuit victim = null;
        for (Circuit o : candidates) {
            synchronized (o) {
                boolean unattached = (o.state == Circuit.State.OFFERED || o.state == Circuit.State.ACCEPTED) && o.dialerChannel == null;
                if (unattached && (victim == null || o.createdNanos - victim.createdNanos < 0)) {
                    victim = o;
                }
            }
        }
        return victim;
    }

    private boolean reservePending(Circuit c) {
        synchronized (usage) {
            Usage d = c.dialer == null ? new Usage() : usage.computeIfAbsent(c.dialer, k -> new Usage());
            Usage l = usage.computeIfAbsent(c.listener, k -> new Usage());
            int fromThisDialer = l.pendingByDialer.getOrDefault(c.dialerKey(), 0);
            if (d.pending >= limits.pendingCircuitsPerClient() || l.pending >= limits.pendingCircuitsPerClient()
                    || fromThisDialer >= pendingShareOfOneDialer(limits.pendingCircuitsPerClient())
                    || d.active >= limits.activeCircuitsPerClient() || l.active >= limits.activeCircuitsPerClient()) {
                if (c.dialer != null) {
                    forgetIfIdle(c.dialer, d);
                }
                forgetIfIdle(c.listener, l);
                return false;
            }
            d.pending++;
            l.pending++;
            l.pendingByDialer.merge(c.dialerKey(), 1, Integer::sum);
            d.open.add(c);
            l.open.add(c);
        }
        return true;
    }

    private void release(Circuit c, boolean wasActive) {
        synchronized (usage) {
            for (ClientSession s : new ClientSession[] {c.dialer, c.listener}) {
                Usage u = s == null ? null : usage.get(s);
                if (u != null) {
                    if (wasActive) {
                        u.active--;
                    } else {
                        u.pending--;
                        if (s == c.listener) {
                            leavePending(u, c);
                        }
                    }
                    u.open.remove(c);
                    forgetIfIdle(s, u);
                }
            }
        }
        (wasActive ? active : pending).decrementAndGet();
    }

    /** Caller holds {@code usage}; {@code listener} is the circuit's listener's usage. */
    private static void leavePending(Usage listener, Circuit c) {
        listener.pendingByDialer.computeIfPresent(c.dialerKey(), (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Caller holds {@code usage}. */
    private void forgetIfIdle(ClientSession s, Usage u) {
        if (u.pending <= 0 && u.active <= 0 && u.open.isEmpty()) {
            usage.remove(s);
        }
    }

    private void channelClosed(Circuit c) {
        boolean wasActive;
        synchronized (c) {
            if (c.state == Circuit.State.CLOSED) {
                return;
            }
            wasActive = c.state == Circuit.State.ACTIVE;
            c.state = Circuit.State.CLOSED;
        }
        circuits.remove(c.id, c);
        release(c, wasActive);
        metrics.circuitEvent(CircuitEvent.CLOSED);
        closeLater(c);
        if (!wasActive) {
            refuse(c, CircuitRejectReason.TIMEOUT, "an end went away before attaching");
        }
    }

    private void expire(Circuit c) {
        synchronized (c) {
            if (c.state == Circuit.State.ACTIVE || c.state == Circuit.State.CLOSED) {
                return;
            }
        }
        metrics.circuitEvent(CircuitEvent.TIMED_OUT);
        fail(c, CircuitRejectReason.TIMEOUT, "not established in time");
    }

    /** Ends a not-yet-active circuit and tells the dialer why. */
    private void fail(Circuit c, CircuitRejectReason reason, String message) {
        end(c, reason, message, false);
    }

    /**
     * Ends a not-yet-active circuit (with {@code onlyIfDialerUnattached}: only while its dialer has
     * not attached) and tells the dialer why. True if this call ended it.
     */
    private boolean end(Circuit c, CircuitRejectReason reason, String message, boolean onlyIfDialerUnattached) {
        synchronized (c) {
            if (c.state == Circuit.State.CLOSED || c.state == Circuit.State.ACTIVE
                    || (onlyIfDialerUnattached && c.dialerChannel != null)) {
                return false;
            }
            c.state = Circuit.State.CLOSED;
            if (c.timeout != null) {
                c.timeout.cancel(false);
            }
        }
        circuits.remove(c.id, c);
        release(c, false);
        closeLater(c);
        refuse(c, reason, message);
        return true;
    }

    private static void closeLater(Circuit c) {
        Channel d;
        Channel l;
        synchronized (c) {
            d = c.dialerChannel;
            l = c.listenerChannel;
        }
        if (d != null) {
            d.close();
        }
        if (l != null) {
            l.close();
        }
    }

    private static void refuse(Circuit c, CircuitRejectReason reason, String message) {
        if (c.remote != null) {
            c.remote.rejected(reason, message);
        } else {
            c.dialer.enqueueControl(new RelayFrame.CircuitRejected(c.requestId, reason, message));
        }
    }

    /**
     * Joins the dialer end of a bridged circuit (attached here) with the mesh circuit connection to the
     * listener's relay, once that relay said CIRCUIT_ATTACHED. The dialer is sent CIRCUIT_ATTACHED; the
     * mesh side is not (its relay already told its own client).
     */
    public void joinBridged(Channel clientEnd, Channel meshEnd) {
        metrics.circuitEvent(CircuitEvent.ATTACHED);
        // Counted as active like a local circuit, so a draining relay waits for it (up to the grace).
        active.incrementAndGet();
        java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
        io.netty.channel.ChannelFutureListener end = f -> {
            if (ended.compareAndSet(false, true)) {
                active.decrementAndGet();
                metrics.circuitEvent(CircuitEvent.CLOSED);
            }
        };
        clientEnd.closeFuture().addListener(end);
        meshEnd.closeFuture().addListener(end);
        CircuitProxy.join(clientEnd, meshEnd, false, idleTimeout, metrics);
    }

    private void refuse(ClientSession dialer, long requestId, CircuitRejectReason reason, String message) {
        dialer.enqueueControl(new RelayFrame.CircuitRejected(requestId, reason, message));
    }

    /** A control connection went away: its offered or attaching circuits end; active ones keep copying. */
    public void clientGone(ClientSession s) {
        List<Circuit> mine;
        synchronized (usage) {
            Usage u = usage.get(s);
            if (u == null) {
                return;
            }
            mine = List.copyOf(u.open);
        }
        for (Circuit c : mine) {
            synchronized (c) {
                if (c.state == Circuit.State.ACTIVE) {
                    continue;
                }
            }
            fail(c, CircuitRejectReason.PEER_NOT_FOUND, "peer disconnected");
        }
        synchronized (usage) {
            Usage u = usage.get(s);
            if (u != null) {
                forgetIfIdle(s, u);
            }
        }
    }

    /** Clients with circuit state (for tests: bounded by connected clients plus those with active circuits). */
    int trackedClients() {
        synchronized (usage) {
            return usage.size();
        }
    }

    /** Closes every circuit (shutdown). */
    public void closeAll() {
        for (Circuit c : List.copyOf(circuits.values())) {
            closeLater(c);
            fail(c, CircuitRejectReason.RELAY_DRAINING, "relay stopping");
        }
    }
}
