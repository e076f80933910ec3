package dev.burrow.agent;

import static dev.burrow.agent.YamlFields.checkKeys;
import static dev.burrow.agent.YamlFields.requireArray;
import static dev.burrow.agent.YamlFields.requireObject;
import static dev.burrow.agent.YamlFields.stringList;
import static dev.burrow.agent.YamlFields.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.relay.RelayAddress;
import dev.burrow.agent.relay.RelayCandidate;
import dev.burrow.agent.service.StreamDefaults;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.NodeNames;
import dev.burrow.protocol.frame.ServiceNames;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The agent's configuration: which relay, which services it exposes and which forwards it runs.
 * Read from YAML ({@link #parse}); the command line builds the same records for {@code burrow
 * expose} and {@code burrow connect}. Everything is validated here, at parse time, with the path of
 * the offending key in the message: ports outside 1-65535 (F5), invalid service names, allow rules,
 * duplicate names or ports, unknown keys.
 *
 * <pre>
 * relay:
 *   url: https://relay.example.com:443   # one relay; or, for a fleet, a top-level relays: list
 *                                        #   relays: [https://a.example.com, https://b.example.com]
 *                                        # or region map: relays: {eu: [https://a...], us: [https://c...]}
 *   fingerprint: sha256:...        # dev relays: pin the relay's certificate
 *   ca-file: /etc/burrow/relay-ca.pem
 *   mode: auto                     # upgrade | websocket | auto
 * tls:
 *   plain-circuits: true           # circuit connections may skip relay TLS (end-to-end TLS inside);
 *                                  #   false: every circuit connection runs inside relay TLS too
 * fleet-ca: [/etc/burrow/fleet-ca.pem]   # makes peers' names and tags authoritative
 * peers:                           # local aliases for node IDs
 *   alice: 7xq...
 * expose:
 *   - name: web
 *     target: 127.0.0.1:8080
 *     allow: [name:bob, tag:dev]
 *     max-connections: 1024
 *     max-per-peer: 256
 *     idle-timeout: 1h
 *     proxy-protocol: v2           # PROXY v2 header naming the caller (off by default)
 * forward:
 *   - peer: alice                  # node ID, alias, or (with fleet-ca) a node name resolved through the relay
 *     service: web
 *     listen: 127.0.0.1:9000
 *     max-connections: 1024
 * </pre>
 */
public record AgentConfig(
        Relay relay,
        List<Path> fleetCas,
        Map<String, NodeKey> peers,
        List<Expose> exposes,
        List<Forward> forwards,
        boolean plainCircuits) {

    /**
     * Whether circuit connections may skip relay TLS by default: yes, as the relay's
     * {@code tls.plain-circuits}. The stream inside is end-to-end TLS between the two nodes either way,
     * so relay TLS around it only hides circuit metadata already known to the relay; an agent falls
     * back to relay TLS by itself when a relay refuses plain circuits. {@code tls.plain-circuits: false}
     * is for networks that must see TLS on every connection to the relay.
     */
    public static final boolean DEFAULT_PLAIN_CIRCUITS = true;

    /** A configuration with {@link #DEFAULT_PLAIN_CIRCUITS}. */
    public AgentConfig(
            Relay relay,
            List<Path> fleetCas,
            Map<String, NodeKey> peers,
            List<Expose> exposes,
            List<Forward> forwards) {
        this(relay, fleetCas, peers, exposes, forwards, DEFAULT_PLAIN_CIRCUITS);
    }

    /**
     * Where the relays are and how they are trusted. {@code candidates} lists every relay the agent
     * may use as its home (one for a single relay; all of them share {@code fingerprint}/{@code caFile}
     * and {@code mode}); {@code url} is the first of them (enrolment and single-relay code use it).
     */
    public record Relay(URI url, String fingerprint, Path caFile, String mode, List<RelayCandidate> candidates) {
        /** Most relays one agent measures and may use (bounds probe traffic; a region map, not a fleet inventory). */
        public static final int MAX_RELAYS = dev.burrow.agent.relay.HomeRelaySelector.MAX_RELAYS;

        private static final java.util.regex.Pattern REGION =
                java.util.regex.Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

        public Relay {
            candidates = candidates == null ? List.of() : List.copyOf(candidates);
            if (candidates.isEmpty() && url != null) {
                candidates = List.of(new RelayCandidate(url));
            }
            if (!candidates.isEmpty()) {
                if (url != null && !url.equals(candidates.get(0).url())) {
                    throw new IllegalArgumentException("url must be the first of the relays");
                }
                url = candidates.get(0).url();
            }
            if (url != null) {
                RelayAddress.parse(url);
            }
            if (candidates.size() > MAX_RELAYS) {
                throw new IllegalArgumentException("at most " + MAX_RELAYS + " relays, got " + candidates.size());
            }
            Set<URI> seen = new java.util.HashSet<>();
            for (RelayCandidate c : candidates) {
                if (!seen.add(c.url())) {
                    throw new IllegalArgumentException("relay " + c.url() + " is listed twice");
                }
                if (c.region() != null && !REGION.matcher(c.region()).matches()) {
                    throw new IllegalArgumentException(
                            "region '" + c.region() + "' is not a valid name (1-63 of a-z 0-9 . _ -)");
                }
            }
            if (fingerprint != null) {
                dev.burrow.identity.tls.RelayTls.parseFingerprint(fingerprint);
            }
            mode = mode == null ? "auto" : mode;
        }

        /** A single relay (the settings of earlier versions). */
        public Relay(URI url, String fingerprint, Path caFile, String mode) {
            this(url, fingerprint, caFile, mode, List.of());
        }

        /** True when there is more than one relay to choose from. */
        public boolean fleet() {
            return candidates.size() > 1;
        }
    }

    /**
     * One exposed service.
     *
     * @param proxyProtocol PROXY v2 header to the target ({@code proxy-protocol: v2}; off by default)
     * @param publicIngress public-ingress opt-in ({@code public:}), or null
     */
    public record Expose(
            String name,
            TargetSpec target,
            AllowList allow,
            int maxConnections,
            int maxPerPeer,
            Duration idleTimeout,
            ProxyProtocol proxyProtocol,
            dev.burrow.agent.ingress.PublicIngress publicIngress) {
        public Expose {
            ServiceNames.check(name);
            proxyProtocol = proxyProtocol == null ? ProxyProtocol.OFF : proxyProtocol;
        }

        public Expose(
                String name,
                TargetSpec target,
                AllowList allow,
                int maxConnections,
                int maxPerPeer,
                Duration idleTimeout) {
            this(name, target, allow, maxConnections, maxPerPeer, idleTimeout, ProxyProtocol.OFF);
        }

        public Expose(
                String name,
                TargetSpec target,
                AllowList allow,
                int maxConnections,
                int maxPerPeer,
                Duration idleTimeout,
                ProxyProtocol proxyProtocol) {
            this(name, target, allow, maxConnections, maxPerPeer, idleTimeout, proxyProtocol, null);
        }

        /** The same service with a PROXY protocol setting. */
        public Expose withProxyProtocol(ProxyProtocol p) {
            return new Expose(name, target, allow, maxConnections, maxPerPeer, idleTimeout, p, publicIngress);
        }

        /** The same service with a public-ingress opt-in (null: not public). */
        public Expose withPublicIngress(dev.burrow.agent.ingress.PublicIngress p) {
            return new Expose(name, target, allow, maxConnections, maxPerPeer, idleTimeout, proxyProtocol, p);
        }

        public Expose(String name, TargetSpec target, AllowList allow) {
            this(
                    name,
                    target,
                    allow,
                    ConnectionCaps.DEFAULT_PER_SERVICE,
                    ConnectionCaps.DEFAULT_PER_PEER,
                    StreamDefaults.IDLE_TIMEOUT);
        }
    }

    /** One forward; {@code peer} is what the user wrote (node ID, alias or node name), read by {@link #peerRef}. */
    public record Forward(
            String peer, String service, String listenHost, int listenPort, int maxConnections, Duration idleTimeout) {
        public Forward {
            ServiceNames.check(service);
        }

        public Forward(String peer, String service, String listenHost, int listenPort) {
            this(
                    peer,
                    service,
                    listenHost,
                    listenPort,
                    ForwardListener.DEFAULT_MAX_CONNECTIONS,
                    StreamDefaults.IDLE_TIMEOUT);
        }
    }

    public AgentConfig {
        fleetCas = List.copyOf(fleetCas);
        peers = Map.copyOf(peers);
        exposes = List.copyOf(exposes);
        forwards = List.copyOf(forwards);
        Set<String> names = new java.util.HashSet<>();
        for (Expose e : exposes) {
            if (!names.add(e.name())) {
                throw new IllegalArgumentException("expose: service '" + e.name() + "' is listed twice");
            }
        }
        Set<String> binds = new java.util.HashSet<>();
        for (Forward f : forwards) {
            if (f.listenPort() != 0 && !binds.add(f.listenHost() + ":" + f.listenPort())) {
                throw new IllegalArgumentException(
                        "forward: " + f.listenHost() + ":" + f.listenPort() + " is used twice");
            }
        }
    }

    /** What a forward's peer refers to: a key (node ID or alias), or a node name vouched for by a fleet CA. */
    public sealed interface PeerRef {
        /** A peer by key: dialled as is. */
        record Key(NodeKey key) implements PeerRef {}

        /** A peer by name: resolved through the relay per connection and checked in the peer's certificate. */
        record Name(String name) implements PeerRef {}
    }

    /**
     * What {@code peer} refers to: an alias from {@code peers}, a node ID, or, when this agent trusts
     * a fleet CA, a node name.
     *
     * @throws IllegalArgumentException saying which of the three it could have been
     */
    public PeerRef peerRef(String peer) {
        return peerRef(peer, peers, !fleetCas.isEmpty());
    }

    private static PeerRef peerRef(String peer, Map<String, NodeKey> peers, boolean namesAllowed) {
        NodeKey alias = peers.get(peer);
        if (alias != null) {
            return new PeerRef.Key(alias);
        }
        try {
            return new PeerRef.Key(NodeKey.parse(peer));
        } catch (IllegalArgumentException e) {
            if (!NodeNames.isValid(peer)) {
                throw new IllegalArgumentException(
                        "peer '" + peer + "' is neither a node ID, an alias under 'peers:', nor a node name");
            }
            if (!namesAllowed) {
                throw new IllegalArgumentException(
                        "peer '" + peer + "' is neither a node ID nor an alias under 'peers:';"
                                + " to use it as a node name, trust a fleet CA (fleet-ca: in the config, --fleet-ca on the command line):"
                                + " names are only believed when a fleet CA vouches for them");
            }
            return new PeerRef.Name(peer);
        }
    }

    /**
     * The node key a forward's peer names: a node ID, or an alias from {@code peers}.
     *
     * @throws IllegalArgumentException for a name (use {@link #peerRef}) or anything else
     */
    public NodeKey resolvePeer(String peer) {
        return switch (peerRef(peer)) {
            case PeerRef.Key k -> k.key();
            case PeerRef.Name n ->
                throw new IllegalArgumentException("peer '" + peer + "' is a node name: it is resolved"
                        + " through the relay for each connection, not here");
        };
    }

    /** Same services, forwards and aliases, another relay (command-line override). */
    public AgentConfig withRelay(Relay r) {
        return new AgentConfig(r, fleetCas, peers, exposes, forwards, plainCircuits);
    }

    // ------------------------------------------------------------------ YAML

    private static final Set<String> TOP_KEYS = Set.of(
            "relay", "relays", "tls", "fleet-ca", "peers", "expose", "forward", "metrics", "web"); // ops.OpsEndpoints
    private static final Set<String> TLS_KEYS = Set.of("plain-circuits");
    private static final Set<String> RELAY_KEYS = Set.of("url", "fingerprint", "ca-file", "mode");
    private static final Set<String> EXPOSE_KEYS = Set.of(
            "name", "target", "allow", "max-connections", "max-per-peer", "idle-timeout", "public", "proxy-protocol");
    private static final Set<String> PUBLIC_KEYS =
            Set.of("enabled", "allow-sources", "max-connections", "idle-timeout");
    private static final Set<String> FORWARD_KEYS =
            Set.of("peer", "service", "listen", "max-connections", "idle-timeout");
    /** A configuration file is a few KiB; a huge one is a mistake, not a config. */
    public static final long MAX_FILE_BYTES = 1024 * 1024;

    /** Reads and validates a YAML file. */
    public static AgentConfig load(Path file) throws IOException {
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IllegalArgumentException(file + ": larger than " + MAX_FILE_BYTES + " bytes");
        }
        try {
            return parse(Files.readString(file), file.toAbsolutePath().getParent());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses YAML text. Relative paths are resolved against {@code baseDir}.
     *
     * @throws IllegalArgumentException naming the key at fault
     */
    public static AgentConfig parse(String yaml, Path baseDir) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not valid YAML: " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            root = new ObjectMapper().createObjectNode();
        }
        requireObject(root, "(top level)");
        checkKeys(root, TOP_KEYS, "");
        Relay relay = null;
        JsonNode r = root.get("relay");
        if (r != null && !r.isNull()) {
            requireObject(r, "relay");
            checkKeys(r, RELAY_KEYS, "relay.");
            String url = text(r, "url", "relay.url", false);
            String caFile = text(r, "ca-file", "relay.ca-file", false);
            try {
                relay = new Relay(
                        url == null ? null : RelayCandidate.parseUrl(url),
                        text(r, "fingerprint", "relay.fingerprint", false),
                        caFile == null ? null : resolve(baseDir, caFile),
                        text(r, "mode", "relay.mode", false));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("relay: " + e.getMessage());
            }
        }
        JsonNode rs = root.get("relays");
        if (rs != null && !rs.isNull()) {
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
        boolean plainCircuits = DEFAULT_PLAIN_CIRCUITS;
        JsonNode tls = root.get("tls");
        if (tls != null && !tls.isNull()) {
            requireObject(tls, "tls");
            checkKeys(tls, TLS_KEYS, "tls.");
            JsonNode pc = tls.get("plain-circuits");
            if (pc != null && !pc.isNull()) {
                if (!pc.isBoolean()) {
                    throw new IllegalArgumentException("tls.plain-circuits: expected true or false");
                }
                plainCircuits = pc.booleanValue();
            }
        }
        List<Path> cas = new ArrayList<>();
        JsonNode ca = root.get("fleet-ca");
        if (ca != null && !ca.isNull()) {
            for (String s : stringList(ca, "fleet-ca")) {
                cas.add(resolve(baseDir, s));
            }
        }
        Map<String, NodeKey> peers = new LinkedHashMap<>();
        JsonNode p = root.get("peers");
        if (p != null && !p.isNull()) {
            requireObject(p, "peers");
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
        }
        List<Expose> exposes = new ArrayList<>();
        JsonNode ex = root.get("expose");
        if (ex != null && !ex.isNull()) {
            requireArray(ex, "expose");
            for (int i = 0; i < ex.size(); i++) {
                exposes.add(parseExpose(ex.get(i), "expose[" + i + "]"));
            }
        }
        List<Forward> forwards = new ArrayList<>();
        JsonNode fw = root.get("forward");
        if (fw != null && !fw.isNull()) {
            requireArray(fw, "forward");
            for (int i = 0; i < fw.size(); i++) {
                forwards.add(parseForward(fw.get(i), "forward[" + i + "]", peers, !cas.isEmpty()));
            }
        }
        return new AgentConfig(relay, cas, peers, exposes, forwards, plainCircuits);
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

    private static RelayCandidate candidate(String url, String region, String at) {
        try {
            return new RelayCandidate(RelayCandidate.parseUrl(url), region);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": " + e.getMessage());
        }
    }

    private static Expose parseExpose(JsonNode n, String at) {
        requireObject(n, at);
        checkKeys(n, EXPOSE_KEYS, at + ".");
        String name = text(n, "name", at + ".name", true);
        if (!ServiceNames.isValid(name)) {
            throw new IllegalArgumentException(
                    at + ".name: '" + name + "' is not a valid service name (1-63 of a-z 0-9 . _ -)");
        }
        TargetSpec target;
        try {
            target = TargetSpec.parse(text(n, "target", at + ".target", true));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ".target: " + e.getMessage());
        }
        dev.burrow.agent.ingress.PublicIngress pub = parsePublic(n.get("public"), at + ".public");
        JsonNode allowNode = n.get("allow");
        if ((allowNode == null || allowNode.isNull()) && pub == null) {
            throw new IllegalArgumentException(
                    at + ".allow: missing (list the peers that may connect: node:<id>, name:<n>, tag:<t>)");
        }
        AllowList allow;
        try {
            allow = AllowList.parse(
                    allowNode == null || allowNode.isNull() ? List.of() : stringList(allowNode, at + ".allow"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ".allow: " + e.getMessage());
        }
        if (allow.rules().isEmpty() && pub == null) {
            throw new IllegalArgumentException(at + ".allow: empty (nobody could connect)");
        }
        int maxConn = intValue(n, "max-connections", at, ConnectionCaps.DEFAULT_PER_SERVICE);
        int maxPeer = intValue(n, "max-per-peer", at, ConnectionCaps.DEFAULT_PER_PEER);
        Duration idle = durationValue(n, "idle-timeout", at, StreamDefaults.IDLE_TIMEOUT);
        return new Expose(name, target, allow, maxConn, maxPeer, idle)
                .withProxyProtocol(proxyProtocolValue(n, at))
                .withPublicIngress(pub);
    }

    private static ProxyProtocol proxyProtocolValue(JsonNode n, String at) {
        String v = text(n, "proxy-protocol", at + ".proxy-protocol", false);
        try {
            return v == null ? ProxyProtocol.OFF : ProxyProtocol.parse(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ".proxy-protocol: " + e.getMessage());
        }
    }

    /** {@code public: {enabled: true, allow-sources: [...], max-connections: 64, idle-timeout: 5m}}; null when absent or disabled. */
    private static dev.burrow.agent.ingress.PublicIngress parsePublic(JsonNode n, String at) {
        if (n == null || n.isNull()) {
            return null;
        }
        requireObject(n, at);
        checkKeys(n, PUBLIC_KEYS, at + ".");
        JsonNode enabled = n.get("enabled");
        if (enabled == null || !enabled.isBoolean()) {
            throw new IllegalArgumentException(at + ".enabled: expected true or false (public ingress is opt-in)");
        }
        if (!enabled.asBoolean()) {
            return null;
        }
        JsonNode sources = n.get("allow-sources");
        if (sources == null || sources.isNull()) {
            throw new IllegalArgumentException(at + ".allow-sources: missing (client networks that may connect, e.g. "
                    + "[203.0.113.0/24]; [0.0.0.0/0, ::/0] for everyone)");
        }
        try {
            return new dev.burrow.agent.ingress.PublicIngress(
                    stringList(sources, at + ".allow-sources").stream()
                            .map(dev.burrow.protocol.frame.SourcePrefix::parse)
                            .toList(),
                    intValue(n, "max-connections", at, dev.burrow.agent.ingress.PublicIngress.DEFAULT_MAX_CONNECTIONS),
                    durationValue(n, "idle-timeout", at, dev.burrow.agent.ingress.PublicIngress.DEFAULT_IDLE_TIMEOUT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": " + e.getMessage());
        }
    }

    private static Forward parseForward(JsonNode n, String at, Map<String, NodeKey> peers, boolean namesAllowed) {
        requireObject(n, at);
        checkKeys(n, FORWARD_KEYS, at + ".");
        String peer = text(n, "peer", at + ".peer", true);
        try {
            peerRef(peer, peers, namesAllowed);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ".peer: " + e.getMessage());
        }
        String service = text(n, "service", at + ".service", true);
        if (!ServiceNames.isValid(service)) {
            throw new IllegalArgumentException(at + ".service: '" + service + "' is not a valid service name");
        }
        JsonNode listen = n.get("listen");
        if (listen == null || listen.isNull()) {
            throw new IllegalArgumentException(at + ".listen: missing (a port, or host:port)");
        }
        TargetSpec bind;
        try {
            bind = TargetSpec.parse(listen.isNumber() ? String.valueOf(listen.asLong()) : listen.asText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ".listen: " + e.getMessage());
        }
        int maxConn = intValue(n, "max-connections", at, ForwardListener.DEFAULT_MAX_CONNECTIONS);
        Duration idle = durationValue(n, "idle-timeout", at, StreamDefaults.IDLE_TIMEOUT);
        return new Forward(peer, service, bind.host(), bind.port(), maxConn, idle);
    }

    private static int intValue(JsonNode n, String key, String at, int dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > 1_000_000) {
            throw new IllegalArgumentException(at + "." + key + ": expected a whole number from 1 to 1000000");
        }
        return v.asInt();
    }

    private static Duration durationValue(JsonNode n, String key, String at, Duration dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        try {
            return parseDuration(v.asText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + "." + key + ": " + e.getMessage());
        }
    }

    /** The one duration grammar ({@link dev.burrow.protocol.config.Durations}); {@code 0} or {@code off} disables. */
    public static Duration parseDuration(String text) {
        return dev.burrow.protocol.config.Durations.parseOrOff(text);
    }

    private static Path resolve(Path base, String p) {
        Path path = Path.of(p);
        return path.isAbsolute() || base == null ? path : base.resolve(path);
    }
}
