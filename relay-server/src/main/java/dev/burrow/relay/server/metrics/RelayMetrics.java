package dev.burrow.relay.server.metrics;

import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * What the relay records. Implementations must be thread-safe and cheap: the forwarding path calls
 * {@link #datagramForwarded} and {@link #dropped} per datagram. Every tag value comes from a bounded
 * set (enums or fixed strings); never a node ID or an address.
 */
public interface RelayMetrics {
    String CLIENTS = "burrow.relay.clients";
    String HANDSHAKES = "burrow.relay.handshakes";
    String DATAGRAMS_FORWARDED = "burrow.relay.datagrams.forwarded";
    /** Base unit bytes: Prometheus adds {@code _bytes_total} (a name ending in "bytes" would say it twice). */
    String DATAGRAM_PAYLOAD = "burrow.relay.datagrams.payload";

    String DROPS = "burrow.relay.drops";
    String QUEUED_DATAGRAMS = "burrow.relay.queue.datagrams";
    String RATE_LIMIT_EVENTS = "burrow.relay.ratelimit.events";
    String PROTOCOL_VIOLATIONS = "burrow.relay.protocol.violations";
    String UNKNOWN_FRAMES = "burrow.relay.frames.unknown";
    String CIRCUITS_PENDING = "burrow.relay.circuits.pending";
    String CIRCUITS_ACTIVE = "burrow.relay.circuits.active";
    String CIRCUIT_EVENTS = "burrow.relay.circuits.events";
    String CIRCUIT_BYTES = "burrow.relay.circuits.bytes";
    String DUPLICATE_CLIENTS = "burrow.relay.clients.duplicate";
    String INFO = "burrow.relay.info";
    String DRAINING = "burrow.relay.draining";
    String INGRESS_EVENTS = "burrow.relay.ingress.events";
    String MESH_EVENTS = "burrow.relay.mesh.events";
    String MESH_LINKS = "burrow.relay.mesh.links";
    String MESH_ROUTES = "burrow.relay.mesh.routes";
    String MESH_NAMES = "burrow.relay.mesh.names";
    String NAME_LOOKUPS = "burrow.relay.name.lookups";
    /** Histogram in seconds: a circuit's request until both ends attached (its bytes may flow). */
    String CIRCUIT_SETUP = "burrow.relay.circuit.setup";
    /**
     * Histogram in seconds: a connection's accept until it was established (TLS, then the control
     * handshake's auth proof, a circuit end's attach, or an answered HTTP request).
     */
    String HANDSHAKE_DURATION = "burrow.relay.handshake.duration";

    /** Tag keys. */
    String TAG_OUTCOME = "outcome";

    String TAG_REASON = "reason";
    String TAG_KIND = "kind";
    String TAG_EVENT = "event";
    String TAG_TRANSPORT = "transport";
    String TAG_VERSION = "version";

    /** Handshake outcomes: a fixed set. */
    enum HandshakeOutcome {
        OK,
        AUTH_FAILED,
        NOT_ALLOWED,
        BAD_VERSION,
        PROTOCOL_ERROR,
        TIMEOUT,
        RATE_LIMITED,
        SERVER_FULL,
        DRAINING,
        BAD_HTTP,
        INTERNAL;

        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Why a connection or read was limited. */
    enum RateLimitKind {
        /** A client's reads were paused by its byte bucket. */
        CLIENT_READ,
        /** A new TCP connection was refused by the per-IP limiter. */
        IP_CONNECT,
        /** A new TCP connection was refused because too many handshakes are in flight. */
        HANDSHAKES_IN_FLIGHT,
        /** A new TCP connection was refused because its source (IPv4 address, IPv6 /64) has too many handshakes in flight. */
        HANDSHAKES_PER_SOURCE,
        /** A PEER_GONE notice was not sent because of the per-sender notice limiter. */
        PEER_GONE_NOTICE,
        /** A PING was dropped because a PONG is already pending. */
        PING;

        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Circuit events: a fixed set. */
    enum CircuitEvent {
        REQUESTED,
        OFFERED,
        ACCEPTED,
        REJECTED,
        TIMED_OUT,
        ATTACHED,
        TOKEN_REFUSED,
        LIMIT_REACHED,
        CLOSED,
        /** A pending circuit its dialer had not attached gave its listener slot to a dialer holding fewer (fair share). */
        EVICTED;

        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Relay mesh events: a fixed set (never a peer address or node ID). */
    enum MeshEvent {
        /** A mesh connection proved the key (either direction). */
        AUTH_OK,
        /** A mesh connection failed authentication: wrong key, bad MAC or certificate mismatch. */
        AUTH_FAILED,
        /** A relay reached itself (same instance ID) and hung up. */
        SELF_MESH,
        /** A mesh connection spoke another protocol version or broke the framing. */
        PROTOCOL_ERROR,
        /** A mesh connection arrived while meshing is disabled (no or bad key). */
        DISABLED,
        LINK_UP,
        LINK_DOWN,
        /** A datagram went to a sibling relay. */
        DATAGRAM_SENT,
        /** A datagram from a sibling relay was delivered to a local client. */
        DATAGRAM_DELIVERED,
        /** A datagram from a sibling relay was for a node not connected here (never forwarded again). */
        DATAGRAM_NOT_HERE,
        /** A datagram for a sibling relay was dropped because its link queue was full. */
        DATAGRAM_QUEUE_FULL,
        /** A link's control queue overflowed: the link is reset (presence resyncs on reconnect). */
        CONTROL_QUEUE_FULL,
        /** A link stayed unwritable past the write timeout and was closed. */
        WRITE_TIMEOUT,
        /** A link was closed because the key its sibling proved is no longer in the key file (rotation). */
        KEY_REVOKED,
        /** A sibling dialled us while our redial to it waited out its backoff: we dialled it at once. */
        REDIAL_EARLY,
        CIRCUIT_REQUESTED,
        CIRCUIT_ACCEPTED,
        CIRCUIT_REJECTED,
        /** A cross-relay circuit was joined on this (the dialer's) relay. */
        CIRCUIT_BRIDGED,
        CIRCUIT_FAILED,
        /** A cross-relay circuit took a pre-opened (pooled) circuit connection: no relay-to-relay handshake. */
        CIRCUIT_POOL_TAKEN,
        /** A cross-relay circuit found no idle pooled connection and opened a new one. */
        CIRCUIT_POOL_EMPTY,
        /**
         * A sibling took no pooled circuit connections in the current mode (plain, then TLS): the pool
         * fell back a step (TLS, then one TLS connection per circuit) until the link is re-established.
         */
        CIRCUIT_POOL_FALLBACK,
        /**
         * A CIRCUIT_BIND was refused on the listener's relay: unknown or used circuit, or a MAC that does
         * not prove the circuit's token on this connection (wrong key, replayed or forged bind).
         */
        CIRCUIT_BIND_REFUSED,
        /** Listener's relay: a pooled circuit connection beyond the limit of idle ones from all siblings was closed. */
        POOLED_LIMIT,
        /** A sibling announced certified names (NAMES) for nodes here (counted per frame). */
        NAMES_RECEIVED,
        /**
         * A sibling announced a name for a node it had not announced (or more names than routes): the
         * link is reset (a malformed NAMES frame counts as {@link #PROTOCOL_ERROR}).
         */
        NAMES_REFUSED;

        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Outcomes of LOOKUP_NAME: a fixed set. */
    enum NameLookupOutcome {
        FOUND,
        NOT_FOUND;

        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    void handshake(HandshakeOutcome outcome);

    /** A relay mesh event. */
    default void meshEvent(MeshEvent event) {}

    /**
     * Registers mesh gauges: authenticated outbound links, nodes reachable through them, and the
     * distinct certified names siblings announced.
     */
    default <T> void bindMeshGauges(
            T state, ToDoubleFunction<T> links, ToDoubleFunction<T> routes, ToDoubleFunction<T> names) {}

    /** A circuit became active {@code nanos} after it was requested. */
    default void circuitSetup(long nanos) {}

    /** A connection was established {@code nanos} after it was accepted. */
    default void handshakeCompleted(long nanos) {}

    /** A LOOKUP_NAME was answered (tagged by outcome; never by name). */
    default void nameLookup(NameLookupOutcome outcome) {}

    void datagramForwarded(int payloadBytes);

    void dropped(DropReason reason);

    void rateLimited(RateLimitKind kind);

    void protocolViolation(String kind);

    void unknownFrame();

    void duplicateClient();

    void circuitEvent(CircuitEvent event);

    void circuitBytes(long bytes);

    /**
     * Registers the gauges that read live state. Called once by the server with itself as {@code state}.
     */
    <T> void bindGauges(
            T state,
            ToDoubleFunction<T> clients,
            ToDoubleFunction<T> queuedDatagrams,
            ToDoubleFunction<T> pendingCircuits,
            ToDoubleFunction<T> activeCircuits,
            ToDoubleFunction<T> draining);

    /** Records the transport in use (the info gauge: {@code transport} and {@code version} tags, value 1). */
    void transport(String transportName);

    /** Public ingress: a connection's or a PUBLISH's outcome. */
    default void ingress(IngressOutcome outcome) {}

    /** Records nothing. */
    RelayMetrics NOOP = new RelayMetrics() {
        @Override
        public void handshake(HandshakeOutcome outcome) {}

        @Override
        public void nameLookup(NameLookupOutcome outcome) {}

        @Override
        public void datagramForwarded(int payloadBytes) {}

        @Override
        public void dropped(DropReason reason) {}

        @Override
        public void rateLimited(RateLimitKind kind) {}

        @Override
        public void protocolViolation(String kind) {}

        @Override
        public void unknownFrame() {}

        @Override
        public void duplicateClient() {}

        @Override
        public void circuitEvent(CircuitEvent event) {}

        @Override
        public void circuitBytes(long bytes) {}

        @Override
        public <T> void bindGauges(
                T state,
                ToDoubleFunction<T> clients,
                ToDoubleFunction<T> queuedDatagrams,
                ToDoubleFunction<T> pendingCircuits,
                ToDoubleFunction<T> activeCircuits,
                ToDoubleFunction<T> draining) {}

        @Override
        public void transport(String transportName) {}
    };
}
