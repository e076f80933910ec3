package dev.burrow.relay.server.config;

import static dev.burrow.protocol.config.ConfigKey.of;

import dev.burrow.protocol.HostPort;
import dev.burrow.protocol.config.ConfigKey;
import dev.burrow.protocol.config.ConfigKey.Parser;
import dev.burrow.protocol.config.Parsers;
import dev.burrow.relay.server.config.RelayConfig.AdmissionMode;
import dev.burrow.relay.server.config.RelayConfig.Limits;
import dev.burrow.relay.server.config.RelayConfig.Timeouts;
import dev.burrow.relay.server.config.RelayConfig.TlsMode;
import dev.burrow.transport.TransportKind;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Every relay setting, declared once ({@link ConfigKey}: YAML key, {@code BURROW_*} environment
 * variable, default, grammar), in documentation order. {@link RelayConfigLoader} reads them with a
 * {@link dev.burrow.protocol.config.ConfigReader}. Defaults that depend on development mode (listen
 * addresses, TLS and admission modes) are given by the loader; they are null here.
 */
public final class RelayKeys {
    private RelayKeys() {}

    private static final Limits L = Limits.defaults();
    private static final Timeouts T = Timeouts.defaults();

    /** {@code host:port}, {@code [v6]:port}, {@code :port} or {@code port}; {@code off} (or none, false) disables: null. */
    static final Parser<InetSocketAddress> ADDRESS = s -> s.equalsIgnoreCase("off")
                    || s.equalsIgnoreCase("none")
                    || s.equalsIgnoreCase("false") // YAML 1.1 reads off as false
            ? null
            : RelayConfigLoader.parseAddress(s);

    private static final Parser<String> TRANSPORT_NAME = s -> {
        TransportKind.parse(s);
        return s;
    };

    private static final Parser<URI> URL = s -> {
        try {
            return new URI(s);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URL: '" + s + "'");
        }
    };

    /** A mesh peer is {@code host}, {@code host:port} or {@code [v6]:port} ({@link HostPort}; the port, when written, not 0). */
    private static final Parser<String> PEER = s -> {
        try {
            if (HostPort.parse(s, RelayDefaults.PORT).port() != 0) {
                return s;
            }
        } catch (IllegalArgumentException e) {
            // the one message below
        }
        throw new IllegalArgumentException("'" + s + "' is not host, host:port or [ipv6]:port");
    };

    public static final ConfigKey<InetSocketAddress> LISTEN =
            of("listen", null, ADDRESS, "public TLS listener (HTTP Upgrade and WebSocket)");
    public static final ConfigKey<InetSocketAddress> ADMIN_LISTEN =
            of("admin-listen", null, ADDRESS, "/healthz /readyz /metrics; off disables");
    public static final ConfigKey<InetSocketAddress> STUN_LISTEN =
            of("stun-listen", null, ADDRESS, "embedded STUN server (UDP); off disables");
    public static final ConfigKey<String> RELAY_ID =
            of("relay-id", null, Parsers.text(), "name in SERVER_HELLO (default: host name)");
    public static final ConfigKey<String> TRANSPORT = of("transport", "auto", TRANSPORT_NAME, "socket transport");

    public static final ConfigKey<TlsMode> TLS_MODE =
            of("tls.mode", null, Parsers.oneOf(TlsMode.class), "files, dev or none");
    public static final ConfigKey<Path> TLS_CERT = of("tls.cert", null, Parsers.path(), "certificate chain (PEM)");
    public static final ConfigKey<Path> TLS_KEY = of("tls.key", null, Parsers.path(), "private key (PEM)");
    public static final ConfigKey<Path> TLS_DEV_DIR =
            of("tls.dev-dir", null, Parsers.path(), "where tls.mode dev keeps its certificate");
    public static final ConfigKey<List<String>> TLS_DEV_HOSTS =
            of("tls.dev-hosts", List.of(), Parsers.strings(), "extra names in the dev certificate");
    public static final ConfigKey<Boolean> TLS_PLAIN_CIRCUITS =
            of("tls.plain-circuits", true, Parsers.bool(), "circuit connections may skip relay TLS");

    public static final ConfigKey<AdmissionMode> AUTH_MODE =
            of("auth.mode", null, Parsers.oneOf(AdmissionMode.class), "open, allow-list, ca or webhook");
    public static final ConfigKey<List<String>> AUTH_ALLOW =
            of("auth.allow", List.of(), Parsers.strings(), "node IDs to admit");
    public static final ConfigKey<Path> AUTH_ALLOW_FILE =
            of("auth.allow-file", null, Parsers.path(), "node IDs to admit, one per line");
    public static final ConfigKey<List<Path>> AUTH_CA =
            of("auth.ca", List.of(), Parsers.list(Parsers.path()), "trusted fleet CA certificates");
    public static final ConfigKey<List<String>> AUTH_REQUIRED_TAGS =
            of("auth.required-tags", List.of(), Parsers.strings(), "tags every certificate must carry");
    public static final ConfigKey<URI> AUTH_WEBHOOK_URL = of("auth.webhook-url", null, URL, "admission webhook");
    public static final ConfigKey<Duration> AUTH_WEBHOOK_TIMEOUT =
            of("auth.webhook-timeout", RelayDefaults.WEBHOOK_TIMEOUT, Parsers.duration(), "webhook answer time");
    public static final ConfigKey<Boolean> AUTH_WEBHOOK_FAIL_OPEN =
            of("auth.webhook-fail-open", false, Parsers.bool(), "admit when the webhook fails");

