package dev.burrow.relay.server.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.burrow.protocol.HostPort;
import dev.burrow.relay.server.RelayConfig;
import dev.burrow.relay.server.RelayConfig.AdmissionMode;
import dev.burrow.relay.server.RelayConfig.TlsMode;
import dev.burrow.relay.server.RelayDefaults;
import dev.burrow.relay.server.ingress.IngressConfig;
import dev.burrow.transport.TransportKind;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds a {@link RelayConfig} from a YAML file, the environment and command-line flags, in that
 * order of precedence (a flag beats the environment beats the file). All three feed one flat map of
 * dotted keys ({@code auth.allow-file}) into one parser, so a setting behaves identically whichever
 * way it is given. Environment names are {@code BURROW_} + the key in upper case with {@code .} and
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

    /** Every key, in documentation order. */
    public static final List<String> KEYS = List.of(
            "listen",
            "admin-listen",
            "stun-listen",
            "relay-id",
            "transport",
            "tls.mode",
            "tls.cert",
            "tls.key",
            "tls.dev-dir",
            "tls.dev-hosts",
            "tls.plain-circuits",
            "auth.mode",
            "auth.allow",
            "auth.allow-file",
            "auth.ca",
            "auth.required-tags",
            "auth.webhook-url",
            "auth.webhook-timeout",
            "auth.webhook-fail-open",
            "limits.max-clients",
            "limits.max-handshakes",
            "limits.max-handshakes-per-ip",
            "limits.ip-connect-rate",
            "limits.ip-connect-burst",
            "limits.client-bytes-per-second",
            "limits.client-burst-bytes",
            "limits.send-queue-depth",
            "limits.control-queue-depth",
            "limits.pending-circuits-per-client",
            "limits.active-circuits-per-client",
            "timeouts.handshake",
            "timeouts.write",
            "timeouts.keepalive",
            "timeouts.client-idle",
            "timeouts.circuit-token",
            "timeouts.circuit-idle",
            "mesh.peers",
            "mesh.port",
            "mesh.key-file",
            "mesh.resolve-interval",
            "ingress.enabled",
            "ingress.bind-address",
            "ingress.port-range",
            "ingress.public-host",
            "ingress.static-ports",
            "ingress.allow-nodes",
            "ingress.max-services-per-node",
            "ingress.max-connections-per-service",
            "ingress.max-connections",
            "ingress.idle-timeout",
            "ingress.connect-rate-per-ip",
            "ingress.connect-burst-per-ip",
            "ingress.max-connection-duration");

    private static final Set<String> LIST_KEYS = Set.of(
            "tls.dev-hosts",
            "auth.allow",
            "auth.ca",
            "auth.required-tags",
            "mesh.peers",
            "ingress.static-ports",
            "ingress.allow-nodes");

    private RelayConfigLoader() {}

    /** The configuration cannot be used; the message names the key and where it came from. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
        }
    }

    /** A value and where it came from, for error messages. */
    private record Value(List<String> items, String source) {
        String single(String key) {
            if (items.size() != 1) {
                throw new ConfigException(key + " (" + source + ") takes one value, got " + items.size());
            }
            return items.get(0);
        }
    }

    /** The environment variable for a key. */
    public static String envName(String key) {
        return "BURROW_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /**
     * @param configFile a YAML file, or null
     * @param env the process environment (only {@code BURROW_*} names of known keys are read)
     * @param flags values from command-line flags, by key
     * @param dev development defaults: TLS self-signed, open admission unless configured, loopback listeners
     */
    public static RelayConfig load(Path configFile, Map<String, String> env, Map<String, String> flags, boolean dev) {
        Map<String, Value> values = new LinkedHashMap<>();
        if (configFile != null) {
            readYaml(configFile, values);
        }
        for (String key : KEYS) {
            String v = env.get(envName(key));
            if (v != null) {
                values.put(key, new Value(split(key, v), "env " + envName(key)));
            }
        }
        flags.forEach((k, v) -> {
            if (!KEYS.contains(k)) {
                throw new ConfigException("unknown setting '" + k + "'; known: " + String.join(", ", KEYS));
            }
            values.put(k, new Value(split(k, v), "flag"));
        });
        return build(values, dev);
    }

    /** For tests and embedding: only these values, no file, no environment. */
    public static RelayConfig fromMap(Map<String, String> settings) {
        if (!settings.containsKey("stun-listen")) {
            // Relays built in code (tests, embedding) get no STUN unless they ask: several in one
            // process or on one machine would all want UDP 3478.
            Map<String, String> withStunOff = new LinkedHashMap<>(settings);
            withStunOff.put("stun-listen", "off");
            settings = withStunOff;
        }
        return load(null, Map.of(), settings, false);
    }

    private static List<String> split(String key, String raw) {
        if (LIST_KEYS.contains(key)) {
            List<String> out = new ArrayList<>();
            for (String s : raw.split(",")) {
                if (!s.isBlank()) {
                    out.add(s.strip());
                }
            }
            return out;
        }
        return List.of(raw.strip());
    }

    private static void readYaml(Path file, Map<String, Value> out) {
        JsonNode root;
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                throw new ConfigException(file + ": larger than " + MAX_CONFIG_BYTES + " bytes");
            }
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ": not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return;
        }
        if (!root.isObject()) {
            throw new ConfigException(file + ": the top level must be a mapping of settings");
        }
        flatten(file, "", root, out);
    }

    private static void flatten(Path file, String prefix, JsonNode node, Map<String, Value> out) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix + e.getKey();
            JsonNode v = e.getValue();
            if (v.isObject() && KEYS.stream().anyMatch(k -> k.startsWith(key + "."))) {
                flatten(file, key + ".", v, out);
                continue;
            }
            if (!KEYS.contains(key)) {
                throw new ConfigException(file + ": unknown key '" + key + "'; known keys: " + String.join(", ", KEYS));
            }
            List<String> items = new ArrayList<>();
            if (v.isArray()) {
                if (!LIST_KEYS.contains(key)) {
                    throw new ConfigException(file + ": " + key + " takes one value, not a list");
                }
                for (JsonNode item : v) {
                    if (!item.isValueNode()) {
                        throw new ConfigException(file + ": " + key + " must be a list of plain values");
                    }
                    items.add(item.asText().strip());
                }
            } else if (v.isValueNode() && !v.isNull()) {
                items.addAll(split(key, v.asText()));
            } else if (v.isNull()) {
                items.add("");
            } else {
                throw new ConfigException(file + ": " + key + " must be a plain value");
            }
            out.put(key, new Value(items, file.toString()));
        }
    }

    private static RelayConfig build(Map<String, Value> v, boolean dev) {
        Parser p = new Parser(v);
        InetSocketAddress listen = p.address("listen", dev ? "127.0.0.1:8443" : "0.0.0.0:" + RelayDefaults.PORT);
        InetSocketAddress admin =
                p.address("admin-listen", dev ? "127.0.0.1:0" : "0.0.0.0:" + RelayDefaults.ADMIN_PORT);
        // STUN on by default: agents need it to find their public address for direct paths. Dev mode takes
        // any free port (several dev relays on one machine must not collide) and tells agents which.
        InetSocketAddress stun = p.address("stun-listen", dev ? "127.0.0.1:0" : "0.0.0.0:" + RelayDefaults.STUN_PORT);
        String relayId = p.string("relay-id", defaultRelayId());
        String transport = p.string("transport", "auto");
        try {
            TransportKind.parse(transport);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("transport (" + p.source("transport") + "): " + e.getMessage());
        }

        TlsMode tlsMode = p.enumValue("tls.mode", TlsMode.class, dev ? "dev" : "files");
        Path cert = p.path("tls.cert");
        Path key = p.path("tls.key");
        if (tlsMode == TlsMode.FILES && (cert == null || key == null)) {
            throw new ConfigException(
                    "tls.mode files needs tls.cert and tls.key (PEM files), or use tls.mode dev for a "
                            + "self-signed development certificate");
        }
        RelayConfig.Tls tls = new RelayConfig.Tls(
                tlsMode, cert, key, p.path("tls.dev-dir"), p.list("tls.dev-hosts"), p.bool("tls.plain-circuits", true));

        String modeDefault = dev ? "open" : null;
        if (!v.containsKey("auth.mode") && modeDefault == null) {
            throw new ConfigException("auth.mode is required: open (development only), allow-list, ca or webhook");
        }
        AdmissionMode mode = p.enumValue("auth.mode", AdmissionMode.class, modeDefault);
        List<Path> cas = new ArrayList<>();
        for (String s : p.list("auth.ca")) {
            cas.add(Path.of(s));
        }
        URI webhook = null;
        String url = p.string("auth.webhook-url", null);
        if (url != null) {
            try {
                webhook = new URI(url);
            } catch (URISyntaxException e) {
                throw new ConfigException("auth.webhook-url (" + p.source("auth.webhook-url") + ") is not a URL");
            }
        }
        RelayConfig.Auth auth = new RelayConfig.Auth(
                mode,
                p.list("auth.allow"),
                p.path("auth.allow-file"),
                cas,
                new LinkedHashSet<>(p.list("auth.required-tags")),
                webhook,
                p.duration("auth.webhook-timeout", RelayDefaults.WEBHOOK_TIMEOUT),
                p.bool("auth.webhook-fail-open", false));

        RelayConfig.Limits d = RelayConfig.Limits.defaults();
        RelayConfig.Limits limits = new RelayConfig.Limits(
                p.intValue("limits.max-clients", d.maxClients(), 1),
                p.intValue("limits.max-handshakes", d.maxHandshakes(), 1),
                p.doubleValue("limits.ip-connect-rate", d.ipConnectRate()),
                p.intValue("limits.ip-connect-burst", d.ipConnectBurst(), 1),
                p.longValue("limits.client-bytes-per-second", d.clientBytesPerSecond(), 0),
                p.longValue("limits.client-burst-bytes", d.clientBurstBytes(), RelayDefaults.MIN_CLIENT_BURST_BYTES),
                p.intValue("limits.send-queue-depth", d.sendQueueDepth(), 1),
                p.intValue("limits.control-queue-depth", d.controlQueueDepth(), 4),
                p.intValue("limits.pending-circuits-per-client", d.pendingCircuitsPerClient(), 0),
                p.intValue("limits.active-circuits-per-client", d.activeCircuitsPerClient(), 0),
                p.intValue("limits.max-handshakes-per-ip", d.maxHandshakesPerSource(), 1));
        RelayConfig.Timeouts t = RelayConfig.Timeouts.defaults();
        RelayConfig.Timeouts timeouts = new RelayConfig.Timeouts(
                p.duration("timeouts.handshake", t.handshake()),
                p.duration("timeouts.write", t.write()),
                p.duration("timeouts.keepalive", t.keepalive()),
                p.duration("timeouts.client-idle", t.clientIdle()),
                p.duration("timeouts.circuit-token", t.circuitToken()),
                p.duration("timeouts.circuit-idle", t.circuitIdle()));
        List<String> peers = p.list("mesh.peers");
        for (String peer : peers) {
            checkPeer(peer, p.source("mesh.peers"));
        }
        int meshPort = p.intValue("mesh.port", 0, 0);
        if (meshPort > 65535) {
            throw new ConfigException(
                    "mesh.port (" + p.source("mesh.port") + "): port out of range 0-65535: " + meshPort);
        }
        RelayConfig.Mesh mesh = new RelayConfig.Mesh(
                peers,
                meshPort,
                p.path("mesh.key-file"),
                p.duration("mesh.resolve-interval", RelayDefaults.MESH_RESOLVE_INTERVAL));
        return new RelayConfig(listen, admin, stun, relayId, transport, tls, auth, limits, timeouts, mesh, ingress(p));
    }

    /** A mesh peer is {@code host}, {@code host:port} or {@code [v6]:port} ({@link HostPort}; the port, when written, not 0). */
    private static void checkPeer(String peer, String source) {
        try {
            if (HostPort.parse(peer, RelayDefaults.PORT).port() == 0) {
                throw new IllegalArgumentException("port 0");
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(
                    "mesh.peers (" + source + "): '" + peer + "' is not host, host:port or [ipv6]:port");
        }
    }

    private static IngressConfig ingress(Parser p) {
        IngressConfig d = IngressConfig.disabled();
        try {
            String bind = p.string("ingress.bind-address", "0.0.0.0");
            if (!bind.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
                throw new IllegalArgumentException("ingress.bind-address: expected an IP address, got '" + bind + "'");
            }
            int[] range = IngressConfig.parseRange(p.string("ingress.port-range", "none"));
            Map<String, Integer> pinned = IngressConfig.parseStaticPorts(p.list("ingress.static-ports"));
            boolean enabled = p.bool("ingress.enabled", false);
            if (enabled && range[0] == -1 && pinned.isEmpty()) {
                throw new IllegalArgumentException("ingress.enabled needs ingress.port-range or ingress.static-ports");
            }
            return new IngressConfig(
                    enabled,
                    InetAddress.getByName(bind),
                    range[0],
                    range[1],
                    p.string("ingress.public-host", null),
                    pinned,
                    new LinkedHashSet<>(p.list("ingress.allow-nodes")),
                    p.intValue("ingress.max-services-per-node", d.maxServicesPerNode(), 1),
                    p.intValue("ingress.max-connections-per-service", d.maxConnectionsPerService(), 1),
                    p.intValue("ingress.max-connections", d.maxConnections(), 1),
                    p.duration("ingress.idle-timeout", d.idleTimeout()),
                    p.doubleValue("ingress.connect-rate-per-ip", d.connectRatePerIp()),
                    p.intValue("ingress.connect-burst-per-ip", d.connectBurstPerIp(), 1),
                    p.duration("ingress.max-connection-duration", d.maxConnectionDuration()));
        } catch (IllegalArgumentException | IOException e) {
            throw new ConfigException(e.getMessage());
        }
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

    /** Typed access with messages that name the key and its source. */
    private static final class Parser {
        private final Map<String, Value> v;

        Parser(Map<String, Value> v) {
            this.v = v;
        }

        String source(String key) {
            Value x = v.get(key);
            return x == null ? "default" : x.source();
        }

        private String raw(String key) {
            Value x = v.get(key);
            if (x == null) {
                return null;
            }
            String s = x.single(key);
            if (s.isEmpty()) {
                throw new ConfigException(key + " (" + x.source() + ") is set but empty");
            }
            return s;
        }

        String string(String key, String def) {
            String s = raw(key);
            return s == null ? def : s;
        }

        List<String> list(String key) {
            Value x = v.get(key);
            if (x == null) {
                return List.of();
            }
            if (x.items().isEmpty() || x.items().stream().anyMatch(String::isEmpty)) {
                throw new ConfigException(key + " (" + x.source() + ") is set but empty");
            }
            return x.items();
        }

        Path path(String key) {
            String s = raw(key);
            return s == null ? null : Path.of(s);
        }

        boolean bool(String key, boolean def) {
            String s = raw(key);
            if (s == null) {
                return def;
            }
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on", "1" -> true;
                case "false", "no", "off", "0" -> false;
                default ->
                    throw new ConfigException(key + " (" + source(key) + "): expected true or false, got '" + s + "'");
            };
        }

        long longValue(String key, long def, long min) {
            String s = raw(key);
            if (s == null) {
                return def;
            }
            long n;
            try {
                n = Long.parseLong(s.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new ConfigException(key + " (" + source(key) + "): expected a whole number, got '" + s + "'");
            }
            if (n < min) {
                throw new ConfigException(key + " (" + source(key) + "): must be at least " + min + ", got " + n);
            }
            return n;
        }

        int intValue(String key, int def, int min) {
            long n = longValue(key, def, min);
            if (n > Integer.MAX_VALUE) {
                throw new ConfigException(key + " (" + source(key) + "): too large");
            }
            return (int) n;
        }

        double doubleValue(String key, double def) {
            String s = raw(key);
            if (s == null) {
                return def;
            }
            try {
                double d = Double.parseDouble(s);
                if (!(d > 0) || Double.isInfinite(d)) {
                    throw new NumberFormatException();
                }
                return d;
            } catch (NumberFormatException e) {
                throw new ConfigException(key + " (" + source(key) + "): expected a positive number, got '" + s + "'");
            }
        }

        Duration duration(String key, Duration def) {
            String s = raw(key);
            if (s == null) {
                return def;
            }
            Duration d;
            try {
                d = dev.burrow.protocol.config.Durations.parse(s);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key + " (" + source(key) + "): " + e.getMessage());
            }
            if (d.isZero()) {
                throw new ConfigException(key + " (" + source(key) + "): must be more than zero");
            }
            return d;
        }

        <E extends Enum<E>> E enumValue(String key, Class<E> type, String def) {
            String s = string(key, def);
            String norm = s.toUpperCase(Locale.ROOT).replace('-', '_');
            for (E e : type.getEnumConstants()) {
                if (e.name().equals(norm)) {
                    return e;
                }
            }
            throw new ConfigException(key + " (" + source(key) + "): '" + s + "' is not one of "
                    + Arrays.stream(type.getEnumConstants())
                            .map(e -> e.name().toLowerCase(Locale.ROOT).replace('_', '-'))
                            .toList());
        }

        InetSocketAddress address(String key, String def) {
            String s = string(key, def);
            if (s.equalsIgnoreCase("off")
                    || s.equalsIgnoreCase("none")
                    || s.equalsIgnoreCase("false")) { // YAML 1.1 reads off as false
                return null;
            }
            try {
                return parseAddress(s);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key + " (" + source(key) + "): " + e.getMessage());
            }
        }
    }

    /**
     * Parses a duration in the one grammar ({@link dev.burrow.protocol.config.Durations}: 500ms, 3s, 5m, 1h, 2d).
     *
     * @throws IllegalArgumentException with the expected form
     */
    public static Duration parseDuration(String text) {
        return dev.burrow.protocol.config.Durations.parse(text);
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
