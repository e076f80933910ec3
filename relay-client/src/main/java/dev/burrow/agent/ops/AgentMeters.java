package dev.burrow.agent.ops;

import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.direct.DirectPath;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.path.RelayCircuitPath;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.SpliceOutcome;
import dev.burrow.agent.stream.StreamStatusCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The agent's meters beyond the counters {@link AgentMetrics} records: gauges read from the
 * agent's status at scrape time (open streams by kind and path, peers by path, the relay
 * connection and its round-trip time), and every documented counter registered at zero, so that
 * a dashboard or an alert never waits for a first event. Tags are bounded: direction, path,
 * status code, outcome; never a peer, service or address.
 */
public final class AgentMeters {
    /** Open streams, tagged {@code direction} (inbound: to exposed services; outbound: through forwards) and {@code path}. */
    public static final String STREAMS_OPEN = "burrow.agent.streams.open";
    /** Peers with open streams or a direct-path state, tagged {@code path} (the path their new streams take). */
    public static final String PEERS = "burrow.agent.peers";
    /** 1 while connected to the (home) relay, else 0. */
    public static final String RELAY_CONNECTED = "burrow.agent.relay.connected";
    /** Round-trip time of the relay connection's pings, in seconds; NaN until measured. */
    public static final String RELAY_RTT = "burrow.agent.relay.rtt";
    /** Bytes of every stream since start, open ones included, tagged {@code way}: {@code from_peers}, {@code to_peers}. */
    public static final String PEER_BYTES = "burrow.agent.peer.bytes";

    /** Probe and ping packets hard-NAT sprays sent. */
    public static final String SPRAY_PACKETS = "burrow.agent.direct.spray.packets";
    /** Sprays (and decisions not to spray), tagged {@code outcome}: succeeded, failed, skipped_both_hard, skipped_busy. */
    public static final String SPRAYS = "burrow.agent.direct.sprays";
    /** QUIC connections closed because the peer sent nothing for a while as we sent to it (its streams ended). */
    public static final String QUIC_DEAD_PEER_CLOSES = "burrow.agent.direct.quic.dead.peer.closes";
    /** Direct sockets with a gateway port mapping held, tagged {@code protocol} (pcp, nat-pmp, upnp). */
    public static final String PORT_MAPPINGS = "burrow.agent.direct.portmappings";
    /** Seconds left on the shortest port-mapping lease held; NaN when none is held. */
    public static final String PORT_MAPPING_LEASE = "burrow.agent.direct.portmapping.lease";

    /** Spray outcomes (bounded tag values). */
    static final List<String> SPRAY_OUTCOMES = List.of("succeeded", "failed", "skipped_both_hard", "skipped_busy");
    /** Port-mapping protocols (bounded tag values). */
    static final List<String> PORT_MAP_PROTOCOLS = List.of("pcp", "nat-pmp", "upnp");

    /** The paths a stream can take (bounded tag values). */
    static final List<String> PATHS = List.of(RelayCircuitPath.NAME, DirectPath.NAME);
    /**
     * How long one status snapshot serves the gauges: one scrape reads a dozen gauges, each of which
     * would otherwise build the whole status (a lock and a walk over every open stream).
     */
    static final Duration SNAPSHOT_TTL = Duration.ofSeconds(1);

    private final Supplier<AgentStatus> status;
    private final LongSupplier nanoTime;
    private AgentStatus cached;
    private long cachedAt;

    private AgentMeters(Supplier<AgentStatus> status, LongSupplier nanoTime) {
        this.status = status;
        this.nanoTime = nanoTime;
    }

