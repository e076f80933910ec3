package dev.burrow.agent;

import static dev.burrow.protocol.config.ConfigKey.yamlOnly;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.agent.AgentConfig.Expose;
import dev.burrow.agent.AgentConfig.Forward;
import dev.burrow.agent.AgentConfig.Relay;
import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.relay.RelayCandidate;
import dev.burrow.agent.service.PublicIngress;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.agent.service.StreamDefaults;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.config.ConfigKey;
import dev.burrow.protocol.config.ConfigKey.Parser;
import dev.burrow.protocol.config.ConfigReader;
import dev.burrow.protocol.config.Parsers;
import dev.burrow.protocol.frame.ServiceNames;
import dev.burrow.protocol.frame.SourcePrefix;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads {@link AgentConfig} from YAML. Every key is declared once as a {@link ConfigKey} (below) and
 * read through the shared {@link ConfigReader} in its typed-YAML reading (booleans and counts are
 * YAML booleans and numbers; an empty value is unset); the lists of entries ({@code expose},
 * {@code forward}) get one reader per entry, so messages name {@code expose[0].max-connections}.
 */
final class AgentConfigYaml {
    private AgentConfigYaml() {}

    private static final Parser<String> SERVICE_NAME = s -> {
        if (!ServiceNames.isValid(s)) {
            throw new IllegalArgumentException("'" + s + "' is not a valid service name (1-63 of a-z 0-9 . _ -)");
        }
        return s;
    };
    private static final Parser<Integer> COUNT = Parsers.intBetween(1, 1_000_000);

    // top level
    static final ConfigKey<String> RELAY_URL = yamlOnly("relay.url", null, Parsers.text(), "the relay");
    static final ConfigKey<String> RELAY_FINGERPRINT =
            yamlOnly("relay.fingerprint", null, Parsers.text(), "pin of the relay's certificate (sha256:...)");
    static final ConfigKey<String> RELAY_CA_FILE =
            yamlOnly("relay.ca-file", null, Parsers.text(), "CA of the relay's certificate");
    static final ConfigKey<String> RELAY_MODE =
            yamlOnly("relay.mode", null, Parsers.text(), "upgrade, websocket or auto");
    static final ConfigKey<JsonNode> RELAYS =
            yamlOnly("relays", null, Parsers.yamlNode(), "a fleet: [url, ...] or {region: [url, ...]}");
    static final ConfigKey<Boolean> PLAIN_CIRCUITS = yamlOnly(
            "tls.plain-circuits",
            AgentConfig.DEFAULT_PLAIN_CIRCUITS,
            Parsers.bool(),
            "circuit connections may skip relay TLS");
    static final ConfigKey<List<String>> FLEET_CA =
            yamlOnly("fleet-ca", List.of(), Parsers.strings(), "fleet CA certificates");
    static final ConfigKey<JsonNode> PEERS = yamlOnly("peers", null, Parsers.yamlNode(), "alias: node ID");
    static final ConfigKey<JsonNode> EXPOSE = yamlOnly("expose", null, Parsers.yamlNode(), "exposed services");
    static final ConfigKey<JsonNode> FORWARD = yamlOnly("forward", null, Parsers.yamlNode(), "forwards");
    // Read by dev.burrow.agent.ops.OpsEndpoints (METRICS_KEY, WEB_KEY); declared here so the file's
    // key check accepts them (naming the constants would make agent and agent.ops import each other).
    static final ConfigKey<JsonNode> METRICS =
            yamlOnly("metrics", null, Parsers.yamlNode(), "Prometheus /metrics listener, HOST:PORT or a port");
    static final ConfigKey<JsonNode> WEB =
            yamlOnly("web", null, Parsers.yamlNode(), "status page listener on loopback, HOST:PORT or a port");
    static final ConfigKey<Boolean> DIRECT_PORT_MAPPING = yamlOnly(
            "direct.port-mapping",
            true,
            Parsers.bool(),
            "ask the gateway (PCP, NAT-PMP, UPnP IGD) to map the direct sockets; BURROW_PORTMAP overrides");
    static final ConfigKey<List<String>> DIRECT_STUN_SERVERS = yamlOnly(
            "direct.stun-servers",
            List.of(),
            Parsers.strings(),
            "extra STUN servers, host:port (two answering servers reveal a symmetric NAT)");
    static final List<ConfigKey<?>> TOP = List.of(
            RELAY_URL,
            RELAY_FINGERPRINT,
            RELAY_CA_FILE,
            RELAY_MODE,
            RELAYS,
            PLAIN_CIRCUITS,
            FLEET_CA,
            PEERS,
            EXPOSE,
            FORWARD,
            METRICS,
            WEB,
            DIRECT_PORT_MAPPING,
            DIRECT_STUN_SERVERS);

