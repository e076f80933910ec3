package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoMessage.NatMapping;
import dev.burrow.identity.NodeKey;
import io.netty.handler.codec.quic.QuicChannel;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * What we know about the direct path to one peer: its candidates, our pings in flight, the best
 * proven path, the punch and upgrade timers, and the QUIC connection. Owned by the manager's event
 * loop; a plain state holder that {@link DiscoExchange}, {@link PunchScheduler} and
 * {@link QuicConnections} read and write there.
 */
final class DirectPeer {
    // Final after construction.
    final NodeKey key;
    /** The pair's QUIC client is the node with the smaller key: it pings, announces and connects from its client socket. */
    final boolean weAreClient;

    private final DirectSockets sockets;

    // Owned by the event loop: disco.
    final Set<InetSocketAddress> candidates = new LinkedHashSet<>();
    final Map<TxKey, Pending> pending = new HashMap<>();
    InetSocketAddress best;
    long bestRttNanos;
    /** The fastest round trip seen on {@link #best} since it was chosen: what another path must beat. */
    long bestMinRttNanos;
    /** The fastest round trip seen per proven path (see PathPreference#replaces); bounded, cleared when full. */
    final Map<InetSocketAddress, Long> minRttNanos = new HashMap<>();

    long lastPongNanos;
    long lastCallMeMaybeNanos = Long.MIN_VALUE / 2;

    // Owned by the event loop: punch schedule.
    long lastHeartbeatNanos;
    /** When the last QUIC keepalive datagram went out (see QuicConnections.QUIC_KEEPALIVE_INTERVAL). */
    long lastQuicKeepaliveNanos;

    long punchUntilNanos;
    long lastPunchNanos;
    long activeUntilNanos;
    long lastUpgradeNanos = Long.MIN_VALUE / 2;

    // Owned by the event loop: warm-up (see PunchScheduler#warm).
    /** A forward names this peer: keep a direct path ready before any connection asks for one. */
    boolean warm;
    /** Upgrades for this warm peer since its path was last proven (the backoff exponent). */
    int warmAttempts;
    /** The last upgrade's call-me-maybe never reached the relay (no endpoints yet, relay down): retry soon. */
    boolean upgradeUnsent;
    /** The relay said the peer is not connected: no upgrade before this (a PEER_PRESENT lifts it). */
    long offlineUntilNanos = Long.MIN_VALUE / 2;
    /** PEER_GONE notices since the peer was last present (the offline backoff exponent). */
    int goneNotices;
    /** The last disco PING the peer sent us directly, and where from (the peer still wants the path). */
    long lastPeerPingNanos = Long.MIN_VALUE / 2;

    InetSocketAddress lastPeerPingFrom;

    // Owned by the event loop: hard-NAT spraying (see HardNatSpray) and what the peer told us of its NAT.
    /** The candidates the peer announced in its last CALL_ME_MAYBE (spraying aims only at these). */
    final Set<InetSocketAddress> announced = new LinkedHashSet<>();
    /** How the peer's NAT maps (its NAT_INFO). */
    NatMapping peerMapping = NatMapping.UNKNOWN;
    /** The peer's gateway port mapping (its NAT_INFO): 0 none, 1 PCP, 2 NAT-PMP, 3 UPnP; and the mapped address. */
    int peerPortMapProtocol;

    InetSocketAddress peerPortMapped;
    /** Our address as the peer saw it in its last PONG. */
    InetSocketAddress observedSelf;
    /** The current punch window has been judged (spray or not) once it ended. */
    boolean punchJudged = true;
    /** The spray socket that reached the peer (we are the hard side): the path and QUIC use it; null otherwise. */
    DirectSocket sprayed;

    long sprayedAtNanos;
    HardNatSpray.State sprayState = HardNatSpray.State.NONE;
    boolean sprayHardSide;
    int sprayPackets;
    /** No spray to this peer before this (after a failed one). */
    long nextSprayNanos = Long.MIN_VALUE / 2;

    // Owned by the event loop: QUIC.
    /** No QUIC connection before this: an IPv6 path may still be proven (see PathPreference#holdQuicForIpv6). */
    long quicHoldUntilNanos = Long.MIN_VALUE / 2;

    QuicChannel quic;
    /** What {@link QuicLiveness} last saw of {@link #quic}'s packet counters. */
    QuicLiveness.Watch liveness;

    CompletableFuture<QuicChannel> connecting;
    /** Where {@link #connecting} goes (the path the connection will be on). */
    InetSocketAddress connectingTo;

    DirectPeer(NodeKey key, NodeKey self, DirectSockets sockets) {
        this.key = key;
        this.weAreClient = self.compareTo(key) < 0;
        this.sockets = sockets;
    }

    /** The socket of our role in this pair. */
    DirectSocket sock() {
        return sockets.forRole(weAreClient);
    }

    /** The socket the path to this peer uses: a spray socket that reached it, else the socket of our role. */
    DirectSocket pathSock() {
        return sprayed != null ? sprayed : sock();
    }

    /**
     * The path {@link #best} is alive: a pong on it within the trust window, or (on the side that
     * does not heartbeat because nothing here wants the path, typically the exposing agent) the
     * peer's own authenticated heartbeat pings arriving from that very address (it answers each
     * with a pong, so the peer judges both directions). Without the second half, the listener
     * dropped a path its peer's streams were using after one trust window.
     */
    boolean trusted(long now) {
        if (best == null) {
            return false;
        }
        long window = DirectLimits.TRUST_DURATION.toNanos();
        if (now - lastPongNanos < window) {
            return true;
        }
        // Only while we send no heartbeats of our own: a side that pings judges by its pongs, since
        // the peer's pings arriving prove only the peer-to-us direction.
        return !wanted(now) && best.equals(lastPeerPingFrom) && now - lastPeerPingNanos < window;
    }

    boolean direct(long now) {
        return trusted(now) && quic != null && quic.isActive();
    }

    /** The peer pinged us directly within the trust window: it keeps the path up, so we keep our state. */
    boolean pingedRecently(long now) {
        return lastPeerPingFrom != null && now - lastPeerPingNanos < DirectLimits.TRUST_DURATION.toNanos();
    }

    /** Someone on this side wants the path: a stream or call-me-maybe recently, or a forward (warm). */
    boolean wanted(long now) {
        return warm || now < activeUntilNanos;
    }

    /** A ping in flight: where it went and when. */
    record Pending(InetSocketAddress to, long sentNanos) {}

    /** A disco transaction ID as a map key (compared in constant time). */
    static final class TxKey {
        final byte[] id;

        TxKey(byte[] id) {
            this.id = id;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TxKey t && MessageDigest.isEqual(id, t.id);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(id);
        }
    }
}
