package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoLimits;
import java.time.Duration;

/**
 * The direct path's disco timings and limits: how often to punch, heartbeat and retry, how long a
 * path is trusted, and how much state a peer may hold. Listed with their reasons in {@code
 * docs/protocol.md} ("Timings and limits").
 */
public final class DirectLimits {
    /** Pings to every candidate during punching: fast enough that both sides' pings cross within a few RTTs. */
    public static final Duration PUNCH_INTERVAL = Duration.ofMillis(200);
    /** Punching stops after this (bounded probing: at most 25 pings per candidate per attempt). */
    public static final Duration PUNCH_DURATION = Duration.ofSeconds(5);
    /** Heartbeat on the chosen path (magicsock: 3 s). */
    public static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(3);
    /** A path without a pong for this long is no longer used for new streams (magicsock trustUDPAddr: 6.5 s). */
    public static final Duration TRUST_DURATION = Duration.ofMillis(6500);
    /** An unanswered ping is forgotten after this (magicsock: 5 s); a late pong is an unknown transaction. */
    public static final Duration PING_TIMEOUT = Duration.ofSeconds(5);
    /** While a peer is active and has no direct path, an upgrade is retried this often. */
    public static final Duration UPGRADE_INTERVAL = Duration.ofSeconds(10);
    /**
     * An upgrade whose call-me-maybe never reached the relay (endpoint discovery not finished, relay
     * not connected yet) is retried this soon: nothing was sent, so retrying costs the relay nothing,
     * and a forward's warm-up at agent start must not wait a whole {@link #UPGRADE_INTERVAL}.
     */
    public static final Duration UPGRADE_RETRY = Duration.ofSeconds(1);
    /**
     * A peer that is only warm (a forward names it, no stream uses it) and whose upgrades find no path
     * (symmetric NATs, UDP blocked) is retried ever more rarely, doubling from {@link
     * #UPGRADE_INTERVAL} up to this: a configured forward must not cost the relay a call-me-maybe
     * every 10 s forever. A stream to the peer brings back the 10 s interval.
     */
    public static final Duration WARM_MAX_UPGRADE_INTERVAL = Duration.ofMinutes(5);
    /**
     * After a PEER_GONE from the relay, upgrades to that peer wait {@link #UPGRADE_INTERVAL}, doubling
     * with each further notice up to this; a PEER_PRESENT (the relay tells us when a node we sent to
     * connects) ends the wait at once, so an offline peer costs the relay almost nothing.
     */
    public static final Duration OFFLINE_MAX_BACKOFF = Duration.ofMinutes(5);
    /** A peer is active this long after we last wanted it or had a direct stream (magicsock sessionActive: 45 s). */
    public static final Duration ACTIVE_DURATION = Duration.ofSeconds(45);
    /** CALL_ME_MAYBE to one peer at most this often (a relay flood guard; replies to the peer's own count too). */
    public static final Duration CALL_ME_MAYBE_MIN_INTERVAL = Duration.ofSeconds(1);
    /** Candidates kept per peer (announced plus peer-reflexive). */
    public static final int MAX_CANDIDATES = DiscoLimits.MAX_ENDPOINTS;
    /** Outstanding pings per peer. */
    public static final int MAX_PENDING_PINGS = 128;
    /** Peers with disco state. */
    public static final int MAX_PEERS = 1024;
    /** A new path replaces the current one only when it is this much faster (avoid flapping). */
    public static final double BETTER_RTT_FACTOR = 0.7;
    /** Pings are padded so the pong (observed address included) is never more than 3x the ping (QUIC anti-amplification). */
    static final int PING_PADDING = 0;

    private DirectLimits() {}
}
