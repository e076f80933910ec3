package dev.burrow.relay.server.config;

import dev.burrow.protocol.HostPort;
import dev.burrow.protocol.config.ConfigKey;
import dev.burrow.protocol.config.ConfigReader;
import dev.burrow.relay.server.config.RelayConfig.AdmissionMode;
import dev.burrow.relay.server.config.RelayConfig.TlsMode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link RelayConfig} from a YAML file, the environment and command-line flags, in that
 * order of precedence (a flag beats the environment beats the file). Every setting is declared once in
 * {@link RelayKeys} and read through the shared {@link ConfigReader} (dotted keys such as
 * {@code auth.allow-file}), so a setting behaves identically whichever way it is given. Environment names are {@code BURROW_} + the key in upper case with {@code .} and
 * {@code -} as {@code _} ({@code BURROW_AUTH_ALLOW_FILE}). An unknown key in the file is an error that
 * names it; a known key set to an empty value is an error too (an auth source that is set must be usable).
 *
 * <pre>
 * listen: 0.0.0.0:443          # public TLS port (HTTP Upgrade and WebSocket)
 * admin-listen: 0.0.0.0:9090   # /healthz /readyz /metrics; "off" disables
 * stun-listen: 0.0.0.0:3478    # embedded STUN server (UDP; dev: a free port on 127.0.0.1); "off" disables
 * relay-id: relay-0
 * transport: auto
 * tls: {mode: files, cert: /tls/tls.crt, key: /tls/tls.key}   # or mode: dev / none
 *   # plain-circuits: true      # circuit connections may skip relay TLS (end-to-end TLS inside)
 * auth:
 *   mode: allow-list            # open | allow-list | ca | webhook
 *   allow: [nodeid1, nodeid2]
 *   allow-file: /etc/burrow/allow.txt
 *   ca: [/etc/burrow/ca.crt]
 *   required-tags: [prod]
 *   webhook-url: https://admission.internal/check
 *   webhook-timeout: 5s
 *   webhook-fail-open: false
 * limits: {max-clients: 100000, client-bytes-per-second: 0, ...}
 * timeouts: {handshake: 10s, write: 2s, keepalive: 60s, client-idle: 5m, circuit-token: 10s, circuit-idle: 10m}
 * mesh:
 *   peers: [burrow-relay-mesh.burrow.svc.cluster.local]   # host or host:port; every A/AAAA record is a relay
 *   port: 443                    # siblings' port for entries without one (default: our listen port)
 *   key-file: /etc/burrow/mesh/mesh.key                    # 64 hex characters
 *   resolve-interval: 10s
 * ingress:                      # public ingress, off by default (docs/operations.md)
 *   enabled: false
 *   bind-address: 0.0.0.0
 *   port-range: 20000-20099     # or 0 (any free port), or none (static-ports only)
 *   public-host: relay.example.com
 *   static-ports: [nodeid/webhook=20000]
 *   allow-nodes: [nodeid]       # empty: every admitted node may publish
 *   max-services-per-node: 4
 *   max-connections-per-service: 256
 *   max-connections: 4096
 *   idle-timeout: 5m
 *   connect-rate-per-ip: 10     # new public connections per second per source (IPv6: per /64)
 *   connect-burst-per-ip: 20
 *   max-connection-duration: 1h
 * </pre>
 */
public final class RelayConfigLoader {
    /** Config files are a page of YAML; anything larger is a mistake (or an attack on the parser). */
    private static final long MAX_CONFIG_BYTES = 1024 * 1024;

    /** Every key, in documentation order ({@link RelayKeys#ALL}). */
    public static final List<String> KEYS =
            RelayKeys.ALL.stream().map(ConfigKey::path).toList();

    private RelayConfigLoader() {}

    /** The configuration cannot be used; the message names the key and where it came from. */
    public static final class ConfigException extends dev.burrow.protocol.config.ConfigException {
        public ConfigException(String message) {
            super(message);
        }
    }

