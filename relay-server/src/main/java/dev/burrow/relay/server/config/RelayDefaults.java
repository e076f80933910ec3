package dev.burrow.relay.server.config;

import io.netty.channel.WriteBufferWaterMark;
import java.time.Duration;

/** Every default limit and timeout of the relay, each with its reason. All are overridable in {@link RelayConfig}. */
public final class RelayDefaults {
    private RelayDefaults() {}

    /**
     * Write-buffer marks of every relay socket (clients, circuits, ingress, mesh): Netty's defaults,
     * stated so that the forwarder's backpressure is explicit.
     */
    public static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    /** Production port: 443 passes every firewall and HTTP-only proxy that lets HTTPS out. */
    public static final int PORT = 443;
    /** Admin (health, readiness, metrics) port, kept off the public listener. */
    public static final int ADMIN_PORT = 9090;
    /** STUN's registered port (RFC 8489 §18.6). */
    public static final int STUN_PORT = 3478;

    /**
     * Deadline from TCP accept to an authenticated (or attached) connection. Covers silent TCP, a partial
     * TLS ClientHello and a partial HTTP request (slowloris). DERP uses 10 s.
     */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /**
     * A receiver whose socket stays unwritable this long is disconnected, so its queue cannot hold
     * memory and its sender cannot notice (DERP and iroh: 2 s).
     */
    public static final Duration WRITE_TIMEOUT = Duration.ofSeconds(2);
    /** KEEPALIVE interval (plus up to {@link #KEEPALIVE_JITTER}): keeps NAT and proxy state alive (DERP: 60 s + 0-5 s). */
    public static final Duration KEEPALIVE_INTERVAL = Duration.ofSeconds(60);
    /** Random extra delay so that keepalives of clients that connected together spread out. */
    public static final Duration KEEPALIVE_JITTER = Duration.ofSeconds(5);
    /**
     * A client that sends nothing for this long is closed. Clients PING at least every keepalive
     * interval, so five missed intervals is a dead peer, not a quiet one.
     */
    public static final Duration CLIENT_IDLE_TIMEOUT = Duration.ofMinutes(5);
    /** Circuit attach tokens live this long: both ends attach right after accept, and a late token is refused. */
    public static final Duration CIRCUIT_TOKEN_TTL = Duration.ofSeconds(10);
    /** A circuit with no bytes in either direction for this long is closed (the ends keep alive inside). */
    public static final Duration CIRCUIT_IDLE_TIMEOUT = Duration.ofMinutes(10);
    /** RESTARTING tells clients to wait this long before reconnecting elsewhere (spreads the reconnect storm). */
    public static final Duration DRAIN_RECONNECT_IN = Duration.ofSeconds(1);
    /** Default drain grace on SIGTERM (Kubernetes' default termination grace is 30 s). */
    public static final Duration DRAIN_GRACE = Duration.ofSeconds(25);

    /**
     * Datagrams queued per receiver; when full the oldest is dropped (head drop, as DERP): a fresh
     * datagram is worth more than a stale one. 128, not DERP's 32: senders coalesce datagrams into
     * 16 KiB TLS records, so one read brings dozens at once. Memory per client stays bounded at 2 MiB
     * of payload (32 × 64 KiB, {@code ClientSession.MAX_QUEUED_BYTES}) whatever the depth.
     */
    public static final int SEND_QUEUE_DEPTH = 128;
    /**
     * Control frames (PEER_GONE, PEER_PRESENT, HEALTH, PONG, circuit frames) queued per client, sent
     * before any datagram; when full new notices are dropped. Small: they are small and rare.
     */
    public static final int CONTROL_QUEUE_DEPTH = 32;
    /** Authenticated clients per relay; beyond this DENY SERVER_FULL. */
    public static final int MAX_CLIENTS = 100_000;
    /** Connections accepted but not yet authenticated; beyond this new TCP connections are closed at once. */
    public static final int MAX_HANDSHAKES_IN_FLIGHT = 1024;
    /**
     * Handshakes in flight from one source (IPv4 address, IPv6 /64): well below the relay-wide cap, so
     * it takes 16 sources holding half-open handshakes to fill it (issue 14: 12 did), yet ample for a
     * NAT'd site whose agents all reconnect at once (a handshake takes milliseconds; a refused agent
     * retries with backoff).
     */
    public static final int MAX_HANDSHAKES_PER_SOURCE = 64;
    /** New connections per second from one IP (token bucket rate); a reconnecting NAT'd office is well below. */
    public static final double IP_CONNECT_RATE = 20;
    /** Burst of new connections from one IP. */
    public static final int IP_CONNECT_BURST = 100;
    /** Entries in the per-source connect limiter; bounded so a spoofed-source storm cannot grow the heap (IPv4 address or IPv6 /64, never the port). */
    public static final int IP_LIMITER_ENTRIES = 65_536;
    /** Per-client read rate in bytes per second; 0 = unlimited (DERP's default). */
    public static final long CLIENT_BYTES_PER_SECOND = 0;
    /** Per-client burst; never below one largest frame (DERP's floor 65 568 B): a frame is clamped to the burst. */
    public static final long CLIENT_BURST_BYTES = 1024 * 1024;
    /** Smallest accepted burst: one full datagram frame with its header and key. */
    public static final long MIN_CLIENT_BURST_BYTES = 65_536 + 32 + 5;
    /** Circuits a client may have offered or attaching at once (stream floods from one peer; libp2p allows 16 per peer). */
    public static final int PENDING_CIRCUITS_PER_CLIENT = 64;
    /** Circuits a client may have copying bytes at once (as either end). */
    public static final int ACTIVE_CIRCUITS_PER_CLIENT = 1024;
    /** Largest enrolment request body: a join token and a public key fit in well under 4 KiB. */
    public static final int MAX_ENROL_BODY = 8 * 1024;
    /** Clients remembered per destination for PEER_PRESENT/PEER_GONE notices (bounded memory). */
    public static final int WATCHERS_PER_PEER = 64;
    /** Destinations remembered for notices overall. */
    public static final int WATCHED_PEERS = 100_000;
    /** How long a sender stays interested in a destination after its last datagram to it. */
    public static final Duration WATCH_TTL = Duration.ofMinutes(2);
    /** PEER_GONE(NOT_HERE) notices per sender: 1 per second, burst 3 (DERP's peer-gone limiter). */
    public static final double PEER_GONE_NOTICE_RATE = 1;

    public static final int PEER_GONE_NOTICE_BURST = 3;
    /** Webhook admission: answer within 5 s, body at most 4 KiB, else deny (fail closed). */
    public static final Duration WEBHOOK_TIMEOUT = Duration.ofSeconds(5);

    public static final int WEBHOOK_MAX_BODY = 4 * 1024;

    /** How often mesh peer names are resolved again: pods come and go; DNS TTLs in clusters are ~30 s. */
    public static final Duration MESH_RESOLVE_INTERVAL = Duration.ofSeconds(10);
}
