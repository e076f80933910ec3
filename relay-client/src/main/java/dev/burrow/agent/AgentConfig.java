package dev.burrow.agent;

import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.relay.HomeRelaySelector;
import dev.burrow.agent.relay.RelayAddress;
import dev.burrow.agent.relay.RelayCandidate;
import dev.burrow.agent.service.PublicIngress;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.agent.service.StreamDefaults;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.tls.RelayTls;
import dev.burrow.protocol.HostPort;
import dev.burrow.protocol.config.Durations;
import dev.burrow.protocol.frame.NodeNames;
import dev.burrow.protocol.frame.ServiceNames;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The agent's configuration: which relay, which services it exposes and which forwards it runs.
 * Read from YAML ({@link #parse}, {@link AgentConfigYaml}); the command line builds the same records
 * for {@code burrow expose} and {@code burrow connect} with {@link #builder()}. Everything is validated here, at parse time, with the path of
 * the offending key in the message: ports outside 1-65535, invalid service names, allow rules,
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
 *   - name: dns
 *     target: 127.0.0.1:53
 *     protocol: udp                # UDP datagrams (default tcp); caps count flows
 *     allow: [name:bob]
 * forward:
 *   - peer: alice                  # node ID, alias, or (with fleet-ca) a node name resolved through the relay
 *     service: web
 *     listen: 127.0.0.1:9000
 *     max-connections: 1024
 *   - {peer: alice, service: dns, listen: 5353, protocol: udp}   # each local source is one flow
 * </pre>
 */
public record AgentConfig(
        Relay relay,
        List<Path> fleetCas,
        Map<String, NodeKey> peers,
        List<Expose> exposes,
        List<Forward> forwards,
        boolean plainCircuits,
        Direct direct) {

    /** A configuration with the default direct-path settings ({@link Direct#DEFAULT}). */
    public AgentConfig(
            Relay relay,
            List<Path> fleetCas,
            Map<String, NodeKey> peers,
            List<Expose> exposes,
            List<Forward> forwards,
            boolean plainCircuits) {
        this(relay, fleetCas, peers, exposes, forwards, plainCircuits, Direct.DEFAULT);
    }

    /**
     * Direct-path settings ({@code direct:} in agent.yaml), read at agent start.
     *
     * @param portMapping ask the default gateway for a port mapping of the direct sockets (PCP,
     *     NAT-PMP, UPnP IGD); the environment variable {@code BURROW_PORTMAP} ({@code off} or {@code
     *     on}) overrides it
     * @param stunServers extra STUN servers ({@code host:port}) besides the relay's; two servers that
     *     answer let the agent tell whether its NAT maps per destination (symmetric), which decides
     *     hard-NAT spraying. {@code BURROW_STUN_SERVERS} adds more.
     */
    public record Direct(boolean portMapping, List<String> stunServers) {
        /** Most extra STUN servers (each is asked every 25 s from both direct sockets). */
        public static final int MAX_STUN_SERVERS = 8;

        public static final Direct DEFAULT = new Direct(true, List.of());

        public Direct {
            stunServers = stunServers == null ? List.of() : List.copyOf(stunServers);
            if (stunServers.size() > MAX_STUN_SERVERS) {
                throw new IllegalArgumentException(
                        "direct.stun-servers: at most " + MAX_STUN_SERVERS + " servers, not " + stunServers.size());
            }
            for (String s : stunServers) {
                try {
                    HostPort.parse(s, HostPort.PORT_REQUIRED);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("direct.stun-servers: '" + s + "': " + e.getMessage());
                }
            }
        }
    }

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
        public static final int MAX_RELAYS = HomeRelaySelector.MAX_RELAYS;

        private static final Pattern REGION = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

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
            Set<URI> seen = new HashSet<>();
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
                RelayTls.parseFingerprint(fingerprint);
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
            PublicIngress publicIngress,
            ServiceProtocol protocol) {
        public Expose {
            ServiceNames.checkUsable(name);
            proxyProtocol = proxyProtocol == null ? ProxyProtocol.OFF : proxyProtocol;
            protocol = protocol == null ? ServiceProtocol.TCP : protocol;
            if (protocol == ServiceProtocol.UDP && publicIngress != null) {
                throw new IllegalArgumentException("service " + name + ": public ingress is for TCP services only");
            }
            if (protocol == ServiceProtocol.UDP && proxyProtocol != ProxyProtocol.OFF) {
                throw new IllegalArgumentException("service " + name + ": proxy-protocol is for TCP services only");
            }
        }

        public Expose(
                String name,
                TargetSpec target,
                AllowList allow,
                int maxConnections,
                int maxPerPeer,
                Duration idleTimeout,
                ProxyProtocol proxyProtocol,
                PublicIngress publicIngress) {
            this(name, target, allow, maxConnections, maxPerPeer, idleTimeout, proxyProtocol, publicIngress, null);
        }

        /** The same service carrying {@code p} (TCP or UDP). */
        public Expose withProtocol(ServiceProtocol p) {
            return new Expose(
                    name, target, allow, maxConnections, maxPerPeer, idleTimeout, proxyProtocol, publicIngress, p);
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
            return new Expose(name, target, allow, maxConnections, maxPerPeer, idleTimeout, p, publicIngress, protocol);
        }

        /** The same service with a public-ingress opt-in (null: not public). */
        public Expose withPublicIngress(PublicIngress p) {
            return new Expose(name, target, allow, maxConnections, maxPerPeer, idleTimeout, proxyProtocol, p, protocol);
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
            String peer,
            String service,
            String listenHost,
            int listenPort,
            int maxConnections,
            Duration idleTimeout,
            ServiceProtocol protocol) {
        public Forward {
            ServiceNames.checkUsable(service);
            protocol = protocol == null ? ServiceProtocol.TCP : protocol;
        }

        public Forward(
                String peer,
                String service,
                String listenHost,
                int listenPort,
                int maxConnections,
                Duration idleTimeout) {
            this(peer, service, listenHost, listenPort, maxConnections, idleTimeout, ServiceProtocol.TCP);
        }

        /** The same forward carrying {@code p} (TCP or UDP). */
        public Forward withProtocol(ServiceProtocol p) {
            return new Forward(peer, service, listenHost, listenPort, maxConnections, idleTimeout, p);
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
        direct = direct == null ? Direct.DEFAULT : direct;
        fleetCas = List.copyOf(fleetCas);
        peers = Map.copyOf(peers);
        exposes = List.copyOf(exposes);
        forwards = List.copyOf(forwards);
        Set<String> names = new HashSet<>();
        for (Expose e : exposes) {
            if (!names.add(e.name())) {
                throw new IllegalArgumentException("expose: service '" + e.name() + "' is listed twice");
            }
        }
        Set<String> binds = new HashSet<>();
        for (Forward f : forwards) {
            if (f.listenPort() != 0 && !binds.add(f.protocol() + " " + f.listenHost() + ":" + f.listenPort())) {
                throw new IllegalArgumentException("forward: " + (f.protocol() == ServiceProtocol.UDP ? "udp " : "")
                        + f.listenHost() + ":" + f.listenPort() + " is used twice");
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

    static PeerRef peerRef(String peer, Map<String, NodeKey> peers, boolean namesAllowed) {
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
        return new AgentConfig(r, fleetCas, peers, exposes, forwards, plainCircuits, direct);
    }

    /** The same configuration with another {@code tls.plain-circuits}. */
    public AgentConfig withPlainCircuits(boolean plain) {
        return new AgentConfig(relay, fleetCas, peers, exposes, forwards, plain, direct);
    }

    /** A configuration built by name rather than by position (the command line's way). */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds an {@link AgentConfig}; everything but the relay may be left out. */
    public static final class Builder {
        private Relay relay;
        private final List<Path> fleetCas = new ArrayList<>();
        private final Map<String, NodeKey> peers = new LinkedHashMap<>();
        private final List<Expose> exposes = new ArrayList<>();
        private final List<Forward> forwards = new ArrayList<>();
        private boolean plainCircuits = DEFAULT_PLAIN_CIRCUITS;
        private Direct direct = Direct.DEFAULT;

        private Builder() {}

        public Builder direct(Direct d) {
            direct = d;
            return this;
        }

        public Builder relay(Relay r) {
            relay = r;
            return this;
        }

        public Builder fleetCas(List<Path> cas) {
            fleetCas.addAll(cas);
            return this;
        }

        public Builder peer(String alias, NodeKey key) {
            peers.put(alias, key);
            return this;
        }

        public Builder expose(Expose e) {
            exposes.add(e);
            return this;
        }

        public Builder forward(Forward f) {
            forwards.add(f);
            return this;
        }

        public Builder plainCircuits(boolean plain) {
            plainCircuits = plain;
            return this;
        }

        /** @throws IllegalArgumentException for duplicate service names or listen addresses */
        public AgentConfig build() {
            return new AgentConfig(relay, fleetCas, peers, exposes, forwards, plainCircuits, direct);
        }
    }

    // ------------------------------------------------------------------ YAML

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
     * Parses YAML text ({@link AgentConfigYaml}: every key declared once and read through the shared
     * {@link dev.burrow.protocol.config.ConfigReader}). Relative paths are resolved against {@code baseDir}.
     *
     * @throws IllegalArgumentException naming the key at fault
     */
    public static AgentConfig parse(String yaml, Path baseDir) {
        return AgentConfigYaml.parse(yaml, baseDir);
    }

    /** The one duration grammar ({@link Durations#parseOrOff}); {@code 0} or {@code off} disables. */
    public static Duration parseDuration(String text) {
        return Durations.parseOrOff(text);
    }
}
