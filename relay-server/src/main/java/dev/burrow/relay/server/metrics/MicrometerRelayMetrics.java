package dev.burrow.relay.server.metrics;

import dev.burrow.protocol.BurrowVersion;
import dev.burrow.protocol.frame.ProtocolViolation;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.ToDoubleFunction;

/**
 * {@link RelayMetrics} on a Micrometer registry (the relay uses a Prometheus registry). Every series
 * {@code docs/operations.md} lists exists from construction with value zero, so dashboards and
 * alerts see a relay before its first event (the live-state gauges from {@link #bindGauges}).
 */
public final class MicrometerRelayMetrics implements RelayMetrics {
    /**
     * Latency histogram buckets: from a loopback circuit (about a millisecond) to a setup that hit
     * the offer timeout. Fixed buckets rather than Micrometer's percentile histogram (70+ buckets
     * per series): aggregatable across pods, and a dozen series per histogram.
     */
    static final Duration[] LATENCY_BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
                Duration.ofSeconds(1),
        Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
    };

    // Final after construction; the meters are thread-safe.
    private final MeterRegistry registry;
    private final Map<HandshakeOutcome, Counter> handshakes = new EnumMap<>(HandshakeOutcome.class);
    private final Map<DropReason, Counter> drops = new EnumMap<>(DropReason.class);
    private final Map<RateLimitKind, Counter> rateLimits = new EnumMap<>(RateLimitKind.class);
    private final Map<CircuitEvent, Counter> circuitEvents = new EnumMap<>(CircuitEvent.class);
    private final Map<IngressOutcome, Counter> ingress = new EnumMap<>(IngressOutcome.class);
    private final Map<NameLookupOutcome, Counter> nameLookups = new EnumMap<>(NameLookupOutcome.class);
    /** Keyed by {@code ProtocolViolation.Kind} names: a bounded set. */
    private final Map<String, Counter> violations = new ConcurrentHashMap<>();

    private final Map<MeshEvent, Counter> meshEvents = new EnumMap<>(MeshEvent.class);
    private final Counter datagrams;
    private final Counter bytes;
    private final Counter unknownFrames;
    private final Counter duplicates;
    private final Counter circuitBytes;
    private final Timer circuitSetup;
    private final Timer handshakeDuration;
    // Replaced once by bindMeshGauges when the mesh starts; zero while there is none.
    private volatile DoubleSupplier meshLinks = () -> 0;
    private volatile DoubleSupplier meshRoutes = () -> 0;
    private volatile DoubleSupplier meshNames = () -> 0;

    public MicrometerRelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (HandshakeOutcome o : HandshakeOutcome.values()) {
            handshakes.put(
                    o,
                    Counter.builder(HANDSHAKES)
                            .tag(TAG_OUTCOME, o.tag())
                            .description("Control and circuit handshakes by outcome")
                            .register(registry));
        }
        for (DropReason r : DropReason.values()) {
            drops.put(
                    r,
                    Counter.builder(DROPS)
                            .tag(TAG_REASON, r.tag())
                            .description("Datagrams and notices not delivered, by reason")
                            .register(registry));
        }
        for (RateLimitKind k : RateLimitKind.values()) {
            rateLimits.put(
                    k,
                    Counter.builder(RATE_LIMIT_EVENTS)
                            .tag(TAG_KIND, k.tag())
                            .description("Rate-limit events")
                            .register(registry));
        }
        for (CircuitEvent e : CircuitEvent.values()) {
            circuitEvents.put(
                    e,
                    Counter.builder(CIRCUIT_EVENTS)
                            .tag(TAG_EVENT, e.tag())
                            .description("Circuit lifecycle events")
                            .register(registry));
        }
        for (IngressOutcome o : IngressOutcome.values()) {
            ingress.put(
                    o,
                    Counter.builder(INGRESS_EVENTS)
                            .tag(TAG_OUTCOME, o.tag())
                            .description("Public ingress connections and publish requests by outcome")
                            .register(registry));
        }
        for (MeshEvent e : MeshEvent.values()) {
            meshEvents.put(
                    e,
                    Counter.builder(MESH_EVENTS)
                            .tag(TAG_EVENT, e.tag())
                            .description("Relay mesh events")
                            .register(registry));
        }
        for (NameLookupOutcome o : NameLookupOutcome.values()) {
            nameLookups.put(
                    o,
                    Counter.builder(NAME_LOOKUPS)
                            .tag(TAG_OUTCOME, o.tag())
                            .description("LOOKUP_NAME requests answered, by outcome")
                            .register(registry));
        }
        datagrams = Counter.builder(DATAGRAMS_FORWARDED)
                .description("Datagrams written to a destination")
                .register(registry);
        for (ProtocolViolation.Kind k : ProtocolViolation.Kind.values()) {
            violationCounter(k.name());
        }
        bytes = Counter.builder(DATAGRAM_PAYLOAD)
                .baseUnit("bytes")
                .description("Datagram payload bytes forwarded")
                .register(registry);
        unknownFrames = Counter.builder(UNKNOWN_FRAMES)
                .description("Frames of unknown type skipped")
                .register(registry);
        duplicates = Counter.builder(DUPLICATE_CLIENTS)
                .description("Connections replaced by a newer one with the same key")
                .register(registry);
        circuitBytes = Counter.builder(CIRCUIT_BYTES)
                .baseUnit("bytes")
                .description("Bytes copied through circuits")
                .register(registry);
        circuitSetup = Timer.builder(CIRCUIT_SETUP)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .description("Circuit request until both ends attached")
                .register(registry);
        handshakeDuration = Timer.builder(HANDSHAKE_DURATION)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .description("Connection accept until established (TLS and auth, attach or HTTP)")
                .register(registry);
        Gauge.builder(MESH_LINKS, this, m -> m.meshLinks.getAsDouble())
                .description("Authenticated mesh links to sibling relays")
                .register(registry);
        Gauge.builder(MESH_ROUTES, this, m -> m.meshRoutes.getAsDouble())
                .description("Nodes reachable through sibling relays")
                .register(registry);
        Gauge.builder(MESH_NAMES, this, m -> m.meshNames.getAsDouble())
                .description("Distinct certified names announced by sibling relays")
                .register(registry);
    }

    /**
     * JVM and process meters (memory, GC, threads, classes, CPU, uptime, open files) on the relay's
     * own registry. Close the result when the relay stops: the GC meters listen to the JVM.
     */
    public static AutoCloseable bindRuntimeMetrics(MeterRegistry registry) {
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        return gc;
    }

    public MeterRegistry registry() {
        return registry;
    }

    @Override
    public void meshEvent(MeshEvent event) {
        meshEvents.get(event).increment();
    }

    @Override
    public <T> void bindMeshGauges(
            T state, ToDoubleFunction<T> links, ToDoubleFunction<T> routes, ToDoubleFunction<T> names) {
        meshLinks = () -> links.applyAsDouble(state);
        meshRoutes = () -> routes.applyAsDouble(state);
        meshNames = () -> names.applyAsDouble(state);
    }

    @Override
    public void circuitSetup(long nanos) {
        circuitSetup.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void handshakeCompleted(long nanos) {
        handshakeDuration.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void handshake(HandshakeOutcome outcome) {
        handshakes.get(outcome).increment();
    }

    @Override
    public void nameLookup(NameLookupOutcome outcome) {
        nameLookups.get(outcome).increment();
    }

    @Override
    public void datagramForwarded(int payloadBytes) {
        datagrams.increment();
        bytes.increment(payloadBytes);
    }

    @Override
    public void dropped(DropReason reason) {
        drops.get(reason).increment();
    }

    @Override
    public void rateLimited(RateLimitKind kind) {
        rateLimits.get(kind).increment();
    }

    @Override
    public void protocolViolation(String kind) {
        violationCounter(kind).increment();
    }

    private Counter violationCounter(String kind) {
        return violations.computeIfAbsent(
                kind,
                k -> Counter.builder(PROTOCOL_VIOLATIONS)
                        .tag(TAG_KIND, k)
                        .description("Connections closed for a protocol violation")
                        .register(registry));
    }

    @Override
    public void unknownFrame() {
        unknownFrames.increment();
    }

    @Override
    public void duplicateClient() {
        duplicates.increment();
    }

    @Override
    public void circuitEvent(CircuitEvent event) {
        circuitEvents.get(event).increment();
    }

    @Override
    public void ingress(IngressOutcome outcome) {
        ingress.get(outcome).increment();
    }

    @Override
    public void circuitBytes(long n) {
        circuitBytes.increment(n);
    }

    @Override
    public <T> void bindGauges(
            T state,
            ToDoubleFunction<T> clients,
            ToDoubleFunction<T> queuedDatagrams,
            ToDoubleFunction<T> pendingCircuits,
            ToDoubleFunction<T> activeCircuits,
            ToDoubleFunction<T> draining) {
        Gauge.builder(CLIENTS, state, clients)
                .description("Authenticated clients connected")
                .register(registry);
        Gauge.builder(QUEUED_DATAGRAMS, state, queuedDatagrams)
                .description("Datagrams queued for all clients")
                .register(registry);
        Gauge.builder(CIRCUITS_PENDING, state, pendingCircuits)
                .description("Circuits offered or attaching")
                .register(registry);
        Gauge.builder(CIRCUITS_ACTIVE, state, activeCircuits)
                .description("Circuits copying bytes")
                .register(registry);
        Gauge.builder(DRAINING, state, draining)
                .description("1 while the relay drains")
                .register(registry);
    }

    @Override
    public void transport(String transportName) {
        Gauge.builder(INFO, () -> 1)
                .tag(TAG_TRANSPORT, transportName)
                .tag(TAG_VERSION, BurrowVersion.get())
                .description("Relay build and runtime info")
                .register(registry);
    }
}
