package dev.burrow.agent.direct;

import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicConnectionStats;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends a QUIC connection whose peer has gone silent while we still send to it, so that its streams
 * fail within seconds rather than hanging until QUIC's idle timeout.
 *
 * <p>Why: a peer process that dies (kill -9, OOM, a crashed host) sends nothing on UDP, unlike a TCP
 * peer whose kernel answers with a reset. QUIC keeps retransmitting into the void until {@link
 * QuicConnections#QUIC_IDLE_TIMEOUT} (60 s), and every stream on the connection, with the local TCP
 * connection bridged to it, hangs for that long. Our own signals are quicker: we know how many
 * packets the connection sent and received (quiche's counters), and whether disco pongs or pings
 * still arrive on the path.
 *
 * <p>The rule: the connection is dead when, for {@link #SILENCE_LIMIT}, it received no packet while
 * it did send (retransmissions, probes, keepalives: all ack-eliciting, so a live peer answers within
 * a round trip) and no disco pong or ping came from the peer either. An idle connection that sends
 * nothing is never judged: the idle timeout ends it. Closing it resets its streams (their bridged
 * TCP connections see the error) and new streams take the relay until a path is proven again.
 */
final class QuicLiveness {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    /**
     * How long a sending connection may hear nothing. It equals {@link DirectLimits#TRUST_DURATION}:
     * two disco heartbeats lost in a row, QUIC's probe timeout doubled several times over (its first
     * is a few round trips), and still far below the 60 s idle timeout a user would otherwise wait.
     */
    static final Duration SILENCE_LIMIT = DirectLimits.TRUST_DURATION;

    /** How often the counters are read (a call onto the connection's loop; cheap, but not per tick). */
    static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);

    /** Connections this agent closed because their peer went silent. */
    final LongAdder deadPeerCloses = new LongAdder();

    /** What was last seen of one connection's counters (owned by the event loop, per peer). */
    static final class Watch {
        final QuicChannel connection;
        long received;
        long sentAtLastReceive;
        long lastReceiveNanos;
        long lastCheckNanos;
        boolean sentSinceReceive;

        Watch(QuicChannel connection, long now) {
            this.connection = connection;
            this.received = -1;
            this.lastReceiveNanos = now;
            this.lastCheckNanos = now;
        }

        /** Takes in the counters read at {@code now}. */
        void observe(long recv, long sent, long now) {
            if (recv != received) {
                received = recv;
                sentAtLastReceive = sent;
                lastReceiveNanos = now;
                sentSinceReceive = false;
            } else if (sent != sentAtLastReceive) {
                sentSinceReceive = true;
            }
        }

        /**
         * Dead: we sent since the last packet from the peer, and neither QUIC nor disco heard from it
         * for {@link #SILENCE_LIMIT} ({@code lastDiscoNanos}: its last pong or ping).
         */
        boolean dead(long lastDiscoNanos, long now) {
            long limit = SILENCE_LIMIT.toNanos();
            return sentSinceReceive && now - lastReceiveNanos >= limit && now - lastDiscoNanos >= limit;
        }
    }

    /** On the loop, every tick: reads {@code p}'s connection counters now and then, and closes it when dead. */
    void check(DirectPeer p, long now) {
        QuicChannel qc = p.quic;
        if (qc == null || !qc.isActive()) {
            p.liveness = null;
            return;
        }
        Watch w = p.liveness;
        if (w == null || w.connection != qc) {
            p.liveness = new Watch(qc, now);
            w = p.liveness;
        }
        if (now - w.lastCheckNanos < CHECK_INTERVAL.toNanos()) {
            return;
        }
        w.lastCheckNanos = now;
        Watch watch = w;
        // the stats complete on the connection's loop, which is the manager's loop (the direct
        // sockets are bound there), so the peer's fields are read and written on one thread
        qc.collectStats().addListener(f -> {
            if (!f.isSuccess() || p.liveness != watch) {
                return;
            }
            QuicConnectionStats s = (QuicConnectionStats) f.getNow();
            long at = System.nanoTime();
            watch.observe(s.recv(), s.sent(), at);
            if (watch.dead(Math.max(p.lastPongNanos, p.lastPeerPingNanos), at) && qc.isActive()) {
                deadPeerCloses.increment();
                log.info(
                        "QUIC connection to {} at {} closed: nothing from the peer for {} ms while sending;"
                                + " its streams end and new streams use the relay",
                        p.key.shortId(),
                        qc.remoteSocketAddress(),
                        (at - watch.lastReceiveNanos) / 1_000_000);
                qc.close();
            }
        });
    }
}