    // one entry of expose:
    static final ConfigKey<String> NAME = yamlOnly("name", null, SERVICE_NAME, "service name");
    static final ConfigKey<String> TARGET = yamlOnly("target", null, Parsers.text(), "host:port or port");
    static final ConfigKey<List<String>> ALLOW =
            yamlOnly("allow", null, Parsers.strings(), "node:<id>, name:<n>, tag:<t>");
    static final ConfigKey<Integer> MAX_CONNECTIONS =
            yamlOnly("max-connections", ConnectionCaps.DEFAULT_PER_SERVICE, COUNT, "connections at once");
    static final ConfigKey<Integer> MAX_PER_PEER =
            yamlOnly("max-per-peer", ConnectionCaps.DEFAULT_PER_PEER, COUNT, "connections at once per peer");
    static final ConfigKey<Duration> IDLE_TIMEOUT =
            yamlOnly("idle-timeout", StreamDefaults.IDLE_TIMEOUT, Parsers.durationOrOff(), "idle connection");
    static final ConfigKey<ProxyProtocol> PROXY_PROTOCOL =
            yamlOnly("proxy-protocol", ProxyProtocol.OFF, ProxyProtocol::parse, "v2 or off");
    static final ConfigKey<JsonNode> PUBLIC = yamlOnly("public", null, Parsers.yamlNode(), "public ingress");
    static final ConfigKey<ServiceProtocol> PROTOCOL =
            yamlOnly("protocol", ServiceProtocol.TCP, ServiceProtocol::parse, "tcp or udp");
    static final List<ConfigKey<?>> EXPOSE_KEYS =
            List.of(NAME, TARGET, ALLOW, MAX_CONNECTIONS, MAX_PER_PEER, IDLE_TIMEOUT, PUBLIC, PROXY_PROTOCOL, PROTOCOL);

    // expose[i].public
    static final ConfigKey<Boolean> PUBLIC_ENABLED =
            yamlOnly("enabled", null, Parsers.bool(), "public ingress is opt-in");
    static final ConfigKey<List<SourcePrefix>> PUBLIC_SOURCES =
            yamlOnly("allow-sources", null, Parsers.list(SourcePrefix::parse), "client networks");
    static final ConfigKey<Integer> PUBLIC_MAX_CONNECTIONS =
            yamlOnly("max-connections", PublicIngress.DEFAULT_MAX_CONNECTIONS, COUNT, "public connections");
    static final ConfigKey<Duration> PUBLIC_IDLE_TIMEOUT = yamlOnly(
            "idle-timeout", PublicIngress.DEFAULT_IDLE_TIMEOUT, Parsers.durationOrOff(), "idle public connection");
    static final List<ConfigKey<?>> PUBLIC_KEYS =
            List.of(PUBLIC_ENABLED, PUBLIC_SOURCES, PUBLIC_MAX_CONNECTIONS, PUBLIC_IDLE_TIMEOUT);

    // one entry of forward:
    static final ConfigKey<String> PEER = yamlOnly("peer", null, Parsers.text(), "node ID, alias or node name");
    static final ConfigKey<String> SERVICE = yamlOnly("service", null, SERVICE_NAME, "service name");
    static final ConfigKey<TargetSpec> LISTEN = yamlOnly("listen", null, TargetSpec::parse, "port or host:port");
    static final ConfigKey<Integer> FORWARD_MAX_CONNECTIONS =
            yamlOnly("max-connections", ForwardListener.DEFAULT_MAX_CONNECTIONS, COUNT, "connections at once");
    static final List<ConfigKey<?>> FORWARD_KEYS =
            List.of(PEER, SERVICE, LISTEN, FORWARD_MAX_CONNECTIONS, IDLE_TIMEOUT, PROTOCOL);