    /** Registers every agent series on {@code registry}; gauges read {@code status} (at most once per {@link #SNAPSHOT_TTL}). */
    public static AgentMeters bind(MeterRegistry registry, Supplier<AgentStatus> status) {
        AgentMeters m = new AgentMeters(status, System::nanoTime);
        m.registerCounters(registry);
        for (Direction d : Direction.values()) {
            String direction = tag(d);
            for (String path : PATHS) {
                Gauge.builder(
                                STREAMS_OPEN,
                                m,
                                x -> x.snapshot().connections().stream()
                                        .filter(c -> direction.equals(c.direction()) && path.equals(c.path()))
                                        .count())
                        .tag("direction", direction)
                        .tag("path", path)
                        .register(registry);
            }
        }
        for (String path : PATHS) {
            Gauge.builder(
                            PEERS,
                            m,
                            x -> x.snapshot().peers().stream()
                                    .filter(p -> path.equals(p.path()))
                                    .count())
                    .tag("path", path)
                    .register(registry);
        }
        Gauge.builder(
                        RELAY_CONNECTED,
                        m,
                        x -> "connected".equals(x.snapshot().relay().state()) ? 1 : 0)
                .register(registry);
        Gauge.builder(RELAY_RTT, m, x -> {
                    Long ms = x.snapshot().relay().rttMillis();
                    return ms == null ? Double.NaN : ms / 1000.0;
                })
                .baseUnit("seconds")
                .register(registry);
        FunctionCounter.builder(SPRAY_PACKETS, m, x -> {
                    AgentStatus.DirectStatus d = x.snapshot().direct();
                    return d == null ? 0 : d.spray().packets();
                })
                .register(registry);
        for (String outcome : SPRAY_OUTCOMES) {
            FunctionCounter.builder(SPRAYS, m, x -> {
                        AgentStatus.DirectStatus d = x.snapshot().direct();
                        return d == null ? 0 : d.spray().outcomes().getOrDefault(outcome, 0L);
                    })
                    .tag("outcome", outcome)
                    .register(registry);
        }
        FunctionCounter.builder(QUIC_DEAD_PEER_CLOSES, m, x -> {
                    AgentStatus.DirectStatus d = x.snapshot().direct();
                    return d == null ? 0 : d.quicDeadPeerCloses();
                })
                .register(registry);
        for (String protocol : PORT_MAP_PROTOCOLS) {
            Gauge.builder(PORT_MAPPINGS, m, x -> {
                        AgentStatus.DirectStatus d = x.snapshot().direct();
                        return d == null
                                ? 0
                                : d.portMappings().stream()
                                        .filter(pm -> protocol.equals(pm.protocol()))
                                        .count();
                    })
                    .tag("protocol", protocol)
                    .register(registry);
        }
        Gauge.builder(PORT_MAPPING_LEASE, m, x -> {
                    AgentStatus.DirectStatus d = x.snapshot().direct();
                    return d == null
                            ? Double.NaN
                            : d.portMappings().stream()
                                    .filter(pm -> pm.expiresInSeconds() != null)
                                    .mapToDouble(pm -> pm.expiresInSeconds())
                                    .min()
                                    .orElse(Double.NaN);
                })
                .baseUnit("seconds")
                .register(registry);
        FunctionCounter.builder(PEER_BYTES, m, x -> x.snapshot().bytesFromPeers())
                .baseUnit("bytes")
                .tag("way", "from_peers")
                .register(registry);
        FunctionCounter.builder(PEER_BYTES, m, x -> x.snapshot().bytesToPeers())
                .baseUnit("bytes")
                .tag("way", "to_peers")
                .register(registry);
        return m;
    }

    /** The counters {@code MicrometerAgentMetrics} increments, each tag combination at zero. */
    private void registerCounters(MeterRegistry registry) {
        for (Direction d : Direction.values()) {
            Counter.builder(AgentMetrics.STREAMS_OPENED)
                    .tag("direction", tag(d))
                    .register(registry);
            for (StreamStatusCode code : StreamStatusCode.values()) {
                if (code != StreamStatusCode.OK) {
                    Counter.builder(AgentMetrics.STREAMS_REFUSED)
                            .tag("direction", tag(d))
                            .tag("code", tag(code))
                            .register(registry);
                }
            }
            for (SpliceOutcome o : SpliceOutcome.values()) {
                Counter.builder(AgentMetrics.STREAMS_ENDED)
                        .tag("direction", tag(d))
                        .tag("outcome", tag(o))
                        .register(registry);
            }
            for (String way : List.of("in", "out")) {
                Counter.builder(AgentMetrics.STREAM_BYTES)
                        .tag("direction", tag(d))
                        .tag("way", way)
                        .register(registry);
            }
        }
        Counter.builder(AgentMetrics.PREAMBLE_ERRORS).register(registry);
        Counter.builder(AgentMetrics.WHOIS_OVERFLOWS).register(registry);
    }

    private synchronized AgentStatus snapshot() {
        long now = nanoTime.getAsLong();
        if (cached == null || now - cachedAt >= SNAPSHOT_TTL.toNanos()) {
            cached = status.get();
            cachedAt = now;
        }
        return cached;
    }

    private static String tag(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
