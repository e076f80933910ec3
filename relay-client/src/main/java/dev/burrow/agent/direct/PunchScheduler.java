package dev.burrow.agent.direct;

import java.net.InetSocketAddress;
import java.util.Iterator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When to ping what. An upgrade announces our candidates (CALL_ME_MAYBE) and punches: pings every
 * candidate of the peer every {@link DirectLimits#PUNCH_INTERVAL} for
 * {@link DirectLimits#PUNCH_DURATION}. Each pong proves a path; the lowest round trip wins (a new
 * one only when {@link DirectLimits#BETTER_RTT_FACTOR} faster). The chosen path gets a heartbeat
 * every {@link DirectLimits#HEARTBEAT_INTERVAL}; without a pong for
 * {@link DirectLimits#TRUST_DURATION} it is dropped, and while the peer is active an upgrade is
 * retried every {@link DirectLimits#UPGRADE_INTERVAL}. Idle peers are forgotten. Everything runs on
 * the manager's event loop, driven by {@link #tick}.
 */
final class PunchScheduler {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    // Final after construction (no state of its own: the schedule lives in each DirectPeer).
    private final DiscoExchange disco;
    private final DirectPeers peers;
    private final QuicConnections quic;
    private final HardNatSpray spray;

    PunchScheduler(DiscoExchange disco, DirectPeers peers, QuicConnections quic, HardNatSpray spray) {
        this.disco = disco;
        this.peers = peers;
        this.quic = quic;
        this.spray = spray;
    }

    /** The dialer wants a direct path to {@code p}: it stays active, and is upgraded unless it has a path or just tried. */
    void want(DirectPeer p, long now) {
        p.activeUntilNanos = now + DirectLimits.ACTIVE_DURATION.toNanos();
        if (!p.trusted(now) && now - p.lastUpgradeNanos >= upgradeInterval(p, now)) {
            upgrade(p, now);
        }
    }

    /**
     * A forward names {@code p}: find a direct path now, before any connection asks for one, and keep
     * it (heartbeats) while the peer stays warm. Upgrades that find nothing back off from {@link
     * DirectLimits#UPGRADE_INTERVAL} to {@link DirectLimits#WARM_MAX_UPGRADE_INTERVAL} while no
     * stream uses the peer.
     */
    void warm(DirectPeer p, long now) {
        if (p.warm) {
            return;
        }
        p.warm = true;
        p.warmAttempts = 0;
        if (!p.trusted(now) && now - p.offlineUntilNanos >= 0) {
            upgrade(p, now);
        }
    }

    /**
     * No forward names {@code p} any more: no more upgrades or heartbeats for it unless a stream used
     * it within {@link DirectLimits#ACTIVE_DURATION}. The path then lapses after {@link
     * DirectLimits#TRUST_DURATION}, the idle QUIC connection closes after {@link
     * QuicConnections#QUIC_IDLE_TIMEOUT} (streams still on it keep it), and {@link #tick} forgets the peer.
     */
    void cool(DirectPeer p) {
        p.warm = false;
        p.warmAttempts = 0;
    }

    /** The relay says the peer is not connected: hold upgrades (backing off) until it is present again. */
    void peerGone(DirectPeer p, long now) {
        long backoff = Math.min(
                DirectLimits.UPGRADE_INTERVAL.toNanos() << Math.min(p.goneNotices, 5),
                DirectLimits.OFFLINE_MAX_BACKOFF.toNanos());
        p.goneNotices++;
        p.offlineUntilNanos = now + backoff;
        p.punchUntilNanos = Math.min(p.punchUntilNanos, now); // its candidates are stale
        log.info(
                "peer {} is not connected to the relay: next direct-path attempt in {} s or when it connects",
                p.key.shortId(),
                backoff / 1_000_000_000L);
    }

    /** The relay says the peer is connected (again): a wanted peer without a path is upgraded at once. */
    void peerPresent(DirectPeer p, long now) {
        boolean wasHeld = now - p.offlineUntilNanos < 0;
        p.goneNotices = 0;
        p.offlineUntilNanos = now;
        if (p.wanted(now) && !p.trusted(now)) {
            if (wasHeld) {
                p.lastCallMeMaybeNanos = Long.MIN_VALUE / 2; // the last one went nowhere
            }
            upgrade(p, now);
        }
    }

    /** The relay connection is up: wanted peers whose call-me-maybe could not go out try again now. */
    void relayConnected(DirectPeer p, long now) {
        if (p.upgradeUnsent && p.wanted(now) && !p.trusted(now) && now - p.offlineUntilNanos >= 0) {
            upgrade(p, now);
        }
    }

    /**
     * How long after the last upgrade the next may start: {@link DirectLimits#UPGRADE_RETRY} when
     * the last call-me-maybe never reached the relay; {@link DirectLimits#UPGRADE_INTERVAL} while a
     * stream uses the peer; for a peer that is only warm, doubling with every fruitless attempt up to
     * {@link DirectLimits#WARM_MAX_UPGRADE_INTERVAL}.
     */
    static long upgradeInterval(DirectPeer p, long now) {
        if (p.upgradeUnsent) {
            return DirectLimits.UPGRADE_RETRY.toNanos();
        }
        long base = DirectLimits.UPGRADE_INTERVAL.toNanos();
        if (!p.warm || now < p.activeUntilNanos) {
            return base;
        }
        int k = Math.max(0, Math.min(p.warmAttempts - 1, 6));
        return Math.min(base << k, DirectLimits.WARM_MAX_UPGRADE_INTERVAL.toNanos());
    }

    private void upgrade(DirectPeer p, long now) {
        p.lastUpgradeNanos = now;
        boolean sent = disco.sendCallMeMaybe(p, now);
        p.upgradeUnsent = !sent;
        if (sent && p.warm && now >= p.activeUntilNanos) {
            p.warmAttempts++;
        }
        p.punchUntilNanos = now + DirectLimits.PUNCH_DURATION.toNanos();
        p.punchJudged = false;
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
        if (p.best == null || !p.trusted(now) || from.equals(p.best) || PathPreference.replaces(p, from, rtt)) {
            if (!from.equals(p.best)) {
                log.info(
                        "direct path to {} via {} (rtt {} ms)",
                        p.key.shortId(),
                        from,
                        String.format("%.1f", rtt / 1e6));
            }
            // The fastest sample of the kept path is what others must beat: one slow sample (a
            // busy event loop, a QUIC handshake) must not hand the path to a noisier one.
            p.bestMinRttNanos = from.equals(p.best) && p.trusted(now) ? Math.min(p.bestMinRttNanos, rtt) : rtt;
            p.best = from;
            p.bestRttNanos = rtt;
            p.lastPongNanos = now;
        }
        p.warmAttempts = 0;
        spray.pathProven(p, now);
        if (p.punchUntilNanos > now + 1_000_000_000L) {
            p.punchUntilNanos = now + 1_000_000_000L; // one more second to find a faster candidate
        }
        PathPreference.holdQuicForIpv6(p, now); // IPv6 first: QUIC stays on the path it starts on
        quic.ensure(p);
        peers.publish(p, now, wasDirect);
    }

    /** The peer announced its candidates: answer with ours so it punches towards us too, and punch now. */
    void callMeMaybe(DirectPeer p, List<InetSocketAddress> endpoints, long now) {
        log.info("call-me-maybe from {}: punching {}", p.key.shortId(), endpoints);
        // Not active for that: the peer wants the path and keeps it (upgrades, heartbeats); we punch
        // back now, answer its pings, and stay its QUIC client while they arrive. Were we made
        // active, each side's call-me-maybe would keep the other upgrading forever.
        disco.sendCallMeMaybe(p, now); // let the other side punch towards us too
        p.punchUntilNanos = now + DirectLimits.PUNCH_DURATION.toNanos();
        p.lastUpgradeNanos = now;
        p.upgradeUnsent = false;
        p.punchJudged = false;
        punch(p, now);
    }

    /**
     * Every {@link DirectLimits#PUNCH_INTERVAL}: punches, heartbeats (only while the peer is wanted
     * here: a stream or call-me-maybe recently, or a forward), trust expiry, upgrades, forgetting
     * peers nobody wants any more.
     */
    void tick(long now) {
        for (Iterator<DirectPeer> it = peers.all().iterator(); it.hasNext(); ) {
            DirectPeer p = it.next();
            boolean wasDirect = p.direct(now);
            boolean wanted = p.wanted(now);
            p.pending.values().removeIf(x -> now - x.sentNanos() > DirectLimits.PING_TIMEOUT.toNanos());
            if (now < p.punchUntilNanos
                    && now - p.lastPunchNanos >= DirectLimits.PUNCH_INTERVAL.toNanos() - 20_000_000L) {
                punch(p, now);
            }
            if (!p.punchJudged && now >= p.punchUntilNanos) {
                p.punchJudged = true;
                if (!p.trusted(now)) {
                    spray.punchFailed(p, now); // plain punching found nothing: spray when the NATs call for it
                }
            }
            if (p.sprayed != null
                    && p.best == null
                    && p.quic == null
                    && p.connecting == null
                    && now - p.sprayedAtNanos > DirectLimits.TRUST_DURATION.toNanos()) {
                p.sprayed.close(); // the sprayed path is gone: punch from the socket of our role again
                p.sprayed = null;
            }
            if (p.best != null && wanted && now - p.lastHeartbeatNanos >= DirectLimits.HEARTBEAT_INTERVAL.toNanos()) {
                p.lastHeartbeatNanos = now;
                disco.ping(p, PathPreference.heartbeatTarget(p), now);
            }
            if (p.best != null && !p.trusted(now)) {
                if (wanted) {
                    log.info(
                            "direct path to {} via {} lost (no pong for {} ms); new streams use the relay",
                            p.key.shortId(),
                            p.best,
                            DirectLimits.TRUST_DURATION.toMillis());
                } else {
                    log.info("direct path to {} via {} released (no longer wanted)", p.key.shortId(), p.best);
                }
                p.best = null;
            }
            if (wanted
                    && !p.trusted(now)
                    && now - p.offlineUntilNanos >= 0
                    && now - p.lastUpgradeNanos >= upgradeInterval(p, now)) {
                upgrade(p, now);
            }
            if (wanted
                    && p.quic != null
                    && now - p.lastQuicKeepaliveNanos >= QuicConnections.QUIC_KEEPALIVE_INTERVAL.toNanos()) {
                p.lastQuicKeepaliveNanos = now;
                quic.keepalive(p); // disco heartbeats do not reach QUIC's idle timer
            }
            quic.liveness.check(p, now); // a dead peer's streams end in seconds, not at the idle timeout
            if (p.trusted(now) || p.pingedRecently(now)) {
                quic.ensure(p); // the peer's pings keep the path for it: stay its QUIC client if that is our role
            }
            peers.publish(p, now, wasDirect);
            if (!wanted
                    && p.best == null
                    && p.quic == null
                    && p.pending.isEmpty()
                    && now > p.punchUntilNanos
                    && !p.pingedRecently(now)) {
                peers.forgetStatus(p.key);
                spray.forget(p);
                if (p.sprayed != null) {
                    p.sprayed.close();
                    p.sprayed = null;
                }
                it.remove();
            }
        }
    }
}
