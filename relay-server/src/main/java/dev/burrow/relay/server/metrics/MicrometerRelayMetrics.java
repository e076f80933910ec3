package dev.burrow.relay.server.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/** {@link RelayMetrics} on a Micrometer registry (the relay uses a Prometheus registry). */
public final class MicrometerRelayMetrics implements RelayMetrics {
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

    public MicrometerRelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (HandshakeOutcome o : HandshakeOutcome.values()) {
            handshakes.put(o, Counter.builder(HANDSHAKES).tag(TAG_OUTCOME, o.tag())
                    .description("Control and circuit handshakes by outcome").register(registry));
        }
        for (DropReason r : DropReason.values()) {
            drops.put(r, Counter.builder(DROPS).tag(TAG_REASON, r.tag())
                    .description("Datagrams and notices not delivered, by reason").register(registry));
        }
        for (RateLimitKind k : RateLimitKind.values()) {
            rateLimits.put(k, Counter.builder(RATE_LIMIT_EVENTS).tag(TAG_KIND, k.tag())
                    .description("Rate-limit events").register(registry));
        }
        for (CircuitEvent e : CircuitEvent.values()) {
            circuitEvents.put(e, Counter.builder(CIRCUIT_EVENTS).tag(TAG_EVENT, e.tag())
                    .description("Circuit lifecycle events").register(registry));
        }
        for (IngressOutcome o : IngressOutcome.values()) {
            ingress.put(o, Counter.builder(INGRESS_EVENTS).tag(TAG_OUTCOME, o.tag())
                    .description("Public ingress connections and publish requests by outcome").register(registry));
        }
        for (MeshEvent e : MeshEvent.values()) {
            meshEvents.put(e, Counter.builder(MESH_EVENTS).tag(TAG_EVENT, e.tag())
                    .description("Relay mesh events").register(registry));
        }
        for (NameLookupOutcome o : NameLookupOutcome.values()) {
            nameLookups.put(o, Counter.builder(NAME_LOOKUPS).tag(TAG_OUTCOME, o.tag())
                    .description("LOOKUP_NAME requests answered, by outcome").register(registry));
        }
        datagrams = Counter.builder(DATAGRAMS_FORWARDED).description("Datagrams written to a destination").register(registry);
        bytes = Counter.builder(BYTES_FORWARDED).baseUnit("bytes").description("Datagram payload bytes forwarded").register(registry);
        unknownFrames = Counter.builder(UNKNOWN_FRAMES).description("Frames of unknown type skipped").register(registry);
        duplicates = Counter.builder(DUPLICATE_CLIENTS).description("Connections replaced by a newer one with the same key").register(registry);
        circuitBytes = Counter.builder(CIRCUIT_BYTES).baseUnit("bytes").description("Bytes copied through circuits").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    @Override
    public void meshEvent(MeshEvent event) {
        meshEvents.get(event).increment();
    }

    @Override
    public <T> void bindMeshGauges(T state, ToDoubleFunction<T> links, ToDoubleFunction<T> routes, ToDoubleFunction<T> names) {
        Gauge.builder(MESH_LINKS, state, links).description("Authenticated mesh links to sibling relays").register(registry);
        Gauge.builder(MESH_ROUTES, state, routes).description("Nodes reachable through sibling relays").register(registry);
        Gauge.builder(MESH_NAMES, state, names).description("Distinct certified names announced by sibling relays").register(registry);
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
        violations.computeIfAbsent(kind, k -> Counter.builder(PROTOCOL_VIOLATIONS).tag(TAG_KIND, k)
                .description("Connections closed for a protocol violation").register(registry)).increment();
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
    public <T> void bindGauges(T state, ToDoubleFunction<T> clients, ToDoubleFunction<T> queuedDatagrams,
            ToDoubleFunction<T> pendingCircuits, ToDoubleFunction<T> activeCircuits, ToDoubleFunction<T> draining) {
        Gauge.builder(CLIENTS, state, clients).description("Authenticated clients connected").register(registry);
        Gauge.builder(QUEUED_DATAGRAMS, state, queuedDatagrams).description("Datagrams queued for all clients").register(registry);
        Gauge.builder(CIRCUITS_PENDING, state, pendingCircuits).description("Circuits offered or attaching").register(registry);
        Gauge.builder(CIRCUITS_ACTIVE, state, activeCircuits).description("Circuits copying bytes").register(registry);
        Gauge.builder(DRAINING, state, draining).description("1 while the relay drains").register(registry);
    }

    @Override
    public void transport(String transportName) {
        Gauge.builder(INFO, () -> 1).tag(TAG_TRANSPORT, transportName).description("Relay build and runtime info")
                .register(registry);
    }
}
