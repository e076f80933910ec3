package dev.burrow.agent.direct;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Which proven path to a peer to keep, and which peer candidates are worth pinging at all.
 *
 * <p>Among proven paths: a path of the same address family replaces the current one only when
 * clearly faster ({@link DirectLimits#BETTER_RTT_FACTOR}, against flapping). IPv6 is preferred
 * when it is no worse: an IPv6 path replaces an IPv4 one when its round trip is at most the IPv4
 * one plus {@link #IPV6_RTT_SLACK_FRACTION} of it, and at least {@link #IPV6_RTT_SLACK_MIN} (disco
 * round trips are few samples, and small differences are the hosts' scheduling, not the network); an IPv4 path replaces an IPv6 one only when clearly faster, and by
 * more than that minimum. IPv6
 * has no NAT mapping to expire or be rebound, so a path over it survives what an IPv4 one may not.
 */
final class PathPreference {
    /** IPv6 counts as "no worse" up to this fraction slower than IPv4. */
    static final double IPV6_RTT_SLACK_FRACTION = 0.10;
    /**
     * ... and at least this much slower: below it samples cannot be told apart (on a busy host the
     * same lab path measured anywhere from 3 to 50 ms in single samples), and a few milliseconds
     * are worth IPv6's lack of NAT mappings to expire or be rebound.
     */
    static final Duration IPV6_RTT_SLACK_MIN = Duration.ofMillis(5);

    /**
     * When the first path proven to a peer is IPv4 while IPv6 candidates are still being punched,
     * the QUIC connection waits this long for an IPv6 path: a QUIC connection stays on the 5-tuple
     * it was opened on (Netty's QUIC has no connection migration), so it must start on the
     * preferred path. Both families are punched in the same rounds ({@link
     * DirectLimits#PUNCH_INTERVAL}), so a working IPv6 path answers within about one round; the
     * idea is Happy Eyeballs' head start for IPv6 (RFC 8305), the cost at most this delay when
     * IPv6 does not work.
     */
    static final Duration IPV6_HEAD_START = Duration.ofMillis(500);
    /** Per-path fastest round trips kept per peer: every candidate and then some; more is cleared (rare). */
    static final int MAX_RTT_RECORDS = 2 * DirectLimits.MAX_CANDIDATES;

    private PathPreference() {}

    /**
     * After a pong proved a path and {@code p.best} was updated: holds the pair's QUIC connection
     * for {@link #IPV6_HEAD_START} when the path is IPv4 and IPv6 candidates may still answer (once
     * per attempt, only before a connection exists), and releases it as soon as the best path is IPv6.
     */
    static void holdQuicForIpv6(DirectPeer p, long now) {
        if (p.best == null) {
            return;
        }
        if (p.best.getAddress() instanceof Inet6Address) {
            p.quicHoldUntilNanos = now;
            return;
        }
        boolean holdNotSetThisAttempt = p.quicHoldUntilNanos - p.lastUpgradeNanos < 0;
        if (holdNotSetThisAttempt
                && p.quic == null
                && p.connecting == null
                && hasIpv6Candidate(p.sock())
                && p.candidates.stream().anyMatch(c -> c.getAddress() instanceof Inet6Address)) {
            p.quicHoldUntilNanos = now + IPV6_HEAD_START.toNanos();
        }
    }

    /** Whether the socket announces an IPv6 address of this host (it has IPv6 connectivity worth trying). */
    static boolean hasIpv6Candidate(DirectSocket sock) {
        return sock.ipv6() && sock.endpoints().stream().anyMatch(e -> e.getAddress() instanceof Inet6Address);
    }

    /**
     * Whether the pair's QUIC connection is held for an IPv6 path: after {@link #holdQuicForIpv6},
     * and also when no path of ours is proven yet and the connection would follow the peer's pings
     * from IPv4 while both sides have IPv6, within {@link #IPV6_HEAD_START} of the attempt's start.
     */
    static boolean quicHeld(DirectPeer p, long now) {
        if (now - p.quicHoldUntilNanos < 0) {
            return true;
        }
        return p.best == null
                && p.lastPeerPingFrom != null
                && p.lastPeerPingFrom.getAddress() instanceof Inet4Address
                && now - p.lastUpgradeNanos < IPV6_HEAD_START.toNanos()
                && hasIpv6Candidate(p.sock())
                && p.candidates.stream().anyMatch(c -> c.getAddress() instanceof Inet6Address);
    }

    /**
     * Whether a pong from {@code from} with {@code rtt} should take the trusted path of {@code p}
     * over. While the pair's QUIC connection is up or being set up, its path wins: a pong from it always takes
     * over, and nothing else replaces it (QUIC cannot follow another path, and the heartbeats must
     * keep the path the connection uses alive). Otherwise when {@link #better}, comparing each
     * path's fastest sample: pings to all candidates go out back to back every punch round, so
     * the fastest of a few rounds is the path's round trip, where one sample is mostly scheduling.
     */
    static boolean replaces(DirectPeer p, InetSocketAddress from, long rtt) {
        if (p.minRttNanos.size() >= MAX_RTT_RECORDS && !p.minRttNanos.containsKey(from)) {
            p.minRttNanos.clear();
        }
        long fastest = p.minRttNanos.merge(from, rtt, Math::min);
        Object quicPath = quicPath(p);
        if (quicPath != null) {
            if (from.equals(quicPath)) {
                return true;
            }
            if (quicPath.equals(p.best)) {
                return false;
            }
        }
        return better(from, fastest, p.best, p.bestMinRttNanos);
    }

    /** The path of the pair's QUIC connection (up, or being connected from here), or null. */
    static Object quicPath(DirectPeer p) {
        if (p.quic != null && p.quic.isActive()) {
            return p.quic.remoteSocketAddress();
        }
        return p.connecting != null ? p.connectingTo : null;
    }

    /**
     * Where the heartbeat goes: the QUIC connection's path when it is up (a UDP address), so that
     * the path kept alive and shown is the one the streams use; else the best path.
     */
    static InetSocketAddress heartbeatTarget(DirectPeer p) {
        if (p.quic != null && p.quic.isActive() && p.quic.remoteSocketAddress() instanceof InetSocketAddress q) {
            return q;
        }
        return p.best;
    }

    /** Whether a path proven at {@code candidate} with {@code rtt} should replace {@code current} (proven with {@code currentRtt}). */
    static boolean better(InetSocketAddress candidate, long rtt, InetSocketAddress current, long currentRtt) {
        boolean v6 = candidate.getAddress() instanceof Inet6Address;
        boolean currentV6 = current.getAddress() instanceof Inet6Address;
        if (v6 && !currentV6) {
            long slack = Math.max((long) (currentRtt * IPV6_RTT_SLACK_FRACTION), IPV6_RTT_SLACK_MIN.toNanos());
            return rtt <= currentRtt + slack;
        }
        if (currentV6 && !v6) {
            // Clearly faster, and by more than the noise of two samples.
            return rtt < currentRtt * DirectLimits.BETTER_RTT_FACTOR && currentRtt - rtt > IPV6_RTT_SLACK_MIN.toNanos();
        }
        return rtt < currentRtt * DirectLimits.BETTER_RTT_FACTOR;
    }

    /**
     * Whether a candidate the peer announced can be pinged from {@code sock}: IPv4 always; IPv6 only
     * from a dual-stack socket on a host with an IPv6 candidate of its own (else there is no IPv6
     * route: an IPv4-only host with IPv6 sockets just gets "network unreachable"), and only unicast
     * addresses that route without an interface scope (no link-local, multicast or unspecified
     * address: a peer must not aim our pings at those).
     */
    static boolean usable(InetSocketAddress c, DirectSocket sock) {
        if (c.getAddress() instanceof Inet4Address) {
            return true;
        }
        var a = c.getAddress();
        return hasIpv6Candidate(sock) && !a.isLinkLocalAddress() && !a.isMulticastAddress() && !a.isAnyLocalAddress();
    }
}
