package dev.burrow.agent.direct;

import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeKey;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prefers a verified direct path and falls back to the relay: every call also tells the manager the
 * peer is wanted. A peer no forward warmed up ({@link PeerWarmer}) gets its first stream through the
 * relay while punching starts; later streams go direct once a path is verified (and back to the
 * relay when it is lost).
 *
 * <p>Never onto a path measured slower: per peer and service, the selector keeps the throughput of
 * the bulk streams it placed on each path (streams that moved at least {@link #BULK_SAMPLE_BYTES},
 * bytes over lifetime, averaged). When the relay measured more than {@link #SLOWER_MARGIN} times
 * the direct path's rate, new streams of that service use the relay, and every
 * {@link #PROBE_EVERY}th one tries the direct path again so that the measurement follows the
 * network; samples older than {@link #SAMPLE_MAX_AGE} no longer count. Services whose streams
 * never move that much (interactive ones) stay on the direct path. Numbers behind this:
 * docs/benchmarks.md, "Direct path: QUIC without the inner TLS". {@code BURROW_DIRECT_MEASURE=off}
 * turns the measured preference off (every stream direct when a path is up: benchmarks of the
 * direct path itself).
 */
public final class DirectPathSelector implements PathSelector {
    private static final Logger log = LoggerFactory.getLogger(DirectPathSelector.class);

    /** A stream that moved less than this says nothing about a path's bulk speed. */
    static final long BULK_SAMPLE_BYTES = 8L << 20;
    /** The relay must be this much faster before the direct path is left (noise between runs). */
    static final double SLOWER_MARGIN = 1.25;
    /** While the relay is preferred, every this many streams one goes direct to measure it again. */
    static final int PROBE_EVERY = 16;
    /** A sample older than this is forgotten (networks change). */
    static final Duration SAMPLE_MAX_AGE = Duration.ofMinutes(10);
    /** Bound on the (peer, service) pairs measured; beyond it the oldest knowledge is dropped. */
    static final int MAX_MEASURED = 4096;

    // Final after construction.
    private final PeerPath relay;
    private final LongSupplier nanoTime;
    private final boolean measure;
    // Any thread: attached once the direct path is up, read per stream.
    private volatile DirectManager direct;
    // Any thread: per (peer, service), guarded by each entry's monitor.
    private final Map<Key, Rates> rates = new ConcurrentHashMap<>();

    public DirectPathSelector(PeerPath relay) {
        this(relay, System::nanoTime);
    }

    DirectPathSelector(PeerPath relay, LongSupplier nanoTime) {
        this(relay, nanoTime, !"off".equals(System.getenv("BURROW_DIRECT_MEASURE")));
    }

    DirectPathSelector(PeerPath relay, LongSupplier nanoTime, boolean measure) {
        this.relay = relay;
        this.nanoTime = nanoTime;
        this.measure = measure;
    }

    /** Enables direct paths (null: relay only, e.g. when the UDP sockets could not be bound). */
    public void attach(DirectManager manager) {
        this.direct = manager;
    }

    public DirectManager manager() {
        return direct;
    }

    @Override
    public PeerPath pathFor(NodeKey peer) {
        return pathFor(peer, null);
    }

    @Override
    public PeerPath pathFor(NodeKey peer, String service) {
        DirectManager d = direct;
        if (d == null || !d.isRunning()) {
            return relay;
        }
        d.want(peer);
        if (!d.hasDirect(peer)) {
            return relay;
        }
        return preferRelay(peer, service) ? relay : d.path();
    }

    /**
     * True when the relay measured faster for this peer's service, except for every
     * {@link #PROBE_EVERY}th stream (which measures the direct path again); also true for every
     * {@link #PROBE_EVERY}th stream of a service whose bulk speed is known only on the direct path
     * (so that the relay gets measured too).
     */
    boolean preferRelay(NodeKey peer, String service) {
        Rates r = rates.get(new Key(peer, service));
        if (r == null) {
            return false;
        }
        synchronized (r) {
            long now = nanoTime.getAsLong();
            boolean slower = r.directSlower(now);
            boolean relayUnmeasured = r.knownDirect(now) && !r.knownRelay(now);
            if (!slower && !relayUnmeasured) {
                return false;
            }
            if (++r.sinceProbe >= PROBE_EVERY) {
                r.sinceProbe = 0;
                return !slower; // a probe of the other path
            }
            return slower;
        }
    }

    @Override
    public void streamEnded(NodeKey peer, String service, String path, long bytes, long nanos) {
        if (!measure || bytes < BULK_SAMPLE_BYTES || nanos <= 0) {
            return;
        }
        boolean isDirect = DirectPath.NAME.equals(path);
        if (!isDirect && !relay.name().equals(path)) {
            return;
        }
        if (rates.size() >= MAX_MEASURED) {
            rates.clear();
        }
        Rates r = rates.computeIfAbsent(new Key(peer, service), k -> new Rates());
        double bps = bytes * 8e9 / nanos;
        long now = nanoTime.getAsLong();
        synchronized (r) {
            boolean before = r.directSlower(now);
            r.add(isDirect, bps, now);
            boolean after = r.directSlower(now);
            if (before != after) {
                log.info(
                        "service '{}' of {}: bulk streams measured {} Mbit/s direct, {} Mbit/s relayed: new connections {}",
                        service,
                        peer.shortId(),
                        Math.round(r.directBps / 1e6),
                        Math.round(r.relayBps / 1e6),
                        after ? "use the relay (every " + PROBE_EVERY + "th tries direct)" : "go direct");
            }
        }
    }

    private record Key(NodeKey peer, String service) {}

    /** Bulk throughput per path (exponential average over streams, bit/s), with when it was last measured. */
    private static final class Rates {
        double directBps = Double.NaN;
        long directAt;
        double relayBps = Double.NaN;
        long relayAt;
        int sinceProbe;

        void add(boolean isDirect, double bps, long now) {
            if (isDirect) {
                directBps = Double.isNaN(directBps) ? bps : (directBps + bps) / 2;
                directAt = now;
            } else {
                relayBps = Double.isNaN(relayBps) ? bps : (relayBps + bps) / 2;
                relayAt = now;
            }
        }

        boolean knownDirect(long now) {
            return !Double.isNaN(directBps) && now - directAt < SAMPLE_MAX_AGE.toNanos();
        }

        boolean knownRelay(long now) {
            return !Double.isNaN(relayBps) && now - relayAt < SAMPLE_MAX_AGE.toNanos();
        }

        boolean directSlower(long now) {
            return knownDirect(now) && knownRelay(now) && relayBps > directBps * SLOWER_MARGIN;
        }
    }
}