    /** See {@link AgentConfig#parse}. */
    static AgentConfig parse(String yaml, Path baseDir) {
        ConfigReader r = ConfigReader.of(TOP).typedYaml().yaml(ConfigReader.parseYaml(yaml), null);
        Relay relay = null;
        String url = r.get(RELAY_URL);
        String fingerprint = r.get(RELAY_FINGERPRINT);
        String caFile = r.get(RELAY_CA_FILE);
        String mode = r.get(RELAY_MODE);
        if (url != null || fingerprint != null || caFile != null || mode != null) {
            try {
                relay = new Relay(
                        url == null ? null : RelayCandidate.parseUrl(url),
                        fingerprint,
                        caFile == null ? null : resolve(baseDir, caFile),
                        mode);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("relay: " + e.getMessage());
            }
        }
        JsonNode rs = r.get(RELAYS);
        if (rs != null) {
            if (relay != null && relay.url() != null) {
                throw new IllegalArgumentException("relays: give either relay.url or relays (relays lists every relay; "
                        + "trust and mode stay under relay:)");
            }
            List<RelayCandidate> candidates = parseRelays(rs);
            try {
                relay = relay == null
                        ? new Relay(null, null, null, null, candidates)
                        : new Relay(null, relay.fingerprint(), relay.caFile(), relay.mode(), candidates);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("relays: " + e.getMessage());
            }
        }
        List<Path> cas = new ArrayList<>();
        for (String s : r.get(FLEET_CA)) {
            cas.add(resolve(baseDir, s));
        }
        Map<String, NodeKey> peers = parsePeers(r.get(PEERS));
        List<Expose> exposes = new ArrayList<>();
        List<Forward> forwards = new ArrayList<>();
        for (JsonNode n : entries(r.get(EXPOSE), "expose")) {
            exposes.add(parseExpose(n, "expose[" + exposes.size() + "]"));
        }
        for (JsonNode n : entries(r.get(FORWARD), "forward")) {
            forwards.add(parseForward(n, "forward[" + forwards.size() + "]", peers, !cas.isEmpty()));
        }
        AgentConfig.Direct direct = new AgentConfig.Direct(r.get(DIRECT_PORT_MAPPING), r.get(DIRECT_STUN_SERVERS));
        return new AgentConfig(relay, cas, peers, exposes, forwards, r.get(PLAIN_CIRCUITS), direct);
    }

    private static List<JsonNode> entries(JsonNode list, String at) {
        if (list == null) {
            return List.of();
        }
        if (!list.isArray()) {
            throw new IllegalArgumentException(at + ": expected a list");
        }
        List<JsonNode> out = new ArrayList<>();
        list.forEach(out::add);
        return out;
    }