    public static final ConfigKey<Integer> MAX_CLIENTS =
            of("limits.max-clients", L.maxClients(), Parsers.intAtLeast(1), "connected clients");
    public static final ConfigKey<Integer> MAX_HANDSHAKES =
            of("limits.max-handshakes", L.maxHandshakes(), Parsers.intAtLeast(1), "handshakes in flight");
    public static final ConfigKey<Integer> MAX_HANDSHAKES_PER_IP = of(
            "limits.max-handshakes-per-ip",
            L.maxHandshakesPerSource(),
            Parsers.intAtLeast(1),
            "handshakes in flight per source");
    public static final ConfigKey<Double> IP_CONNECT_RATE =
            of("limits.ip-connect-rate", L.ipConnectRate(), Parsers.positiveNumber(), "connections/s per source");
    public static final ConfigKey<Integer> IP_CONNECT_BURST =
            of("limits.ip-connect-burst", L.ipConnectBurst(), Parsers.intAtLeast(1), "connection burst per source");
    public static final ConfigKey<Long> CLIENT_BYTES_PER_SECOND = of(
            "limits.client-bytes-per-second",
            L.clientBytesPerSecond(),
            Parsers.longAtLeast(0),
            "relayed bytes/s per client; 0: unlimited");
    public static final ConfigKey<Long> CLIENT_BURST_BYTES = of(
            "limits.client-burst-bytes",
            L.clientBurstBytes(),
            Parsers.longAtLeast(RelayDefaults.MIN_CLIENT_BURST_BYTES),
            "byte burst per client");
    public static final ConfigKey<Integer> SEND_QUEUE_DEPTH =
            of("limits.send-queue-depth", L.sendQueueDepth(), Parsers.intAtLeast(1), "frames queued per client");
    public static final ConfigKey<Integer> CONTROL_QUEUE_DEPTH = of(
            "limits.control-queue-depth",
            L.controlQueueDepth(),
            Parsers.intAtLeast(4),
            "control frames queued per client");
    public static final ConfigKey<Integer> PENDING_CIRCUITS_PER_CLIENT = of(
            "limits.pending-circuits-per-client",
            L.pendingCircuitsPerClient(),
            Parsers.intAtLeast(0),
            "circuits being set up per client");
    public static final ConfigKey<Integer> ACTIVE_CIRCUITS_PER_CLIENT = of(
            "limits.active-circuits-per-client",
            L.activeCircuitsPerClient(),
            Parsers.intAtLeast(0),
            "open circuits per client");

    public static final ConfigKey<Duration> HANDSHAKE_TIMEOUT =
            of("timeouts.handshake", T.handshake(), Parsers.duration(), "handshake deadline");
    public static final ConfigKey<Duration> WRITE_TIMEOUT =
            of("timeouts.write", T.write(), Parsers.duration(), "stalled write deadline");
    public static final ConfigKey<Duration> KEEPALIVE =
            of("timeouts.keepalive", T.keepalive(), Parsers.duration(), "keepalive interval");
    public static final ConfigKey<Duration> CLIENT_IDLE =
            of("timeouts.client-idle", T.clientIdle(), Parsers.duration(), "silent client deadline");
    public static final ConfigKey<Duration> CIRCUIT_TOKEN =
            of("timeouts.circuit-token", T.circuitToken(), Parsers.duration(), "circuit token lifetime");
    public static final ConfigKey<Duration> CIRCUIT_IDLE =
            of("timeouts.circuit-idle", T.circuitIdle(), Parsers.duration(), "idle circuit deadline");

    public static final ConfigKey<List<String>> MESH_PEERS =
            of("mesh.peers", List.of(), Parsers.list(PEER), "sibling relays: host or host:port");
    public static final ConfigKey<Integer> MESH_PORT =
            of("mesh.port", 0, Parsers.intBetween(0, 65535), "siblings' port (0: our listen port)");
    public static final ConfigKey<Path> MESH_KEY_FILE =
            of("mesh.key-file", null, Parsers.path(), "shared mesh key (64 hex characters)");
    public static final ConfigKey<Duration> MESH_RESOLVE_INTERVAL =
            of("mesh.resolve-interval", RelayDefaults.MESH_RESOLVE_INTERVAL, Parsers.duration(), "DNS re-resolution");
    public static final ConfigKey<Boolean> MESH_CIRCUIT_TLS =
            of("mesh.circuit-tls", false, Parsers.bool(), "relay TLS on circuit connections between relays");

