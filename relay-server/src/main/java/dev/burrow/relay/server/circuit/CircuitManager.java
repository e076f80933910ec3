package dev.burrow.relay.server.circuit;

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
 * {@code activeCircuitsPerClient} copying, counted for both ends). Otherwise the relay makes a random
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

    private final ConcurrentHashMap<CircuitId, Circuit> circuits = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<ClientSession, int[]> counts = new ConcurrentHashMap<>(); // [pending, active]
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();
    private final ClientRegistry registry;
    private final RelayConfig.Limits limits;
    private final Duration tokenTtl;
    private final Duration idleTimeout;
    private final RelayMetrics metrics;
    private final BooleanSupplier draining;

    public CircuitManager(ClientRegistry registry, RelayConfig.Limits limits, Duration tokenTtl, Duration idleTimeout,
            RelayMetrics metrics, BooleanSupplier draining) {
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
        if (listener == null) {
            refuse(dialer, req.requestId(), CircuitRejectReason.PEER_NOT_FOUND, "destination not connected");
            return;
        }
        if (!listener.acceptsCircuits()) {
            refuse(dialer, req.requestId(), CircuitRejectReason.NOT_ALLOWED, "destination does not accept circuits");
            return;
        }
        Circuit c = new Circuit(CircuitId.random(), req.requestId(), dialer, listener, req.service());
        if (!reservePending(dialer, listener)) {
            metrics.circuitEvent(CircuitEvent.LIMIT_REACHED);
            refuse(dialer, req.requestId(), CircuitRejectReason.LIMIT_REACHED, "circuit limit reached");
            return;
        }
        circuits.put(c.id, c);
        pending.incrementAndGet();
        synchronized (c) {
            c.timeout = dialer.channel().eventLoop().schedule(() -> expire(c), tokenTtl.toNanos(), TimeUnit.NANOSECONDS);
        }
        if (!listener.enqueueControl(new RelayFrame.CircuitOffer(c.id, dialer.key(), c.service, c.listenerToken))) {
            fail(c, CircuitRejectReason.LIMIT_REACHED, "destination busy");
            return;
        }
        metrics.circuitEvent(CircuitEvent.OFFERED);
        log.debug("event=circuit_offered circuit={} dialer={} listener={} service={}", c.id, dialer.key().shortId(),
                listener.key().shortId(), c.service);
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
        if (dialerToken == null || !c.dialer.enqueueControl(new RelayFrame.CircuitAccepted(c.requestId, c.id, dialerToken))) {
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
        if (c == null) {
            metrics.circuitEvent(CircuitEvent.TOKEN_REFUSED);
            return AttachResult.REFUSED;
        }
        byte[] presented = a.token().bytes();
        boolean join;
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
            if (join) {
                if (!reserveActive(c)) {
                    metrics.circuitEvent(CircuitEvent.LIMIT_REACHED);
                    c.state = Circuit.State.CLOSED;
                    closeLater(c);
                    return AttachResult.REFUSED;
                }
                c.state = Circuit.State.ACTIVE;
                if (c.timeout != null) {
                    c.timeout.cancel(false);
                }
            }
        }
        ch.closeFuture().addListener(f -> channelClosed(c));
        if (!join) {
            return AttachResult.WAITING;
        }
        metrics.circuitEvent(CircuitEvent.ATTACHED);
        log.info("event=circuit_active circuit={} dialer={} listener={} service={}", c.id, c.dialer.key().shortId(),
                c.listener.key().shortId(), c.service);
        CircuitProxy.join(c.dialerChannel, c.listenerChannel, idleTimeout, metrics);
        return AttachResult.JOINED;
    }

    private boolean reserveActive(Circuit c) {
        int[] d = counts.computeIfAbsent(c.dialer, k -> new int[2]);
        int[] l = counts.computeIfAbsent(c.listener, k -> new int[2]);
        synchronized (counts) {
            if (d[1] >= limits.activeCircuitsPerClient() || l[1] >= limits.activeCircuitsPerClient()) {
                return false;
            }
            d[0]--;
            l[0]--;
            d[1]++;
            l[1]++;
        }
        pending.decrementAndGet();
        active.incrementAndGet();
        return true;
    }

    private boolean reservePending(ClientSession dialer, ClientSession listener) {
        int[] d = counts.computeIfAbsent(dialer, k -> new int[2]);
        int[] l = counts.computeIfAbsent(listener, k -> new int[2]);
        synchronized (counts) {
            if (d[0] >= limits.pendingCircuitsPerClient() || l[0] >= limits.pendingCircuitsPerClient()
                    || d[1] >= limits.activeCircuitsPerClient() || l[1] >= limits.activeCircuitsPerClient()) {
                return false;
            }
            d[0]++;
            l[0]++;
        }
        return true;
    }

    private void release(Circuit c, boolean wasActive) {
        int slot = wasActive ? 1 : 0;
        synchronized (counts) {
            int[] d = counts.get(c.dialer);
            int[] l = counts.get(c.listener);
            if (d != null) {
                d[slot]--;
            }
            if (l != null) {
                l[slot]--;
            }
            forgetIfIdle(c.dialer, d);
            forgetIfIdle(c.listener, l);
        }
        (wasActive ? active : pending).decrementAndGet();
    }

    private void forgetIfIdle(ClientSession s, int[] n) {
        if (n != null && n[0] <= 0 && n[1] <= 0 && s.isClosed()) {
            counts.remove(s);
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
            refuse(c.dialer, c.requestId, CircuitRejectReason.TIMEOUT, "an end went away before attaching");
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
        synchronized (c) {
            if (c.state == Circuit.State.CLOSED || c.state == Circuit.State.ACTIVE) {
                return;
            }
            c.state = Circuit.State.CLOSED;
            if (c.timeout != null) {
                c.timeout.cancel(false);
            }
        }
        circuits.remove(c.id, c);
        release(c, false);
        closeLater(c);
        refuse(c.dialer, c.requestId, reason, message);
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

    private void refuse(ClientSession dialer, long requestId, CircuitRejectReason reason, String message) {
        dialer.enqueueControl(new RelayFrame.CircuitRejected(requestId, reason, message));
    }

    /** A control connection went away: its offered or attaching circuits end; active ones keep copying. */
    public void clientGone(ClientSession s) {
        for (Circuit c : List.copyOf(circuits.values())) {
            if (c.dialer == s || c.listener == s) {
                synchronized (c) {
                    if (c.state == Circuit.State.ACTIVE) {
                        continue;
                    }
                }
                fail(c, CircuitRejectReason.PEER_NOT_FOUND, "peer disconnected");
            }
        }
        synchronized (counts) {
            int[] n = counts.get(s);
            if (n != null && n[0] <= 0 && n[1] <= 0) {
                counts.remove(s);
            }
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