    private static Map<String, NodeKey> parsePeers(JsonNode p) {
        Map<String, NodeKey> peers = new LinkedHashMap<>();
        if (p == null) {
            return peers;
        }
        if (!p.isObject()) {
            throw new IllegalArgumentException("peers: expected a mapping of alias: node ID");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = p.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new IllegalArgumentException("peers." + e.getKey() + ": expected a node ID");
            }
            try {
                peers.put(e.getKey(), NodeKey.parse(e.getValue().asText()));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("peers." + e.getKey() + ": " + ex.getMessage());
            }
        }
        return peers;
    }

    /** {@code relays: [url, ...]} or {@code relays: {region: [url, ...], ...}}. */
    private static List<RelayCandidate> parseRelays(JsonNode n) {
        List<RelayCandidate> out = new ArrayList<>();
        if (n.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                for (String url : stringList(e.getValue(), "relays." + e.getKey())) {
                    out.add(candidate(url, e.getKey(), "relays." + e.getKey()));
                }
            }
        } else {
            for (String url : stringList(n, "relays")) {
                out.add(candidate(url, null, "relays"));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("relays: empty (list at least one relay URL)");
        }
        return out;
    }

    private static List<String> stringList(JsonNode n, String at) {
        if (n.isValueNode()) {
            return List.of(n.asText());
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException(at + ": expected a list");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : n) {
            if (!item.isValueNode()) {
                throw new IllegalArgumentException(at + ": expected a list of strings");
            }
            out.add(item.asText());
        }
        return out;
    }

    private static RelayCandidate candidate(String url, String region, String at) {
        try {
            return new RelayCandidate(RelayCandidate.parseUrl(url), region);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": " + e.getMessage());
        }
    }

    private static Expose parseExpose(JsonNode n, String at) {
        ConfigReader r = ConfigReader.of(EXPOSE_KEYS, at).typedYaml().yaml(n, null);
        String name = required(r, NAME, "");
        String target = required(r, TARGET, "");
        TargetSpec spec;
        try {
            spec = TargetSpec.parse(target);
        } catch (IllegalArgumentException e) {
            throw r.problem(TARGET, e.getMessage());
        }
        PublicIngress pub = parsePublic(r.get(PUBLIC), at + ".public");
        List<String> rules = r.get(ALLOW);
        if (rules == null && pub == null) {
            throw r.problem(ALLOW, "missing (list the peers that may connect: node:<id>, name:<n>, tag:<t>)");
        }
        AllowList allow;
        try {
            allow = AllowList.parse(rules == null ? List.of() : rules);
        } catch (IllegalArgumentException e) {
            throw r.problem(ALLOW, e.getMessage());
        }
        if (allow.rules().isEmpty() && pub == null) {
            throw r.problem(ALLOW, "empty (nobody could connect)");
        }
        try {
            return new Expose(name, spec, allow, r.get(MAX_CONNECTIONS), r.get(MAX_PER_PEER), r.get(IDLE_TIMEOUT))
                    .withProxyProtocol(r.get(PROXY_PROTOCOL))
                    .withPublicIngress(pub)
                    .withProtocol(r.get(PROTOCOL));
        } catch (IllegalArgumentException e) {
            throw r.problem(PROTOCOL, e.getMessage());
        }
    }

    /** {@code public: {enabled: true, allow-sources: [...], max-connections: 64, idle-timeout: 5m}}; null when absent or disabled. */
    private static PublicIngress parsePublic(JsonNode n, String at) {
        if (n == null) {
            return null;
        }
        ConfigReader r = ConfigReader.of(PUBLIC_KEYS, at).typedYaml().yaml(n, null);
        if (!required(r, PUBLIC_ENABLED, ": expected true or false (public ingress is opt-in)")) {
            return null;
        }
        List<SourcePrefix> sources = required(
                r,
                PUBLIC_SOURCES,
                " (client networks that may connect, e.g. [203.0.113.0/24]; [0.0.0.0/0, ::/0] for everyone)");
        try {
            return new PublicIngress(sources, r.get(PUBLIC_MAX_CONNECTIONS), r.get(PUBLIC_IDLE_TIMEOUT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": " + e.getMessage());
        }
    }

    private static Forward parseForward(JsonNode n, String at, Map<String, NodeKey> peers, boolean namesAllowed) {
        ConfigReader r = ConfigReader.of(FORWARD_KEYS, at).typedYaml().yaml(n, null);
        String peer = required(r, PEER, "");
        try {
            AgentConfig.peerRef(peer, peers, namesAllowed);
        } catch (IllegalArgumentException e) {
            throw r.problem(PEER, e.getMessage());
        }
        String service = required(r, SERVICE, "");
        TargetSpec bind = required(r, LISTEN, " (a port, or host:port)");
        return new Forward(
                peer,
                service,
                bind.host(),
                bind.port(),
                r.get(FORWARD_MAX_CONNECTIONS),
                r.get(IDLE_TIMEOUT),
                r.get(PROTOCOL));
    }

    /** The value of a key that must be given; {@code hint} follows "missing" in the message. */
    private static <T> T required(ConfigReader r, ConfigKey<T> key, String hint) {
        T v = r.get(key);
        if (v == null) {
            throw r.problem(key, "missing" + hint);
        }
        return v;
    }

    private static Path resolve(Path base, String p) {
        Path path = Path.of(p);
        return path.isAbsolute() || base == null ? path : base.resolve(path);
    }
}
