package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoMessage.NatMapping;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hard-NAT traversal by spraying (the "birthday" method Tailscale and frp's xtcp describe), tried
 * only after plain punching found no path and only when one side's NAT maps per destination
 * (symmetric) and the other's does not (both learn it from STUN and tell each other in NAT_INFO).
 *
 * <p>Why plain punching fails there: the easy side's NAT (port-restricted) only admits the endpoints
 * it sent to; the hard side's NAT gives the packets towards the easy side a new, random public port
 * that nobody announced, so the easy side never sends to it. The spray makes the two meet:
 *
 * <ul>
 *   <li>the <b>hard side</b> opens up to {@link #MAX_SOCKETS} extra UDP sockets and pings the easy
 *       side's public endpoint from each: its NAT now holds that many random public ports, each of
 *       which admits packets from exactly that endpoint;
 *   <li>the <b>easy side</b> pings up to {@link #MAX_PROBES} distinct random ports of the hard side's
 *       announced public IP from its own socket (its NAT then admits whatever comes back from them).
 * </ul>
 *
 * A probe that lands on one of the hard side's ports reaches that socket (or opens the easy NAT for
 * the ping that socket sends next): the hard side keeps that socket as the pair's path (its QUIC codec
 * is added) and closes the rest at once; the easy side learns the port as a peer-reflexive candidate.
 * With n = 256 sockets among the 64512 ports a NAT allocates from, a probe hits with p = n / 64512, so
 * k probes find a port with probability 1 - (1 - p)^k: 64 % after 256, 98 % after 1024, 99.97 % after
 * 2048 (expected: about 250 probes, half a second at the pace below).
 *
 * <p>Bounded: one spray at a time per agent ({@link #MAX_ACTIVE}), {@link #PACKETS_PER_SECOND} per
 * side, {@link #DURATION} at most, {@link #RETRY_AFTER_FAILURE} between sprays to the same peer; never
 * aimed at anything but the peer's own announced public address (IP for the easy side, ip:port for
 * the hard side). Everything runs on the manager's event loop.
 */
final class HardNatSpray implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    /**
     * Hard side: extra sockets, each a new mapping on its NAT. 256 is Tailscale's figure: with the easy
     * side's {@link #MAX_PROBES} it finds a path 99.97 % of the time, and it stays far from
     * file-descriptor limits and from the NAT's conntrack table (Linux: 65536 entries and more).
     */
    static final int MAX_SOCKETS = 256;
    /** Easy side: probes to distinct random ports of the peer's public IP (see the class comment for the odds). */
    static final int MAX_PROBES = 2048;
    /**
     * Packets per second on each side (probes, pings, socket opening): 500 datagrams of about 110
     * bytes is 55 kB/s, nothing for an uplink and slow enough that a NAT or an IDS does not take it
     * for a flood; the easy side's 2048 probes take about 4 s, the hard side's 256 sockets half a second.
     */
    static final int PACKETS_PER_SECOND = 500;
    /** The pacing tick: {@link #PACKETS_PER_SECOND} / 50 packets every 20 ms. */
    static final Duration TICK = Duration.ofMillis(20);
    /** A spray ends after this, found or not (the easy side's probes take about 4 s; the rest absorbs skew between the sides). */
    static final Duration DURATION = Duration.ofSeconds(8);
    /** The hard side pings from every socket again this often (a lost ping must not lose its port). */
    static final Duration ROUND = Duration.ofSeconds(3);
    /**
     * After a spray to a peer failed, none to it for this long. Both sides count from the same failure,
     * so they stay in step; a failed spray costs {@link #MAX_PROBES} packets, which must not repeat
     * with every 10 s upgrade.
     */
    static final Duration RETRY_AFTER_FAILURE = Duration.ofMinutes(2);
    /** NATs map to unprivileged ports (Linux nf_nat: 1024-65535 for sources above 1023): probes go there only. */
    static final int MIN_PORT = 1024;
    /** Sprays at once per agent: the socket budget is the agent's, not each peer's. */
    static final int MAX_ACTIVE = 1;

    /** How a spray (or the decision about one) ended; a metrics tag, bounded. */
    enum Outcome {
        /** A probe met a mapping: the pair has a path. */
        SUCCEEDED,
        /** The budget or the time ran out. */
        FAILED,
        /** Both sides map per destination: spraying cannot work (each side's ports are unknown to the other). */
        SKIPPED_BOTH_HARD,
        /** Another spray was running (the {@link #MAX_ACTIVE} budget). */
        SKIPPED_BUSY
    }

    /** The per-peer view of spraying, for status. */
    enum State {
        NONE,
        RUNNING,
        SUCCEEDED,
        FAILED,
        BOTH_HARD,
        BUSY
    }

    /** What the spray needs from the rest of the manager. */
    interface Io {
        /** Sends an unrecorded disco PING to {@code to} from {@code s}. */
        void probe(DirectPeer p, DirectSocket s, InetSocketAddress to);

        /** Sends a recorded disco PING to {@code to} (from the peer's path socket): a PONG proves the path. */
        void ping(DirectPeer p, InetSocketAddress to);

        /** Starts binding a new spray socket (an ephemeral port, disco only). */
        ChannelFuture bind(DirectSocket s);

        /** The QUIC codec for a winning socket of that role. */
        ChannelHandler codec(boolean serverRole);
    }

    // Any thread: counters (metrics, status, tests).
    final LongAdder packetsSent = new LongAdder();
    final LongAdder socketsOpened = new LongAdder();
    final Map<Outcome, LongAdder> outcomes = new EnumMap<>(Outcome.class);

    // Final after construction.
    private final EventLoop loop;
    private final Io io;
    private final SecureRandom random = new SecureRandom();
    private final Function<DirectPeer, NatMapping> ownMapping;

    // Owned by the event loop.
    private Session session;

    HardNatSpray(EventLoop loop, Io io, Function<DirectPeer, NatMapping> ownMapping) {
        this.loop = loop;
        this.io = io;
        this.ownMapping = ownMapping;
        for (Outcome o : Outcome.values()) {
            outcomes.put(o, new LongAdder());
        }
    }

    /** Which side of a spray we would be, or null when no spray applies to this pair. */
    static Boolean hardSide(NatMapping own, NatMapping peer) {
        if (own == NatMapping.ENDPOINT_DEPENDENT && peer == NatMapping.ENDPOINT_INDEPENDENT) {
            return true;
        }
        if (own == NatMapping.ENDPOINT_INDEPENDENT && peer == NatMapping.ENDPOINT_DEPENDENT) {
            return false;
        }
        return null;
    }

    /** A candidate a spray may aim at: a public IPv4 address (never LAN, loopback, link-local, CGN or multicast space). */
    static boolean isPublic(InetSocketAddress a) {
        InetAddress ip = a.getAddress();
        if (!(ip instanceof Inet4Address)
                || ip.isSiteLocalAddress()
                || ip.isLoopbackAddress()
                || ip.isLinkLocalAddress()
                || ip.isAnyLocalAddress()
                || ip.isMulticastAddress()) {
            return false;
        }
        byte[] b = ip.getAddress();
        boolean cgn = (b[0] & 0xFF) == 100 && (b[1] & 0xC0) == 64; // 100.64.0.0/10
        return !cgn && (b[0] & 0xFF) != 0 && (b[0] & 0xFF) < 224;
    }

    /** The peer's first announced public candidate, or null. */
    static InetSocketAddress publicCandidate(DirectPeer p) {
        for (InetSocketAddress c : p.announced) {
            if (isPublic(c)) {
                return c;
            }
        }
        return null;
    }

    /** On the loop: plain punching to {@code p} ended without a path. Sprays when the NATs call for it. */
    void punchFailed(DirectPeer p, long now) {
        NatMapping own = ownMapping.apply(p);
        if (own == NatMapping.ENDPOINT_DEPENDENT && p.peerMapping == NatMapping.ENDPOINT_DEPENDENT) {
            if (p.sprayState != State.BOTH_HARD) {
                outcomes.get(Outcome.SKIPPED_BOTH_HARD).increment();
                log.info(
                        "direct path to {}: both sides behind symmetric NATs; no spray (it cannot work)",
                        p.key.shortId());
            }
            p.sprayState = State.BOTH_HARD;
            return;
        }
        Boolean hard = hardSide(own, p.peerMapping);
        if (hard == null || now - p.nextSprayNanos < 0 || (session != null && session.peer == p)) {
            return;
        }
        InetSocketAddress target = publicCandidate(p);
        if (target == null) {
            return;
        }
        if (session != null) {
            outcomes.get(Outcome.SKIPPED_BUSY).increment();
            p.sprayState = State.BUSY;
            return;
        }
        session = new Session(p, hard, target, now);
        p.sprayState = State.RUNNING;
        p.sprayHardSide = hard;
        p.sprayPackets = 0;
        log.info(
                "direct path to {}: punching failed, {} NAT here, {} NAT there: spraying {} ({} at most, {}/s)",
                p.key.shortId(),
                hard ? "symmetric" : "endpoint-independent",
                hard ? "endpoint-independent" : "symmetric",
                hard
                        ? "from new sockets to " + target
                        : "random ports of " + target.getAddress().getHostAddress(),
                hard ? MAX_SOCKETS + " sockets" : MAX_PROBES + " probes",
                PACKETS_PER_SECOND);
        session.ticker = loop.scheduleAtFixedRate(this::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether a spray to {@code p} is running. */
    boolean running(DirectPeer p) {
        return session != null && session.peer == p;
    }

    /** On the loop: the peer pinged us directly on {@code sock} from {@code from}: the spray met it there. */
    void directPing(DirectPeer p, DirectSocket sock, InetSocketAddress from, long now) {
        Session s = session;
        if (s == null || s.peer != p) {
            return;
        }
        if (s.hard) {
            if (s.sockets.contains(sock) && from.equals(s.target)) {
                win(s, sock, from, now);
            }
        } else if (from.getAddress().equals(s.target.getAddress())) {
            finish(s, true, now); // the peer's socket found us; disco already checks it from our side
        }
    }

    /** On the loop: a PONG proved a path to {@code p}: a spray to it is over. */
    void pathProven(DirectPeer p, long now) {
        Session s = session;
        if (s != null && s.peer == p) {
            finish(s, true, now);
        }
    }

    /** On the loop: {@code p} is forgotten. */
    void forget(DirectPeer p) {
        Session s = session;
        if (s != null && s.peer == p) {
            finish(s, false, System.nanoTime());
        }
    }

    private void win(Session s, DirectSocket sock, InetSocketAddress from, long now) {
        DirectPeer p = s.peer;
        s.sockets.remove(sock);
        if (p.sprayed != null) {
            p.sprayed.close();
        }
        p.sprayed = sock;
        p.sprayedAtNanos = now;
        sock.addCodec(io.codec(sock.serverRole));
        log.info(
                "direct path to {}: spray socket {} reached by {} after {} sockets",
                p.key.shortId(),
                sock.localAddress(),
                from,
                s.opened);
        finish(s, true, now);
        io.ping(p, from); // its PONG proves the path from this socket
    }

    private void finish(Session s, boolean found, long now) {
        if (session != s) {
            return;
        }
        session = null;
        if (s.ticker != null) {
            s.ticker.cancel(false);
        }
        for (DirectSocket sock : s.sockets) {
            sock.close();
        }
        s.sockets.clear();
        DirectPeer p = s.peer;
        p.sprayPackets = s.packets;
        p.sprayState = found ? State.SUCCEEDED : State.FAILED;
        outcomes.get(found ? Outcome.SUCCEEDED : Outcome.FAILED).increment();
        if (!found) {
            p.nextSprayNanos = now + RETRY_AFTER_FAILURE.toNanos();
        }
        log.info(
                "direct path to {}: spray {} after {} {} ({} packets, {} ms)",
                p.key.shortId(),
                found ? "succeeded" : "failed",
                s.hard ? s.opened : s.probes,
                s.hard ? "sockets" : "probes",
                s.packets,
                (now - s.startNanos) / 1_000_000);
    }

    private void tick() {
        Session s = session;
        if (s == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - s.startNanos >= DURATION.toNanos()) {
            finish(s, false, now);
            return;
        }
        int budget = (int) (PACKETS_PER_SECOND * TICK.toMillis() / 1000);
        if (s.hard) {
            while (budget > 0 && s.opened < MAX_SOCKETS) {
                DirectSocket sock = new DirectSocket(!s.peer.weAreClient);
                s.opened++;
                socketsOpened.increment();
                budget--;
                s.sockets.add(sock);
                io.bind(sock).addListener(f -> {
                    if (f.isSuccess()) {
                        send(s, sock); // its first ping: the NAT maps a new port towards the target
                    }
                });
            }
            if (s.opened >= MAX_SOCKETS) {
                if (s.cursor >= s.sockets.size() && now - s.lastRoundNanos >= ROUND.toNanos()) {
                    s.cursor = 0;
                    s.lastRoundNanos = now;
                }
                while (budget > 0 && s.cursor < s.sockets.size()) {
                    send(s, s.sockets.get(s.cursor++));
                    budget--;
                }
            }
        } else {
            while (budget > 0 && s.probes < MAX_PROBES) {
                int port;
                do {
                    port = MIN_PORT + random.nextInt(65536 - MIN_PORT);
                } while (!s.ports.add(port));
                s.probes++;
                s.packets++;
                packetsSent.increment();
                budget--;
                io.probe(s.peer, s.peer.pathSock(), new InetSocketAddress(s.target.getAddress(), port));
            }
        }
        s.peer.sprayPackets = s.packets;
    }

    private void send(Session s, DirectSocket sock) {
        if (session != s || !sock.channel().isActive()) {
            return;
        }
        s.packets++;
        packetsSent.increment();
        io.probe(s.peer, sock, s.target);
    }

    /** On the loop: ends a running spray (the manager closes). */
    @Override
    public void close() {
        Session s = session;
        if (s != null) {
            finish(s, false, System.nanoTime());
        }
    }

    /** One running spray. */
    private static final class Session {
        final DirectPeer peer;
        final boolean hard;
        /** Hard side: the easy side's public endpoint; easy side: the hard side's public address (its port unused). */
        final InetSocketAddress target;

        final long startNanos;
        final List<DirectSocket> sockets = new ArrayList<>();
        final Set<Integer> ports = new HashSet<>();
        ScheduledFuture<?> ticker;
        int opened;
        int probes;
        int packets;
        /** The hard side's next socket to ping in this round; the opening pings are the first round. */
        int cursor = MAX_SOCKETS;

        long lastRoundNanos;

        Session(DirectPeer peer, boolean hard, InetSocketAddress target, long now) {
            this.peer = peer;
            this.hard = hard;
            this.target = target;
            this.startNanos = now;
            this.lastRoundNanos = now;
        }
    }
}