    /**
     * @param configFile a YAML file, or null
     * @param env the process environment (only {@code BURROW_*} names of known keys are read)
     * @param flags values from command-line flags, by key
     * @param dev development defaults: TLS self-signed, open admission unless configured, loopback listeners
     */
    public static RelayConfig load(Path configFile, Map<String, String> env, Map<String, String> flags, boolean dev) {
        try {
            ConfigReader reader = ConfigReader.of(RelayKeys.ALL);
            if (configFile != null) {
                reader.yaml(ConfigReader.readYaml(configFile, MAX_CONFIG_BYTES), configFile.toString());
            }
            return build(reader.env(env).set(flags, "flag"), dev);
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** For tests and embedding: only these values, no file, no environment. */
    public static RelayConfig fromMap(Map<String, String> settings) {
        if (!settings.containsKey(RelayKeys.STUN_LISTEN.path())) {
            // Relays built in code (tests, embedding) get no STUN unless they ask: several in one
            // process or on one machine would all want UDP 3478.
            Map<String, String> withStunOff = new LinkedHashMap<>(settings);
            withStunOff.put(RelayKeys.STUN_LISTEN.path(), "off");
            settings = withStunOff;
        }
        return load(null, Map.of(), settings, false);
    }

    private static RelayConfig build(ConfigReader p, boolean dev) {
        InetSocketAddress listen =
                p.get(RelayKeys.LISTEN.withDefault(address(dev ? "127.0.0.1:8443" : "0.0.0.0:" + RelayDefaults.PORT)));
        InetSocketAddress admin = p.get(RelayKeys.ADMIN_LISTEN.withDefault(
                address(dev ? "127.0.0.1:0" : "0.0.0.0:" + RelayDefaults.ADMIN_PORT)));
        // STUN on by default: agents need it to find their public address for direct paths. Dev mode takes
        // any free port (several dev relays on one machine must not collide) and tells agents which.
        InetSocketAddress stun = p.get(
                RelayKeys.STUN_LISTEN.withDefault(address(dev ? "127.0.0.1:0" : "0.0.0.0:" + RelayDefaults.STUN_PORT)));
        String relayId = p.isSet(RelayKeys.RELAY_ID) ? p.get(RelayKeys.RELAY_ID) : defaultRelayId();
        String transport = p.get(RelayKeys.TRANSPORT);

        TlsMode tlsMode = p.get(RelayKeys.TLS_MODE.withDefault(dev ? TlsMode.DEV : TlsMode.FILES));
        Path cert = p.get(RelayKeys.TLS_CERT);
        Path key = p.get(RelayKeys.TLS_KEY);
        if (tlsMode == TlsMode.FILES && (cert == null || key == null)) {
            throw new ConfigException(
                    "tls.mode files needs tls.cert and tls.key (PEM files), or use tls.mode dev for a "
                            + "self-signed development certificate");
        }
        RelayConfig.Tls tls = new RelayConfig.Tls(
                tlsMode,
                cert,
                key,
                p.get(RelayKeys.TLS_DEV_DIR),
                p.get(RelayKeys.TLS_DEV_HOSTS),
                p.get(RelayKeys.TLS_PLAIN_CIRCUITS));

        if (!p.isSet(RelayKeys.AUTH_MODE) && !dev) {
            throw new ConfigException("auth.mode is required: open (development only), allow-list, ca or webhook");
        }
        RelayConfig.Auth auth = new RelayConfig.Auth(
                p.get(RelayKeys.AUTH_MODE.withDefault(AdmissionMode.OPEN)),
                p.get(RelayKeys.AUTH_ALLOW),
                p.get(RelayKeys.AUTH_ALLOW_FILE),
                p.get(RelayKeys.AUTH_CA),
                new LinkedHashSet<>(p.get(RelayKeys.AUTH_REQUIRED_TAGS)),
                p.get(RelayKeys.AUTH_WEBHOOK_URL),
                p.get(RelayKeys.AUTH_WEBHOOK_TIMEOUT),
                p.get(RelayKeys.AUTH_WEBHOOK_FAIL_OPEN));

        RelayConfig.Limits limits = new RelayConfig.Limits(
                p.get(RelayKeys.MAX_CLIENTS),
                p.get(RelayKeys.MAX_HANDSHAKES),
                p.get(RelayKeys.IP_CONNECT_RATE),
                p.get(RelayKeys.IP_CONNECT_BURST),
                p.get(RelayKeys.CLIENT_BYTES_PER_SECOND),
                p.get(RelayKeys.CLIENT_BURST_BYTES),
                p.get(RelayKeys.SEND_QUEUE_DEPTH),
                p.get(RelayKeys.CONTROL_QUEUE_DEPTH),
                p.get(RelayKeys.PENDING_CIRCUITS_PER_CLIENT),
                p.get(RelayKeys.ACTIVE_CIRCUITS_PER_CLIENT),
                p.get(RelayKeys.MAX_HANDSHAKES_PER_IP));
        RelayConfig.Timeouts timeouts = new RelayConfig.Timeouts(
                p.get(RelayKeys.HANDSHAKE_TIMEOUT),
                p.get(RelayKeys.WRITE_TIMEOUT),
                p.get(RelayKeys.KEEPALIVE),
                p.get(RelayKeys.CLIENT_IDLE),
                p.get(RelayKeys.CIRCUIT_TOKEN),
                p.get(RelayKeys.CIRCUIT_IDLE));
        RelayConfig.Mesh mesh = new RelayConfig.Mesh(
                p.get(RelayKeys.MESH_PEERS),
                p.get(RelayKeys.MESH_PORT),
                p.get(RelayKeys.MESH_KEY_FILE),
                p.get(RelayKeys.MESH_RESOLVE_INTERVAL),
                p.get(RelayKeys.MESH_CIRCUIT_TLS));
        return new RelayConfig(listen, admin, stun, relayId, transport, tls, auth, limits, timeouts, mesh, ingress(p));
    }

    private static IngressConfig ingress(ConfigReader p) {
        try {
            String bind = p.get(RelayKeys.INGRESS_BIND_ADDRESS);
            if (!bind.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
                throw new IllegalArgumentException("ingress.bind-address: expected an IP address, got '" + bind + "'");
            }
            int[] range = IngressConfig.parseRange(p.get(RelayKeys.INGRESS_PORT_RANGE));
            Map<String, Integer> pinned = IngressConfig.parseStaticPorts(p.get(RelayKeys.INGRESS_STATIC_PORTS));
            boolean enabled = p.get(RelayKeys.INGRESS_ENABLED);
            if (enabled && range[0] == -1 && pinned.isEmpty()) {
                throw new IllegalArgumentException("ingress.enabled needs ingress.port-range or ingress.static-ports");
            }
            return new IngressConfig(
                    enabled,
                    InetAddress.getByName(bind),
                    range[0],
                    range[1],
                    p.get(RelayKeys.INGRESS_PUBLIC_HOST),
                    pinned,
                    new LinkedHashSet<>(p.get(RelayKeys.INGRESS_ALLOW_NODES)),
                    p.get(RelayKeys.INGRESS_MAX_SERVICES_PER_NODE),
                    p.get(RelayKeys.INGRESS_MAX_CONNECTIONS_PER_SERVICE),
                    p.get(RelayKeys.INGRESS_MAX_CONNECTIONS),
                    p.get(RelayKeys.INGRESS_IDLE_TIMEOUT),
                    p.get(RelayKeys.INGRESS_CONNECT_RATE_PER_IP),
                    p.get(RelayKeys.INGRESS_CONNECT_BURST_PER_IP),
                    p.get(RelayKeys.INGRESS_MAX_CONNECTION_DURATION));
        } catch (IOException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    private static InetSocketAddress address(String text) {
        return RelayKeys.ADDRESS.parse(text);
    }

    private static String defaultRelayId() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) {
            return h.strip();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "relay";
        }
    }

    /** Parses {@code host:port}, {@code [v6]:port}, {@code :port} or {@code port} (all interfaces); see {@link HostPort}. */
    public static InetSocketAddress parseAddress(String s) {
        String t = s.strip();
        HostPort a = !t.isEmpty() && t.chars().allMatch(Character::isDigit)
                ? new HostPort("", HostPort.parsePort(t, t))
                : HostPort.parse(t, HostPort.PORT_REQUIRED);
        return a.host().isEmpty() || a.host().equals("*")
                ? new InetSocketAddress(a.port())
                : new InetSocketAddress(a.host(), a.port());
    }
}
