package dev.burrow.relay.server.config;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Everything a relay needs to start. Built by {@link dev.burrow.relay.server.config.RelayConfigLoader}
 * from YAML, environment ({@code BURROW_*}) and flags, which all go through the same parser; tests
 * build one with {@code RelayConfigLoader.fromMap(Map.of("timeouts.handshake", "500ms"))}.
 *
 * @param listen the public listener (TLS, HTTP Upgrade and WebSocket)
 * @param adminListen health, readiness and metrics; null = disabled
 * @param stunListen the embedded STUN server; null = disabled
 * @param relayId name of this relay in SERVER_HELLO (pod name or host name)
 * @param transport {@code auto}, {@code iouring}, {@code epoll} or {@code nio}
 * @param mesh sibling relays to mesh with ({@link Mesh#NONE} = a lone relay)
 * @param ingress public ingress (off by default)
 */
public record RelayConfig(
        InetSocketAddress listen,
        InetSocketAddress adminListen,
        InetSocketAddress stunListen,
        String relayId,
        String transport,
        Tls tls,
        Auth auth,
        Limits limits,
        Timeouts timeouts,
        Mesh mesh,
        IngressConfig ingress) {

    public RelayConfig(
            InetSocketAddress listen,
            InetSocketAddress adminListen,
            InetSocketAddress stunListen,
            String relayId,
            String transport,
            Tls tls,
            Auth auth,
            Limits limits,
            Timeouts timeouts) {
        this(listen, adminListen, stunListen, relayId, transport, tls, auth, limits, timeouts, Mesh.NONE);
    }

    /** Without public ingress. */
    public RelayConfig(
            InetSocketAddress listen,
            InetSocketAddress adminListen,
            InetSocketAddress stunListen,
            String relayId,
            String transport,
            Tls tls,
            Auth auth,
            Limits limits,
            Timeouts timeouts,
            Mesh mesh) {
        this(
                listen,
                adminListen,
                stunListen,
                relayId,
                transport,
                tls,
                auth,
                limits,
                timeouts,
                mesh,
                IngressConfig.disabled());
    }

    public RelayConfig {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(relayId, "relayId");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(auth, "auth");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(timeouts, "timeouts");
        ingress = ingress == null ? IngressConfig.disabled() : ingress;
        mesh = mesh == null ? Mesh.NONE : mesh;
    }

    /**
     * The relay mesh.
     *
     * @param peers sibling relays: each {@code host} or {@code host:port}; every A/AAAA record of a host
     *     is a relay (a Kubernetes headless Service name lists every pod), re-resolved every
     *     {@code resolveInterval}; empty = no mesh
     * @param port the siblings' public port for entries without one; 0 = this relay's own listen port
     * @param keyFile the shared mesh key (64 hex characters); meshing stays off without a usable key
     */
    /**
     * @param circuitTls mesh circuit connections (circuit bytes between relays) use relay TLS; off by
     *     default: they carry the agents' end-to-end TLS and are authenticated by the mesh key, so
     *     relay TLS only hides circuit IDs and timing from the network between relays (see
     *     docs/security.md). Links (presence, names, signalling) always use TLS when the relay does.
     */
    public record Mesh(List<String> peers, int port, Path keyFile, Duration resolveInterval, boolean circuitTls) {
        public static final Mesh NONE = new Mesh(List.of(), 0, null, RelayDefaults.MESH_RESOLVE_INTERVAL);

        public Mesh {
            peers = peers == null ? List.of() : List.copyOf(peers);
            resolveInterval = resolveInterval == null ? RelayDefaults.MESH_RESOLVE_INTERVAL : resolveInterval;
        }

        public Mesh(List<String> peers, int port, Path keyFile, Duration resolveInterval) {
            this(peers, port, keyFile, resolveInterval, false);
        }

        public boolean configured() {
            return !peers.isEmpty();
        }
    }

    /** How the public listener does TLS. */
    public enum TlsMode {
        /** Certificate chain and key from PEM files (e.g. a cert-manager Secret mount). */
        FILES,
        /** A self-signed ECDSA certificate, generated (and kept in {@code devDir} when set); clients pin its fingerprint. */
        DEV,
        /** Plain TCP: only behind a TLS-terminating ingress or proxy; logged at WARN. */
        NONE
    }

    /**
     * @param plainCircuits accept circuit connections without relay TLS on the same port (detected by
     *     their first byte). The agents' end-to-end TLS inside the circuit is what protects those
     *     bytes; relay TLS around it only encrypts ciphertext twice. Control connections, enrolment
     *     and WebSocket always need TLS. See docs/protocol.md, "Circuit connections".
     */
    public record Tls(
            TlsMode mode, Path cert, Path key, Path devDir, List<String> devHostNames, boolean plainCircuits) {
        public Tls(TlsMode mode, Path cert, Path key, Path devDir, List<String> devHostNames) {
            this(mode, cert, key, devDir, devHostNames, true);
        }

        public Tls {
            Objects.requireNonNull(mode, "tls.mode");
            devHostNames = devHostNames == null ? List.of() : List.copyOf(devHostNames);
        }
    }

    /** Who may connect. */
    public enum AdmissionMode {
        /** Anyone with a valid key (development only; logged at WARN). */
        OPEN,
        /** Node IDs listed inline or in a file. */
        ALLOW_LIST,
        /** Certificates issued by the configured fleet CA(s), optionally with required tags. */
        CA,
        /** An HTTP endpoint decides; any failure denies unless fail-open is set explicitly. */
        WEBHOOK
    }

    /**
     * @param allow node IDs admitted in ALLOW_LIST mode (with {@code allowFile}'s)
     * @param allowFile one node ID per line ({@code #} comments); must be readable and non-empty when set
     * @param caFiles PEM files of trusted fleet CAs (CA mode; optional in other modes, where they make certificates authoritative)
     * @param requiredTags CA mode: a certificate must carry all of these tags
     * @param webhookFailOpen admit when the webhook fails (explicit opt-in; logged loudly)
     */
    public record Auth(
            AdmissionMode mode,
            List<String> allow,
            Path allowFile,
            List<Path> caFiles,
            Set<String> requiredTags,
            URI webhookUrl,
            Duration webhookTimeout,
            boolean webhookFailOpen) {
        public Auth {
            Objects.requireNonNull(mode, "auth.mode");
            allow = allow == null ? List.of() : List.copyOf(allow);
            caFiles = caFiles == null ? List.of() : List.copyOf(caFiles);
            requiredTags = requiredTags == null ? Set.of() : Set.copyOf(requiredTags);
            webhookTimeout = webhookTimeout == null ? RelayDefaults.WEBHOOK_TIMEOUT : webhookTimeout;
        }
    }

    public record Limits(
            int maxClients,
            int maxHandshakes,
            double ipConnectRate,
            int ipConnectBurst,
            long clientBytesPerSecond,
            long clientBurstBytes,
            int sendQueueDepth,
            int controlQueueDepth,
            int pendingCircuitsPerClient,
            int activeCircuitsPerClient,
            int maxHandshakesPerSource) {

        public static Limits defaults() {
            return new Limits(
                    RelayDefaults.MAX_CLIENTS,
                    RelayDefaults.MAX_HANDSHAKES_IN_FLIGHT,
                    RelayDefaults.IP_CONNECT_RATE,
                    RelayDefaults.IP_CONNECT_BURST,
                    RelayDefaults.CLIENT_BYTES_PER_SECOND,
                    RelayDefaults.CLIENT_BURST_BYTES,
                    RelayDefaults.SEND_QUEUE_DEPTH,
                    RelayDefaults.CONTROL_QUEUE_DEPTH,
                    RelayDefaults.PENDING_CIRCUITS_PER_CLIENT,
                    RelayDefaults.ACTIVE_CIRCUITS_PER_CLIENT,
                    RelayDefaults.MAX_HANDSHAKES_PER_SOURCE);
        }
    }

    public record Timeouts(
            Duration handshake,
            Duration write,
            Duration keepalive,
            Duration clientIdle,
            Duration circuitToken,
            Duration circuitIdle) {

        public static Timeouts defaults() {
            return new Timeouts(
                    RelayDefaults.HANDSHAKE_TIMEOUT,
                    RelayDefaults.WRITE_TIMEOUT,
                    RelayDefaults.KEEPALIVE_INTERVAL,
                    RelayDefaults.CLIENT_IDLE_TIMEOUT,
                    RelayDefaults.CIRCUIT_TOKEN_TTL,
                    RelayDefaults.CIRCUIT_IDLE_TIMEOUT);
        }
    }

    public RelayConfig withLimits(Limits l) {
        return new RelayConfig(
                listen, adminListen, stunListen, relayId, transport, tls, auth, l, timeouts, mesh, ingress);
    }

    public RelayConfig withAuth(Auth a) {
        return new RelayConfig(
                listen, adminListen, stunListen, relayId, transport, tls, a, limits, timeouts, mesh, ingress);
    }

    public RelayConfig withMesh(Mesh m) {
        return new RelayConfig(
                listen, adminListen, stunListen, relayId, transport, tls, auth, limits, timeouts, m, ingress);
    }

    public RelayConfig withIngress(IngressConfig i) {
        return new RelayConfig(
                listen, adminListen, stunListen, relayId, transport, tls, auth, limits, timeouts, mesh, i);
    }

    public RelayConfig withTimeouts(Timeouts t) {
        return new RelayConfig(
                listen, adminListen, stunListen, relayId, transport, tls, auth, limits, t, mesh, ingress);
    }
}
