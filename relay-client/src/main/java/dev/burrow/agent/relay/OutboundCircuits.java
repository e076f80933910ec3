package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dialer side of circuits: sends CIRCUIT_REQUEST on the current control connection, waits
 * for CIRCUIT_ACCEPTED or CIRCUIT_REJECTED on that same connection (at most
 * {@code maxPendingCircuits} requests and attaches at once, each within {@code circuitTimeout}),
 * then attaches the circuit connection through the {@link CircuitAttacher}.
 */
final class OutboundCircuits {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    // Final after construction.
    private final RelayClientConfig config;
    private final RelayClientMetrics metrics;
    private final RelayLink link;
    private final CircuitAttacher attacher;

    // Owned by the event loop.
    private final Map<Long, PendingCircuit> pending = new HashMap<>();
    private long nextRequestId = ThreadLocalRandom.current().nextLong(0, 0x1_0000_0000L);
    /** Accepted requests whose circuit connection is still attaching (they count against the limit too). */
    private int attaching;

    OutboundCircuits(RelayClientConfig config, RelayClientMetrics metrics, RelayLink link, CircuitAttacher attacher) {
        this.config = config;
        this.metrics = metrics;
        this.link = link;
        this.attacher = attacher;
    }

    /** A CIRCUIT_REQUEST waiting for its answer on the control connection it was sent on. */
    private static final class PendingCircuit {
        final long requestId;
        final NodeKey destination;
        final String service;
        final CompletableFuture<CircuitConnection> result;
        final ControlHandler control;
        final EventLoop near;
        ScheduledFuture<?> timeout;

        PendingCircuit(
                long requestId,
                NodeKey destination,
                String service,
                CompletableFuture<CircuitConnection> result,
                ControlHandler control,
                EventLoop near) {
            this.near = near;
            this.requestId = requestId;
            this.destination = destination;
            this.service = service;
            this.result = result;
            this.control = control;
        }
    }

    /** On the loop: @see RelayClient#openCircuit(NodeKey, String, EventLoop) */
    void request(NodeKey destination, String service, CompletableFuture<CircuitConnection> result, EventLoop near) {
        ControlHandler c = link.current();
        if (link.closed() || c == null || !c.ready()) {
            result.completeExceptionally(new RelayUnavailableException("not connected to a relay"));
            return;
        }
        if (pending.size() + attaching >= config.maxPendingCircuits()) {
            metrics.circuitFailed(CircuitRejectReason.LIMIT_REACHED);
            result.completeExceptionally(new CircuitRejectedException(
                    CircuitRejectReason.LIMIT_REACHED, "too many circuits being opened", true));
            return;
        }
        long id = allocateRequestId();
        PendingCircuit p = new PendingCircuit(id, destination, service, result, c, near);
        pending.put(id, p);
        p.timeout = link.loop()
                .schedule(
                        () -> {
                            pending.remove(id, p);
                            if (result.completeExceptionally(new CircuitRejectedException(
                                    CircuitRejectReason.TIMEOUT,
                                    "no circuit within "
                                            + config.circuitTimeout().toMillis() + " ms",
                                    true))) {
                                metrics.circuitFailed(CircuitRejectReason.TIMEOUT);
                            }
                        },
                        config.circuitTimeout().toNanos(),
                        TimeUnit.NANOSECONDS);
        c.channel()
                .writeAndFlush(new ClientFrame.CircuitRequest(id, destination, service))
                .addListener(f -> {
                    if (!f.isSuccess() && pending.remove(id, p)) {
                        p.timeout.cancel(false);
                        result.completeExceptionally(new RelayUnavailableException("relay connection lost", f.cause()));
                    }
                });
    }

    private long allocateRequestId() {
        long id;
        do {
            id = nextRequestId;
            nextRequestId = (nextRequestId + 1) & 0xFFFF_FFFFL;
        } while (pending.containsKey(id));
        return id;
    }

    void accepted(ControlHandler h, RelayFrame.CircuitAccepted a) {
        PendingCircuit p = pending.get(a.requestId());
        if (p == null || p.control != h) {
            log.debug("CIRCUIT_ACCEPTED for unknown request {}", a.requestId());
            return;
        }
        pending.remove(a.requestId());
        if (p.result.isDone()) {
            p.timeout.cancel(false);
            return; // cancelled by the caller; the relay drops the half-attached circuit after its timeout
        }
        attaching++;
        attacher.attach(
                        h,
                        a.circuitId(),
                        a.token(),
                        p.destination,
                        p.service,
                        true,
                        p.near == null ? link.loop() : p.near)
                .addListener(f -> {
                    attaching--;
                    p.timeout.cancel(false);
                    if (f.isSuccess()) {
                        CircuitConnection conn = (CircuitConnection) f.getNow();
                        if (p.result.complete(conn)) {
                            metrics.circuitOpened(true);
                        } else {
                            conn.close();
                        }
                    } else {
                        CircuitRejectedException e = CircuitAttacher.asCircuitFailure(f.cause());
                        if (p.result.completeExceptionally(e)) {
                            metrics.circuitFailed(e.reason());
                        }
                    }
                });
    }

    void rejected(ControlHandler h, RelayFrame.CircuitRejected r) {
        PendingCircuit p = pending.get(r.requestId());
        if (p == null || p.control != h) {
            return;
        }
        pending.remove(r.requestId());
        p.timeout.cancel(false);
        if (p.result.completeExceptionally(new CircuitRejectedException(r.reason(), r.message(), false))) {
            metrics.circuitFailed(r.reason());
        }
    }

    /** True while a request sent on {@code h} waits for its answer. */
    boolean awaitsAnswerOn(ControlHandler h) {
        return pending.values().stream().anyMatch(p -> p.control == h);
    }

    /** Fails requests still waiting for an answer on {@code h} (all when null). Attachments in progress go on. */
    void connectionLost(ControlHandler h, IOException cause) {
        List<PendingCircuit> failed = new ArrayList<>();
        pending.values().removeIf(p -> {
            if (h == null || p.control == h) {
                failed.add(p);
                return true;
            }
            return false;
        });
        for (PendingCircuit p : failed) {
            p.timeout.cancel(false);
            p.result.completeExceptionally(cause);
        }
    }
}
