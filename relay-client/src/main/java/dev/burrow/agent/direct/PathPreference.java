package dev.burrow.agent.direct;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Which proven path to a peer to keep, and which peer candidates are worth pinging at all.
 *
 * <p>Among proven paths: a path of the same address family replaces the current one only when
 * clearly faster ({@link DirectManager#BETTER_RTT_FACTOR}, against flapping). IPv6 is preferred
 * when it is no worse: an IPv6 path replaces an IPv4 one when its round trip is at most the IPv4
 * one plus {@link #IPV6_RTT_SLACK_FRACTION} of it, and at least {@link #IPV6_RTT_SLACK_MIN} (one
 * disco round trip is a single sample, and sub-millisecond differences are the event loop's
 * scheduling, not the network); an IPv4 path replaces an IPv6 one only when clearly faster, and by
 * more than that minimum. IPv6
 * has no NAT mapping to expire or be rebound, so a path over it survives what an IPv4 one may not.
 */
final class PathPreference {
    /** IPv6 counts as "no worse" up to this fraction slower than IPv4. */
    static final double IPV6_RTT_SLACK_FRACTION = 0.10;
    /** ... and at least this much slower: below it two single samples cannot be told apart. */
    static final Duration IPV6_RTT_SLACK_MIN = Duration.ofMillis(1);

    /**
     * When the first path proven to a peer is IPv4 while IPv6 candidates are still being punched,
     * the QUIC connection waits this long for an IPv6 path: a QUIC connection stays on the 5-tuple
     * it was opened on (Netty's QUIC has no connection migration), so it must start on the
     * preferred path. Both families are punched in the same rounds ({@link
     * DirectManager#PUNCH_INTERVAL}), so a working IPv6 path answers within about one round; the
     * idea is Happy Eyeballs' head start for IPv6 (RFC 8305), the cost at most this delay when
     * IPv6 does not work.
     */
    static final Duration IPV6_HEAD_START = Duration.ofMillis(500);

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
                && p.sock().ipv6()
                && p.candidates.stream().anyMatch(c -> c.getAddress() instanceof Inet6Address)) {
            p.quicHoldUntilNanos = now + IPV6_HEAD_START.toNanos();
        }
    }

    /** Whether the pair's QUIC connection is held for an IPv6 path (see {@link #holdQuicForIpv6}). */
    static boolean quicHeld(DirectPeer p, long now) {
        return now - p.quicHoldUntilNanos < 0;
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
            return rtt < currentRtt * DirectManager.BETTER_RTT_FACTOR
                    && currentRtt - rtt > IPV6_RTT_SLACK_MIN.toNanos();
        }
        return rtt < currentRtt * DirectManager.BETTER_RTT_FACTOR;
    }

    /**
     * Whether a candidate the peer announced can be pinged from {@code sock}: IPv4 always; IPv6 only
     * from a dual-stack socket, and only unicast addresses that route without an interface scope
     * (no link-local, multicast or unspecified address: a peer must not aim our pings at those).
     */
    static boolean usable(InetSocketAddress c, DirectSocket sock) {
        if (c.getAddress() instanceof Inet4Address) {
            return true;
        }
        var a = c.getAddress();
        return sock.ipv6() && !a.isLinkLocalAddress() && !a.isMulticastAddress() && !a.isAnyLocalAddress();
    }
}