    public static final ConfigKey<Boolean> INGRESS_ENABLED =
            of("ingress.enabled", false, Parsers.bool(), "public ingress (off by default)");
    public static final ConfigKey<String> INGRESS_BIND_ADDRESS =
            of("ingress.bind-address", "0.0.0.0", Parsers.text(), "public ingress listeners' address");
    public static final ConfigKey<String> INGRESS_PORT_RANGE =
            of("ingress.port-range", "none", Parsers.text(), "FIRST-LAST, 0 (any) or none");
    public static final ConfigKey<String> INGRESS_PUBLIC_HOST =
            of("ingress.public-host", null, Parsers.text(), "host name in public addresses");
    public static final ConfigKey<List<String>> INGRESS_STATIC_PORTS =
            of("ingress.static-ports", List.of(), Parsers.strings(), "<node-id>/<service>=<port>");
    public static final ConfigKey<List<String>> INGRESS_ALLOW_NODES =
            of("ingress.allow-nodes", List.of(), Parsers.strings(), "nodes that may publish (empty: all)");
    public static final ConfigKey<Integer> INGRESS_MAX_SERVICES_PER_NODE = of(
            "ingress.max-services-per-node",
            IngressConfig.DEFAULT_MAX_SERVICES_PER_NODE,
            Parsers.intAtLeast(1),
            "public services per node");
    public static final ConfigKey<Integer> INGRESS_MAX_CONNECTIONS_PER_SERVICE = of(
            "ingress.max-connections-per-service",
            IngressConfig.DEFAULT_MAX_CONNECTIONS_PER_SERVICE,
            Parsers.intAtLeast(1),
            "public connections per service");
    public static final ConfigKey<Integer> INGRESS_MAX_CONNECTIONS = of(
            "ingress.max-connections",
            IngressConfig.DEFAULT_MAX_CONNECTIONS,
            Parsers.intAtLeast(1),
            "public connections in all");
    public static final ConfigKey<Duration> INGRESS_IDLE_TIMEOUT = of(
            "ingress.idle-timeout", IngressConfig.DEFAULT_IDLE_TIMEOUT, Parsers.duration(), "idle public connection");
    public static final ConfigKey<Double> INGRESS_CONNECT_RATE_PER_IP = of(
            "ingress.connect-rate-per-ip",
            IngressConfig.DEFAULT_CONNECT_RATE_PER_IP,
            Parsers.positiveNumber(),
            "new public connections/s per source (IPv6: per /64)");
    public static final ConfigKey<Integer> INGRESS_CONNECT_BURST_PER_IP = of(
            "ingress.connect-burst-per-ip",
            IngressConfig.DEFAULT_CONNECT_BURST_PER_IP,
            Parsers.intAtLeast(1),
            "public connection burst per source");
    public static final ConfigKey<Duration> INGRESS_MAX_CONNECTION_DURATION = of(
            "ingress.max-connection-duration",
            IngressConfig.DEFAULT_MAX_CONNECTION_DURATION,
            Parsers.duration(),
            "longest public connection");

    /** Every key, in documentation order. */
    public static final List<ConfigKey<?>> ALL = List.of(
            LISTEN,
            ADMIN_LISTEN,
            STUN_LISTEN,
            RELAY_ID,
            TRANSPORT,
            TLS_MODE,
            TLS_CERT,
            TLS_KEY,
            TLS_DEV_DIR,
            TLS_DEV_HOSTS,
            TLS_PLAIN_CIRCUITS,
            AUTH_MODE,
            AUTH_ALLOW,
            AUTH_ALLOW_FILE,
            AUTH_CA,
            AUTH_REQUIRED_TAGS,
            AUTH_WEBHOOK_URL,
            AUTH_WEBHOOK_TIMEOUT,
            AUTH_WEBHOOK_FAIL_OPEN,
            MAX_CLIENTS,
            MAX_HANDSHAKES,
            MAX_HANDSHAKES_PER_IP,
            IP_CONNECT_RATE,
            IP_CONNECT_BURST,
            CLIENT_BYTES_PER_SECOND,
            CLIENT_BURST_BYTES,
            SEND_QUEUE_DEPTH,
            CONTROL_QUEUE_DEPTH,
            PENDING_CIRCUITS_PER_CLIENT,
            ACTIVE_CIRCUITS_PER_CLIENT,
            HANDSHAKE_TIMEOUT,
            WRITE_TIMEOUT,
            KEEPALIVE,
            CLIENT_IDLE,
            CIRCUIT_TOKEN,
            CIRCUIT_IDLE,
            MESH_PEERS,
            MESH_PORT,
            MESH_KEY_FILE,
            MESH_RESOLVE_INTERVAL,
            MESH_CIRCUIT_TLS,
            INGRESS_ENABLED,
            INGRESS_BIND_ADDRESS,
            INGRESS_PORT_RANGE,
            INGRESS_PUBLIC_HOST,
            INGRESS_STATIC_PORTS,
            INGRESS_ALLOW_NODES,
            INGRESS_MAX_SERVICES_PER_NODE,
            INGRESS_MAX_CONNECTIONS_PER_SERVICE,
            INGRESS_MAX_CONNECTIONS,
            INGRESS_IDLE_TIMEOUT,
            INGRESS_CONNECT_RATE_PER_IP,
            INGRESS_CONNECT_BURST_PER_IP,
            INGRESS_MAX_CONNECTION_DURATION);
}
