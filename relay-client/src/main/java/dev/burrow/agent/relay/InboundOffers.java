package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener side of circuits: asks the {@link CircuitAcceptor} about each CIRCUIT_OFFER,
 * answers CIRCUIT_ACCEPT or CIRCUIT_REJECT, attaches accepted circuits through the
 * {@link CircuitAttacher} and hands them to the acceptor. At most {@code maxPendingCircuits}
 * attaches run at once, shared fairly between offering dialers (see {@link #evictForFairShare}).
 */
final class InboundOffers {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    // Final after construction.
    private final RelayClientConfig config;
    private final RelayClientMetrics metrics;
    private final CircuitAttacher attacher;
    /** Incoming circuits spread over the group's loops. */
    private final EventLoopGroup group;

    // Any thread: set by the owner, read on the event loop.
    private volatile CircuitAcceptor acceptor;

    // Owned by the event loop.
    private int attaching;
    /**
     * The attaches under way by offering dialer, oldest first (at most {@code maxPendingCircuits}
     * in all, plus one while an eviction completes).
     */
    private final Map<NodeKey, ArrayDeque<Future<CircuitConnection>>> attachingBySource = new HashMap<>();

    InboundOffers(
            RelayClientConfig config, RelayClientMetrics metrics, CircuitAttacher attacher, EventLoopGroup group) {
        this.config = config;
        this.metrics = metrics;
        this.attacher = attacher;
        this.group = group;
    }

    void setAcceptor(CircuitAcceptor acceptor) {
        this.acceptor = acceptor;
    }

    void offer(ControlHandler h, RelayFrame.CircuitOffer offer) {
        IncomingCircuit incoming =
                new IncomingCircuit(offer.circuitId(), offer.source(), offer.service(), offer.ingress());
        CircuitAcceptor acceptor = this.acceptor;
        CircuitDecision decision;
        if (offer.hasUnknownFlags()) {
            decision = CircuitDecision.reject(CircuitRejectReason.BAD_REQUEST, "unknown circuit offer flags");
        } else if (!config.acceptsCircuits() || acceptor == null) {
            decision = CircuitDecision.reject(CircuitRejectReason.SERVICE_UNKNOWN, "this node accepts no circuits");
        } else if (attaching >= config.maxPendingCircuits() && !evictForFairShare(offer.source())) {
            decision = CircuitDecision.reject(CircuitRejectReason.LIMIT_REACHED, "too many circuits being attached");
        } else {
            try {
                decision = acceptor.decide(incoming);
                if (decision == null) {
                    decision = CircuitDecision.reject(CircuitRejectReason.INTERNAL, "");
                }
            } catch (RuntimeException e) {
                log.warn("circuit acceptor failed", e);
                decision = CircuitDecision.reject(CircuitRejectReason.INTERNAL, "");
            }
        }
        Channel ch = h.channel();
        if (decision instanceof CircuitDecision.Reject r) {
            metrics.circuitFailed(r.reason());
            ch.writeAndFlush(
                    new ClientFrame.CircuitReject(offer.circuitId(), r.reason(), r.message()), ch.voidPromise());
            return;
        }
        ch.writeAndFlush(new ClientFrame.CircuitAccept(offer.circuitId()), ch.voidPromise());
        attaching++;
        // Incoming circuits spread over the group's loops; the target connection joins the same loop.
        // An ingress circuit carries a public client's plaintext (no end-to-end TLS inside): always
        // with relay TLS, never as a plain circuit connection.
        Future<CircuitConnection> attach = offer.ingress()
                ? attacher.attach(
                        h, offer.circuitId(), offer.token(), offer.source(), offer.service(), false, true, group.next())
                : attacher.attach(
                        h, offer.circuitId(), offer.token(), offer.source(), offer.service(), false, group.next());
        attachingBySource
                .computeIfAbsent(offer.source(), k -> new ArrayDeque<>())
                .add(attach);
        attach.addListener(f -> {
            attaching--;
            attachingBySource.computeIfPresent(offer.source(), (k, q) -> {
                q.remove(f);
                return q.isEmpty() ? null : q;
            });
            if (f.isCancelled()) {
                metrics.circuitFailed(CircuitRejectReason.LIMIT_REACHED);
                log.debug(
                        "circuit {} from {} gave its attach slot to a dialer holding fewer",
                        offer.circuitId(),
                        offer.source().shortId());
                return;
            }
            if (f.isSuccess()) {
                CircuitConnection conn = (CircuitConnection) f.getNow();
                metrics.circuitOpened(false);
                try {
                    acceptor.attached(incoming, conn);
                } catch (RuntimeException e) {
                    log.warn("circuit acceptor failed", e);
                    conn.close();
                }
            } else {
                CircuitRejectedException e = CircuitAttacher.asCircuitFailure(f.cause());
                metrics.circuitFailed(e.reason());
                try {
                    acceptor.attachFailed(incoming, e);
                } catch (RuntimeException ex) {
                    log.warn("circuit acceptor failed", ex);
                }
            }
        });
    }

    /**
     * The relay's fair share rule, mirrored: when every listener-side attach slot is taken and some
     * dialer holds at least two more of them than {@code source}, that dialer's oldest attach (a
     * circuit its dialer has not joined: CIRCUIT_ATTACHED comes only when both ends are in) is
     * cancelled and its circuit connection closed. The relay evicts the same way, but its close of
     * the old circuit and its offer of the new one travel on different connections; without this
     * the offer could arrive first and be refused here. True if a slot was freed.
     */
    private boolean evictForFairShare(NodeKey source) {
        var mine = attachingBySource.get(source);
        int held = mine == null ? 0 : mine.size();
        ArrayDeque<Future<CircuitConnection>> top = null;
        for (var q : attachingBySource.values()) {
            if (q.size() >= held + 2 && (top == null || q.size() > top.size())) {
                top = q;
            }
        }
        if (top == null) {
            return false;
        }
        for (Future<CircuitConnection> oldest : List.copyOf(top)) {
            if (oldest.cancel(false)) {
                return true;
            }
        }
        return false;
    }
}
