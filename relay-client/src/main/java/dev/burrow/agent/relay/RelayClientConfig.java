package dev.burrow.agent.relay;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.transport.Transport;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything a {@link RelayClient} needs. Build with {@link #builder(URI, RelayTrust, NodeIdentity)};
 * every field has a documented default.
 *
 * @param relayUrl            {@code https://host:port} (mode from {@link #mode}, or {@code ?mode=...}) or {@code wss://host:port}
 * @param trust               how the relay's TLS certificate is checked
 * @param identity            this node's key and certificate (signs the relay's challenge)
 * @param mode                connection mode when the URL does not name one
 * @param acceptsCircuits     advertise ACCEPTS_CIRCUITS (this node exposes services)
 * @param software            software string sent in CLIENT_AUTH (shown in relay status)
 * @param transport           Netty transport for the client's sockets
 * @param connectTimeout      TCP connect timeout
 * @param handshakeTimeout    from TCP connect to SERVER_ACCEPT (TLS, HTTP, auth), and to CIRCUIT_ATTACHED
 * @param pingInterval        how often the client pings the relay (RTT and liveness); jittered up to +25%
 * @param pingTimeout         a ping unanswered for this long means the relay is dead
 * @param circuitTimeout      an {@code openCircuit} answer plus attachment must arrive within this
 * @param backoffBase         first reconnect delay (doubles per failure, jittered)
 * @param backoffCap          largest reconnect delay
 * @param stableAfter         a connection that lived this long resets the backoff
 * @param deniedBackoff       delay after DENY AUTH_FAILED / NOT_ALLOWED / UNSUPPORTED_VERSION (no retry storm)
 * @param maxQueuedDatagrams  datagrams accepted by {@code send} but not yet written to the socket
 * @param maxQueuedBytes      bytes of those datagrams
 * @param maxPendingCircuits  circuits being requested or attached at once, per direction
 * @param relaySelector       picks the relay URL of each attempt (fleet hook)
 * @param plainCircuits       open circuit connections without relay TLS (raw-upgrade mode only): the
 *                            end-to-end TLS inside already protects them, so relay TLS would only
 *                            encrypt ciphertext again, on both agents and the relay. A relay that
 *                            refuses them is retried with TLS and remembered for the connection.
 */
public record RelayClientConfig(
        URI relayUrl,
        RelayTrust trust,
        NodeIdentity identity,
        ConnectMode mode,
        boolean acceptsCircuits,
        String software,
        Transport transport,
        Duration connectTimeout,
        Duration handshakeTimeout,
        Duration pingInterval,
        Duration pingTimeout,
        Duration circuitTimeout,
        Duration backoffBase,
        Duration backoffCap,
        Duration stableAfter,
        Duration deniedBackoff,
        int maxQueuedDatagrams,
        long maxQueuedBytes,
        int maxPendingCircuits,
        RelayUrlSelector relaySelector,
        boolean plainCircuits) {

    /** TCP connect timeout: a relay that does not answer SYN in 10 s is better retried. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** TLS + HTTP + auth must finish in 15 s (the relay allows itself 10 s for the handshake, as DERP). */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(15);
    /** Ping every 15 s (+ jitter), as iroh: frequent enough to notice a dead relay well before TCP does. */
    public static final Duration DEFAULT_PING_INTERVAL = Duration.ofSeconds(15);
    /** 5 s without PONG means dead (iroh's PING_TIMEOUT). */
    public static final Duration DEFAULT_PING_TIMEOUT = Duration.ofSeconds(5);
    /** A circuit needs a listener decision and two attachments; 15 s is generous on slow links. */
    public static final Duration DEFAULT_CIRCUIT_TIMEOUT = Duration.ofSeconds(15);
    /** First reconnect after 500 ms: fast recovery from a blip, without hammering a relay that restarts. */
    public static final Duration DEFAULT_BACKOFF_BASE = Duration.ofMillis(500);
    /** Never wait more than 30 s between attempts while the relay is merely unreachable. */
    public static final Duration DEFAULT_BACKOFF_CAP = Duration.ofSeconds(30);
    /** A connection that lasted 30 s was a real session; the next failure starts from the base delay again. */
    public static final Duration DEFAULT_STABLE_AFTER = Duration.ofSeconds(30);
    /** After a definitive refusal retry rarely: 5 minutes (an operator must act; a storm helps nobody). */
    public static final Duration DEFAULT_DENIED_BACKOFF = Duration.ofMinutes(5);
    /** 256 datagrams in flight: datagrams are signalling, not bulk; older ones are stale soon anyway. */
    public static final int DEFAULT_MAX_QUEUED_DATAGRAMS = 256;
    /** 1 MiB of datagrams in flight (16 maximal datagrams) bounds memory per relay connection. */
    public static final long DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
    /** 64 circuits being set up at once per direction (go-libp2p allows 16 circuits per peer; a node talks to several). */
    public static final int DEFAULT_MAX_PENDING_CIRCUITS = 64;
    /** Default software string. */
    public static final String DEFAULT_SOFTWARE = "burrow-agent";

    public RelayClientConfig {
        Objects.requireNonNull(relayUrl, "relayUrl");
        RelayAddress.parse(relayUrl); // fail early with a clear message
        Objects.requireNonNull(trust, "trust");
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(software, "software");
        Objects.requireNonNull(transport, "transport");
        requirePositive(connectTimeout, "connectTimeout");
        requirePositive(handshakeTimeout, "handshakeTimeout");
        requirePositive(pingInterval, "pingInterval");
        requirePositive(pingTimeout, "pingTimeout");
        requirePositive(circuitTimeout, "circuitTimeout");
        requirePositive(backoffBase, "backoffBase");
        requirePositive(backoffCap, "backoffCap");
        requirePositive(stableAfter, "stableAfter");
        requirePositive(deniedBackoff, "deniedBackoff");
        if (backoffCap.compareTo(backoffBase) < 0) {
            throw new IllegalArgumentException("backoffCap must be >= backoffBase");
        }
        if (maxQueuedDatagrams < 1 || maxQueuedBytes < FrameLimits.MAX_DATAGRAM_PAYLOAD) {
            throw new IllegalArgumentException("the datagram queue must hold at least one maximal datagram");
        }
        if (maxPendingCircuits < 1) {
            throw new IllegalArgumentException("maxPendingCircuits must be >= 1");
        }
        if (relaySelector == null) {
            relaySelector = RelayUrlSelector.FIXED;
        }
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive");
        }
    }

    public static Builder builder(URI relayUrl, RelayTrust trust, NodeIdentity identity) {
        return new Builder(relayUrl, trust, identity);
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder(relayUrl, trust, identity);
        b.mode = mode;
        b.acceptsCircuits = acceptsCircuits;
        b.software = software;
        b.transport = transport;
        b.connectTimeout = connectTimeout;
        b.handshakeTimeout = handshakeTimeout;
        b.pingInterval = pingInterval;
        b.pingTimeout = pingTimeout;
        b.circuitTimeout = circuitTimeout;
        b.backoffBase = backoffBase;
        b.backoffCap = backoffCap;
        b.stableAfter = stableAfter;
        b.deniedBackoff = deniedBackoff;
        b.maxQueuedDatagrams = maxQueuedDatagrams;
        b.maxQueuedBytes = maxQueuedBytes;
        b.maxPendingCircuits = maxPendingCircuits;
        b.relaySelector = relaySelector;
        b.plainCircuits = plainCircuits;
        return b;
    }

    /** The mode of a connection to {@code url}: the URL's own choice, else this configuration's. */
    ConnectMode modeFor(RelayAddress address) {
        return address.mode() != null ? address.mode() : mode;
    }

    public static final class Builder {
        private final URI relayUrl;
        private final RelayTrust trust;
        private final NodeIdentity identity;
        private ConnectMode mode = ConnectMode.AUTO;
        private boolean acceptsCircuits;
        private String software = DEFAULT_SOFTWARE;
        private Transport transport = Transport.nio();
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
        private Duration pingInterval = DEFAULT_PING_INTERVAL;
        private Duration pingTimeout = DEFAULT_PING_TIMEOUT;
        private Duration circuitTimeout = DEFAULT_CIRCUIT_TIMEOUT;
        private Duration backoffBase = DEFAULT_BACKOFF_BASE;
        private Duration backoffCap = DEFAULT_BACKOFF_CAP;
        private Duration stableAfter = DEFAULT_STABLE_AFTER;
        private Duration deniedBackoff = DEFAULT_DENIED_BACKOFF;
        private int maxQueuedDatagrams = DEFAULT_MAX_QUEUED_DATAGRAMS;
        private long maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES;
        private int maxPendingCircuits = DEFAULT_MAX_PENDING_CIRCUITS;
        private RelayUrlSelector relaySelector = RelayUrlSelector.FIXED;
        private boolean plainCircuits = true;

        private Builder(URI relayUrl, RelayTrust trust, NodeIdentity identity) {
            this.relayUrl = relayUrl;
            this.trust = trust;
            this.identity = identity;
        }

        public Builder mode(ConnectMode v) {
            mode = v;
            return this;
        }

        public Builder acceptsCircuits(boolean v) {
            acceptsCircuits = v;
            return this;
        }

        public Builder software(String v) {
            software = v;
            return this;
        }

        public Builder transport(Transport v) {
            transport = v;
            return this;
        }

        public Builder connectTimeout(Duration v) {
            connectTimeout = v;
            return this;
        }

        public Builder handshakeTimeout(Duration v) {
            handshakeTimeout = v;
            return this;
        }

        public Builder pingInterval(Duration v) {
            pingInterval = v;
            return this;
        }

        public Builder pingTimeout(Duration v) {
            pingTimeout = v;
            return this;
        }

        public Builder circuitTimeout(Duration v) {
            circuitTimeout = v;
            return this;
        }

        public Builder backoff(Duration base, Duration cap) {
            backoffBase = base;
            backoffCap = cap;
            return this;
        }

        public Builder stableAfter(Duration v) {
            stableAfter = v;
            return this;
        }

        public Builder deniedBackoff(Duration v) {
            deniedBackoff = v;
            return this;
        }

        public Builder maxQueuedDatagrams(int v) {
            maxQueuedDatagrams = v;
            return this;
        }

        public Builder maxQueuedBytes(long v) {
            maxQueuedBytes = v;
            return this;
        }

        public Builder maxPendingCircuits(int v) {
            maxPendingCircuits = v;
            return this;
        }

        public Builder relaySelector(RelayUrlSelector v) {
            relaySelector = v;
            return this;
        }

        public Builder plainCircuits(boolean v) {
            plainCircuits = v;
            return this;
        }

        public RelayClientConfig build() {
            return new RelayClientConfig(
                    relayUrl,
                    trust,
                    identity,
                    mode,
                    acceptsCircuits,
                    software,
                    transport,
                    connectTimeout,
                    handshakeTimeout,
                    pingInterval,
                    pingTimeout,
                    circuitTimeout,
                    backoffBase,
                    backoffCap,
                    stableAfter,
                    deniedBackoff,
                    maxQueuedDatagrams,
                    maxQueuedBytes,
                    maxPendingCircuits,
                    relaySelector,
                    plainCircuits);
        }
    }
}
