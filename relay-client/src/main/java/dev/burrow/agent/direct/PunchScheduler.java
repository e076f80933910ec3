package dev.burrow.agent.direct;

import java.net.InetSocketAddress;
import java.util.Iterator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When to ping what. An upgrade announces our candidates (CALL_ME_MAYBE) and punches: pings every
 * candidate of the peer every {@link DirectManager#PUNCH_INTERVAL} for
 * {@link DirectManager#PUNCH_DURATION}. Each pong proves a path; the lowest round trip wins (a new
 * one only when {@link DirectManager#BETTER_RTT_FACTOR} faster). The chosen path gets a heartbeat
 * every {@link DirectManager#HEARTBEAT_INTERVAL}; without a pong for
 * {@link DirectManager#TRUST_DURATION} it is dropped, and while the peer is active an upgrade is
 * retried every {@link DirectManager#UPGRADE_INTERVAL}. Idle peers are forgotten. Everything runs on
 * the manager's event loop, driven by {@link #tick}.
 */
final class PunchScheduler {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    // Final after construction (no state of its own: the schedule lives in each DirectPeer).
    private final DiscoExchange disco;
    private final DirectPeers peers;
    private final QuicConnections quic;

    PunchScheduler(DiscoExchange disco, DirectPeers peers, QuicConnections quic) {
        this.disco = disco;
        this.peers = peers;
        this.quic = quic;
    }

    /** The dialer wants a direct path to {@code p}: it stays active, and is upgraded unless it has a path or just tried. */
    void want(DirectPeer p, long now) {
        p.activeUntilNanos = now + DirectManager.ACTIVE_DURATION.toNanos();
        if (!p.trusted(now) && now - p.lastUpgradeNanos > DirectManager.UPGRADE_INTERVAL.toNanos()) {
            upgrade(p, now);
        }
    }

    private void upgrade(DirectPeer p, long now) {
        p.lastUpgradeNanos = now;
        disco.sendCallMeMaybe(p, now);
        p.punchUntilNanos = now + DirectManager.PUNCH_DURATION.toNanos();
        punch(p, now);
    }

    private void punch(DirectPeer p, long now) {
        p.lastPunchNanos = now;
        for (InetSocketAddress c : p.candidates) {
            disco.ping(p, c, now);
        }
    }

    /** A pong proved {@code from}: keep it when it is the first, the current or a clearly faster path. */
    void pathProven(DirectPeer p, InetSocketAddress from, long rtt, long now) {
        boolean wasDirect = p.direct(now);
        if (p.best == null
                || !p.trusted(now)
                || from.equals(p.best)
                || rtt < p.bestRttNanos * DirectManager.BETTER_RTT_FACTOR) {
            if (!from.equals(p.best)) {
                log.info(
                        "direct path to {} via {} (rtt {} ms)",
                        p.key.shortId(),
                        from,
                        String.format("%.1f", rtt / 1e6));
            }
            p.best = from;
            p.bestRttNanos = rtt;
            p.lastPongNanos = now;
        }
        if (p.punchUntilNanos > now + 1_000_000_000L) {
            p.punchUntilNanos = now + 1_000_000_000L; // one more second to find a faster candidate
        }
        quic.ensure(p);
        peers.publish(p, now, wasDirect);
    }

    /** The peer announced its candidates: answer with ours so it punches towards us too, and punch now. */
    void callMeMaybe(DirectPeer p, List<InetSocketAddress> endpoints, long now) {
        log.info("call-me-maybe from {}: punching {}", p.key.shortId(), endpoints);
        p.activeUntilNanos = Math.max(p.activeUntilNanos, now + DirectManager.ACTIVE_DURATION.toNanos());
        disco.sendCallMeMaybe(p, now); // let the other side punch towards us too
        p.punchUntilNanos = now + DirectManager.PUNCH_DURATION.toNanos();
        p.lastUpgradeNanos = now;
        punch(p, now);
    }

    /** Every {@link DirectManager#PUNCH_INTERVAL}: punches, heartbeats, trust expiry, upgrades, forgetting idle peers. */
    void tick(long now) {
        for (Iterator<DirectPeer> it = peers.all().iterator(); it.hasNext(); ) {
            DirectPeer p = it.next();
            boolean wasDirect = p.direct(now);
            p.pending.values().removeIf(x -> now - x.sentNanos() > DirectManager.PING_TIMEOUT.toNanos());
            if (now < p.punchUntilNanos
                    && now - p.lastPunchNanos >= DirectManager.PUNCH_INTERVAL.toNanos() - 20_000_000L) {
                punch(p, now);
            }
            if (p.best != null && now - p.lastHeartbeatNanos >= DirectManager.HEARTBEAT_INTERVAL.toNanos()) {
                p.lastHeartbeatNanos = now;
                disco.ping(p, p.best, now);
            }
            if (p.best != null && !p.trusted(now)) {
                log.info(
                        "direct path to {} via {} lost (no pong for {} ms); new streams use the relay",
                        p.key.shortId(),
                        p.best,
                        DirectManager.TRUST_DURATION.toMillis());
                p.best = null;
            }
            boolean active = now < p.activeUntilNanos;
            if (active && !p.trusted(now) && now - p.lastUpgradeNanos >= DirectManager.UPGRADE_INTERVAL.toNanos()) {
                upgrade(p, now);
            }
            if (p.trusted(now)) {
                quic.ensure(p);
            }
            peers.publish(p, now, wasDirect);
            if (!active && p.best == null && p.quic == null && p.pending.isEmpty() && now > p.punchUntilNanos) {
                peers.forgetStatus(p.key);
                it.remove();
            }
        }
    }
}
