package dev.burrow.relay.server.circuit;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.CircuitEvent;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relay circuits: request → offer → accept/reject → two attaches → byte copy.
 *
 * <p>A CIRCUIT_REQUEST from a dialer is refused (CIRCUIT_REJECTED) when the relay drains, when it is
 * to the dialer itself, when the destination is not connected or does not accept circuits, or when a
 * per-client cap is reached ({@code pendingCircuitsPerClient} offered or attaching,
 * {@code activeCircuitsPerClient} copying, counted for both ends), or when this dialer already holds
 * its share of the listener's pending slots ({@link CircuitSlots#pendingShareOfOneDialer}). When the listener's
 * pending slots are all taken, a dialer holding fewer of them than another dialer by at least two
 * takes the slot of that dialer's oldest circuit it has not attached ({@link CircuitSlots#oldest}: the
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
    public enum AttachResult {
        REFUSED,
        WAITING,
        JOINED
    }

    /**
     * Circuits made outside this manager (public ingress) that attach through the same circuit path.
     * Asked only for circuit IDs this manager does not know.
     */
    public interface ExternalCircuits {
        /** The attach's result, or null when {@code a} names none of its circuits. */
        AttachResult attach(Channel ch, ClientFrame.CircuitAttach a);
    }

    // Final after construction.
    private final ClientRegistry registry;
    private final Duration tokenTtl;
    private final Duration idleTimeout;
    private final RelayMetrics metrics;
    private final BooleanSupplier draining;
    private final MeshCircuits mesh;
    /** Takes attaches for circuit IDs this manager does not know (public ingress); null when none. */
    private final ExternalCircuits external;
    /** Nanoseconds for circuits' ages ({@link System#nanoTime} but in tests). */
    private final LongSupplier clock;

    // Concurrent (any event loop). Each circuit guards its own state; the slots guard the counts.
    private final ConcurrentHashMap<CircuitId, Circuit> circuits = new ConcurrentHashMap<>();
    private final CircuitSlots<ClientSession, Circuit> slots;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();

    public CircuitManager(
            ClientRegistry registry,
            RelayConfig.Limits limits,
            Duration tokenTtl,
            Duration idleTimeout,
            RelayMetrics metrics,
            BooleanSupplier draining) {
        this(registry, limits, tokenTtl, idleTimeout, metrics, draining, MeshCircuits.NONE, null);
    }

    /**
     * @param mesh circuits across sibling relays ({@link MeshCircuits#NONE} without a mesh)
     * @param externalOrNull circuits made outside this manager (public ingress) that attach through it
     */
    public CircuitManager(
            ClientRegistry registry,
            RelayConfig.Limits limits,
            Duration tokenTtl,
            Duration idleTimeout,
            RelayMetrics metrics,
            BooleanSupplier draining,
            MeshCircuits mesh,
            ExternalCircuits externalOrNull) {
        this(registry, limits, tokenTtl, idleTimeout, metrics, draining, mesh, externalOrNull, System::nanoTime);
    }

    CircuitManager(
            ClientRegistry registry,
            RelayConfig.Limits limits,
            Duration tokenTtl,
            Duration idleTimeout,
            RelayMetrics metrics,
            BooleanSupplier draining,
            MeshCircuits mesh,
            ExternalCircuits externalOrNull,
            LongSupplier clock) {
        this.mesh = mesh;
        this.external = externalOrNull;
        this.registry = registry;
        this.tokenTtl = tokenTtl;
        this.idleTimeout = idleTimeout;
        this.metrics = metrics;
        this.draining = draining;
        this.clock = clock;
        this.slots = new CircuitSlots<>(limits.pendingCircuitsPerClient(), limits.activeCircuitsPerClient());
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
        offer(new Circuit(CircuitId.random(), req.requestId(), dialer, listener, req.service(), clock.getAsLong()));
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
        offer(new Circuit(CircuitId.random(), 0, null, dialer, listener, service, clock.getAsLong()));
    }

    private void offer(Circuit c) {
        if (!slots.reservePending(c) && !(evictForFairShare(c) && slots.reservePending(c))) {
            metrics.circuitEvent(CircuitEvent.LIMIT_REACHED);
            refuse(
                    c,
                    CircuitRejectReason.LIMIT_REACHED,
                    "relay limit: too many circuits pending or active for this node or the peer");
            return;
        }
        circuits.put(c.id, c);
        pending.incrementAndGet();
        c.timeout(c.listener.channel().eventLoop().schedule(() -> expire(c), tokenTtl.toNanos(), TimeUnit.NANOSECONDS));
        if (!c.listener.enqueueControl(
                new RelayFrame.CircuitOffer(c.id, c.dialerKey(), c.service, c.listenerToken()))) {
            fail(c, CircuitRejectReason.LIMIT_REACHED, "destination busy");
            return;
        }
        metrics.circuitEvent(CircuitEvent.OFFERED);
        log.atDebug()
                .addKeyValue("event", "circuit_offered")
                .addKeyValue("circuit", c.id)
                .addKeyValue("dialer", c.dialerKey().shortId())
                .addKeyValue("listener", c.listener.key().shortId())
                .addKeyValue("service", c.service)
                .addKeyValue("via_mesh", c.remote != null)
                .log("circuit offered");
    }

    /** The listener accepts; called on the listener's event loop. */
    public void accept(ClientSession listener, ClientFrame.CircuitAccept a) {
        Circuit c = circuits.get(a.circuitId());
        if (c == null || c.listener != listener) {
            return; // unknown or someone else's circuit: nothing to do (the offer may have timed out)
        }
        CircuitToken dialerToken = c.accept();
        if (dialerToken == null) {
            return; // no longer offered
        }
        metrics.circuitEvent(CircuitEvent.ACCEPTED);
        boolean told = (c.remote != null
                ? c.remote.accepted(c.id, dialerToken)
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
        if (!c.offered()) {
            return;
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
        Circuit.Pairing pairing = c.present(a.token().bytes(), ch);
        if (pairing == Circuit.Pairing.REFUSED) {
            metrics.circuitEvent(CircuitEvent.TOKEN_REFUSED);
            return AttachResult.REFUSED;
        }
        boolean join = pairing == Circuit.Pairing.PAIRED;
        boolean limitHit = join && !reserveActive(c);
        if (join && !limitHit) {
            c.activate();
        }
        if (limitHit) {
            metrics.circuitEvent(CircuitEvent.LIMIT_REACHED);
            fail(
                    c,
                    CircuitRejectReason.LIMIT_REACHED,
                    "relay limit: too many active circuits for this node or the peer");
            return AttachResult.REFUSED;
        }
        ch.closeFuture().addListener(f -> channelClosed(c));
        if (!join) {
            return AttachResult.WAITING;
        }
        metrics.circuitEvent(CircuitEvent.ATTACHED);
        metrics.circuitSetup(System.nanoTime() - c.createdNanos);
        log.atInfo()
                .addKeyValue("event", "circuit_active")
                .addKeyValue("circuit", c.id)
                .addKeyValue("dialer", c.dialerKey().shortId())
                .addKeyValue("listener", c.listener.key().shortId())
                .addKeyValue("service", c.service)
                .log("circuit active");
        CircuitProxy.join(c.dialerChannel(), c.listenerChannel(), idleTimeout, metrics);
        return AttachResult.JOINED;
    }

    private boolean reserveActive(Circuit c) {
        if (!slots.reserveActive(c)) {
            return false;
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
        List<Circuit> candidates = slots.evictionCandidates(c);
        if (candidates.isEmpty()) {
            return false;
        }
        Circuit victim = CircuitSlots.oldest(candidates, Circuit::evictable);
        if (victim == null
                || !end(
                        victim,
                        CircuitRejectReason.LIMIT_REACHED,
                        "the destination's pending circuits are full; the slot went to a dialer holding fewer",
                        true)) {
            return false; // it attached or ended meanwhile
        }
        metrics.circuitEvent(CircuitEvent.EVICTED);
        log.atInfo()
                .addKeyValue("event", "circuit_evicted")
                .addKeyValue("circuit", victim.id)
                .addKeyValue("dialer", victim.dialerKey().shortId())
                .addKeyValue("listener", victim.listener.key().shortId())
                .addKeyValue("for_dialer", c.dialerKey().shortId())
                .log("circuit evicted");
        return true;
    }

    private void release(Circuit c, boolean wasActive) {
        slots.release(c, wasActive);
        (wasActive ? active : pending).decrementAndGet();
    }

    private void channelClosed(Circuit c) {
        Boolean closed = c.close();
        if (closed == null) {
            return; // closed already
        }
        boolean wasActive = closed;
        circuits.remove(c.id, c);
        release(c, wasActive);
        metrics.circuitEvent(CircuitEvent.CLOSED);
        closeLater(c);
        if (!wasActive) {
            refuse(c, CircuitRejectReason.TIMEOUT, "an end went away before attaching");
        }
    }

    private void expire(Circuit c) {
        if (!c.notYetActive()) {
            return;
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
        if (!c.endIfNotActive(onlyIfDialerUnattached)) {
            return false;
        }
        circuits.remove(c.id, c);
        release(c, false);
        closeLater(c);
        refuse(c, reason, message);
        return true;
    }

    private static void closeLater(Circuit c) {
        Channel d = c.dialerChannel();
        Channel l = c.listenerChannel();
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
        AtomicBoolean ended = new AtomicBoolean();
        ChannelFutureListener end = f -> {
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
        for (Circuit c : slots.openOf(s)) {
            if (c.notYetActive()) {
                fail(c, CircuitRejectReason.PEER_NOT_FOUND, "peer disconnected");
            }
        }
        slots.forgetIfIdle(s);
    }

    /** Clients with circuit state (for tests: bounded by connected clients plus those with active circuits). */
    int trackedClients() {
        return slots.trackedClients();
    }

    /** Closes every circuit (shutdown). */
    public void closeAll() {
        for (Circuit c : List.copyOf(circuits.values())) {
            closeLater(c);
            fail(c, CircuitRejectReason.RELAY_DRAINING, "relay stopping");
        }
    }
}
