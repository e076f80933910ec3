package dev.burrow.agent;

import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.direct.DirectAgentSupport;
import dev.burrow.agent.direct.DirectManager;
import dev.burrow.agent.direct.DirectPathSelector;
import dev.burrow.agent.direct.PeerWarmer;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.forward.PeerNameResolver;
import dev.burrow.agent.forward.PeerStreamDialer;
import dev.burrow.agent.ingress.IngressGate;
import dev.burrow.agent.ingress.IngressPublisher;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.MicrometerAgentMetrics;
import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.path.RelayCircuitPath;
import dev.burrow.agent.relay.ConnectMode;
import dev.burrow.agent.relay.HomeRelayPolicy;
import dev.burrow.agent.relay.HomeRelaySelector;
import dev.burrow.agent.relay.RelayCandidate;
import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientConfig;
import dev.burrow.agent.relay.RelayClientListener;
import dev.burrow.agent.relay.RelayClientMetrics;
import dev.burrow.agent.relay.RelayClientStats;
import dev.burrow.agent.relay.RelayConnectionInfo;
import dev.burrow.agent.relay.RelayConnectionState;
import dev.burrow.agent.relay.RelayDeniedException;
import dev.burrow.agent.relay.RelayTrust;
import dev.burrow.agent.relay.TlsRelayProber;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.InboundStreamGate;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.session.DirectSessions;
import dev.burrow.agent.session.RelaySessions;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.udp.DirectUdpPath;
import dev.burrow.agent.udp.MicrometerUdpMetrics;
import dev.burrow.agent.udp.RelayUdpPath;
import dev.burrow.agent.udp.UdpEngine;
import dev.burrow.agent.udp.UdpForwarder;
import dev.burrow.agent.udp.UdpLimits;
import dev.burrow.agent.udp.UdpMetrics;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent: one relay connection, the services it exposes (through the {@link InboundStreamGate})
 * and the forwards it runs (through {@link ForwardListener}s), reloadable as a whole.
 *
 * <pre>{@code
 * Agent agent = Agent.start(config, NodeIdentity.loadOrCreate(stateDir), transport);
 * agent.status();       // what status shows
 * agent.reload(newer);  // services swap at once; forwards are diffed
 * agent.close();
 * }</pre>
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    // Final after construction: the agent's parts (each thread-safe).
    private final NodeIdentity identity;
    private final Transport transport;
    private final EventLoopGroup group;
    private final RelayClient relay;
    /** Picks the home relay among several; null with a single relay. */
    private final HomeRelaySelector homeRelay;

    private final RelayCircuitPath relayPath;
    private final PathSelector paths;
    private final DirectPathSelector directPaths;
    private final ServiceRegistry registry = new ServiceRegistry();
    private final ActiveStreams active = new ActiveStreams();
    private final RecentRefusals refusals = new RecentRefusals();
    private final WhoisTable whois;
    private final AgentMetrics metrics;
    private final NodeVerifier verifier;
    private final PeerStreamDialer dialer;
    private final IngressPublisher publisher;
    /** Resolves forwards by name through the relay; null without a fleet CA (names are then refused at config time). */
    private final PeerNameResolver names;
    /** Keeps a direct path ready to the peers the forwards name; null without direct paths. */
    private final PeerWarmer warmer;

    private final ScheduledFuture<?> warmerTicks;
    /** Relay sessions (one circuit per peer for many streams); null unless switched on. */
    private final RelaySessions sessions;
    /** Sessions on TCP connections straight to peers that are reachable over TCP; null without direct paths. */
    private final DirectSessions directSessions;
    /** UDP services and forwards (both ends), sealed end to end, over the relay. */
    private final UdpEngine udp;

    // Guarded by this lock (reload, status, close).
    private final Map<ForwardKey, ForwardListener> forwards = new LinkedHashMap<>();
    private final Map<ForwardKey, UdpForwarder> udpForwards = new LinkedHashMap<>();

    // Any thread (volatile): read without the lock (status, the direct path's peer filter); written
    // by reload under this lock, by configError(), and by relay callbacks (lastRelayError).
    private volatile Set<NodeKey> forwardPeers = Set.of();
    private volatile AgentConfig config;
    private volatile String lastRelayError;
    private volatile String configError;

    /** {@code peer} for a forward by key, {@code peerName} for one by name (the other is null). */
    private record ForwardKey(
            String host, int port, NodeKey peer, String peerName, String service, ServiceProtocol protocol) {}

    private Agent(AgentConfig config, NodeIdentity identity, Transport transport, AgentMetrics metrics)
            throws IOException {
        this.config = config;
        this.identity = identity;
        this.transport = transport;
        this.metrics = metrics;
        this.whois = new WhoisTable(metrics::whoisOverflow);
        if (config.relay() == null || config.relay().url() == null) {
            throw new IllegalArgumentException("no relay: set relay.url in the configuration or pass --relay URL");
        }
        this.verifier = AgentSetup.buildVerifier(config);
        this.group = transport.newEventLoopGroup(0, new DefaultThreadFactory("burrow-agent", true));
        RelayClientConfig.Builder rcb = RelayClientConfig.builder(
                        config.relay().url(), relayTrust(config.relay()), identity)
                .acceptsCircuits(true)
                .mode(ConnectMode.parse(config.relay().mode()))
                .plainCircuits(config.plainCircuits())
                .transport(transport);
        if (config.relay().fleet()) {
            // Every relay shares the trust settings: the prober checks each one's certificate as a connection would.
            TlsRelayProber prober = new TlsRelayProber(
                    group.next(),
                    transport.socketChannel(),
                    relayTrust(config.relay()).sslContext(),
                    HomeRelaySelector.DEFAULT_PROBE_TIMEOUT);
            this.homeRelay = new HomeRelaySelector(
                    config.relay().candidates(),
                    HomeRelayPolicy.Settings.DEFAULTS,
                    prober,
                    metrics::relaySwitched,
                    AgentSetup.probeInterval(),
                    HomeRelaySelector.DEFAULT_INITIAL_WAIT,
                    System::nanoTime);
            rcb.relaySelector(homeRelay);
        } else {
            this.homeRelay = null;
        }
        this.relay = new RelayClient(rcb.build(), RelayClientMetrics.NOOP, group);
        this.relayPath = new RelayCircuitPath(relay);
        this.sessions = RelaySessions.enabled() ? new RelaySessions(relayPath, identity, verifier, metrics) : null;
        this.directPaths = new DirectPathSelector(
                sessions == null ? relayPath : sessions.path()); // direct (QUIC) when verified, else the relay
        this.paths = directPaths;
        this.dialer = new PeerStreamDialer(identity, verifier);
        this.names = config.fleetCas().isEmpty() ? null : new PeerNameResolver(relay::lookupName);
        InboundStreamGate gate =
                new InboundStreamGate(identity, verifier, registry, transport, metrics, active, refusals, whois);
        relayPath.acceptInto(gate);
        if (sessions != null) {
            sessions.admitOnly(this::admittedSomewhere);
            sessions.start(gate, () -> forwardPeers, group.next());
        }
        relayPath.ingressInto(new IngressGate(registry, transport, metrics, active, refusals, identity.nodeKey()));
        this.publisher = new IngressPublisher(relay, registry::all);
        relay.addListener(publisher);
        directPaths.attach(DirectAgentSupport.start(
                identity,
                verifier,
                group,
                transport,
                relay,
                () -> relay.connection()
                        .map(RelayConnectionInfo::relayUrl)
                        .orElse(config.relay().url()),
                gate,
                registry,
                () -> forwardPeers,
                config.direct().portMapping(),
                config.direct().stunServers(),
                () -> this.config.relay() == null
                        ? List.<URI>of()
                        : this.config.relay().candidates().stream()
                                .map(RelayCandidate::url)
                                .toList()));
        DirectManager direct = directPaths.manager();
        this.directSessions = direct == null
                ? null
                : DirectSessions.startFor(
                        direct,
                        identity,
                        verifier,
                        metrics,
                        group,
                        transport,
                        gate::accept,
                        this::admittedSomewhere,
                        k -> forwardPeers.contains(k));
        Duration[] udpIdle = UdpEngine.idleTimeouts(System.getenv(UdpEngine.IDLE_ENV));
        this.udp = new UdpEngine(
                identity,
                verifier,
                registry,
                whois,
                refusals,
                group.next(),
                transport,
                direct == null ? new RelayUdpPath(relay) : new DirectUdpPath(direct, new RelayUdpPath(relay)),
                metrics instanceof MicrometerAgentMetrics mm
                        ? new MicrometerUdpMetrics(mm.registry())
                        : UdpMetrics.NOOP,
                udpIdle[0],
                udpIdle[1]);
        // One handler for the relay's keyed datagrams: UDP-service packets, else disco (direct paths).
        relay.setDatagramHandler((source, payload) -> {
            if (!udp.receiveFromRelay(source, payload) && direct != null) {
                direct.receiveFromRelay(source, payload);
            }
        });
        if (direct != null) {
            direct.setDatagramHandler(udp::receiveDirect); // QUIC datagrams: UDP-service packets on the direct path
            this.warmer = new PeerWarmer(
                    RelaySessions.alsoWarm(direct::setWarm, sessions),
                    names == null ? null : names::resolve,
                    System::nanoTime);
            this.warmerTicks = group.next().scheduleAtFixedRate(warmer::tick, 1, 1, TimeUnit.SECONDS);
        } else {
            this.warmer = null;
            this.warmerTicks = null;
        }
        relay.addListener(new RelayClientListener() {
            @Override
            public void connected(RelayConnectionInfo info) {
                if (warmer != null) {
                    warmer.relayConnected();
                }
                lastRelayError = null;
                log.info("connected to relay {} ({}, {})", info.relayUrl(), info.relayId(), info.mode());
            }

            @Override
            public void disconnected(Throwable cause, Duration retryIn) {
                lastRelayError = String.valueOf(cause.getMessage() == null ? cause : cause.getMessage());
                log.warn("relay connection lost or failed: {}; retrying in {} ms", lastRelayError, retryIn.toMillis());
            }

            @Override
            public void denied(RelayDeniedException denial, Duration retryIn) {
                lastRelayError = denial.getMessage();
                log.warn("relay refused us: {}; retrying in {} s", denial.getMessage(), retryIn.toSeconds());
            }
        });
    }

    /**
     * Starts an agent: connects to the relay (in the background, retrying), exposes the services and
     * opens the forwards' local ports.
     *
     * @throws IllegalArgumentException when the configuration cannot be applied (unresolvable target, ...)
     * @throws IOException when a forward's port cannot be bound
     */
    public static Agent start(AgentConfig config, NodeIdentity identity, Transport transport) throws IOException {
        return start(config, identity, transport, AgentMetrics.NOOP);
    }

    public static Agent start(AgentConfig config, NodeIdentity identity, Transport transport, AgentMetrics metrics)
            throws IOException {
        return start(config, identity, transport, metrics, null);
    }

    /** As above, with {@code early} listening to the relay client before its first attempt (so it misses none). */
    public static Agent start(
            AgentConfig config,
            NodeIdentity identity,
            Transport transport,
            AgentMetrics metrics,
            RelayClientListener early)
            throws IOException {
        Agent a = new Agent(config, identity, AgentSetup.agentTransport(transport), metrics);
        if (early != null) {
            a.relay.addListener(early);
        }
        try {
            a.registry.replaceAll(AgentSetup.services(config));
            a.applyForwards(config);
            if (a.homeRelay != null) {
                a.homeRelay.start(a.relay); // measures the relays first (bounded), then starts the client
            } else {
                a.relay.start();
            }
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        return a;
    }

    /** How this agent trusts its relay: pinned fingerprint, CA file, or the system trust store. */
    public static RelayTrust relayTrust(AgentConfig.Relay r) {
        if (r.fingerprint() != null) {
            return RelayTrust.pinned(r.fingerprint());
        }
        if (r.caFile() != null) {
            return RelayTrust.caFile(r.caFile());
        }
        return RelayTrust.system();
    }

    private synchronized void applyForwards(AgentConfig c) throws IOException {
        Map<ForwardKey, AgentConfig.Forward> wanted = new LinkedHashMap<>();
        for (AgentConfig.Forward f : c.forwards()) {
            ForwardKey key = switch (c.peerRef(f.peer())) {
                case AgentConfig.PeerRef.Key k ->
                    new ForwardKey(f.listenHost(), f.listenPort(), k.key(), null, f.service(), f.protocol());
                case AgentConfig.PeerRef.Name n ->
                    new ForwardKey(f.listenHost(), f.listenPort(), null, n.name(), f.service(), f.protocol());
            };
            wanted.put(key, f);
        }
        for (var it = forwards.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!wanted.containsKey(e.getKey())) {
                log.info("forward {} removed", e.getValue().spec());
                e.getValue().close();
                it.remove();
            }
        }
        for (var it = udpForwards.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!wanted.containsKey(e.getKey())) {
                log.info("UDP forward {} removed", e.getKey());
                e.getValue().close();
                it.remove();
            }
        }
        IOException failure = null;
        for (var e : wanted.entrySet()) {
            if (forwards.containsKey(e.getKey()) || udpForwards.containsKey(e.getKey())) {
                continue;
            }
            AgentConfig.Forward f = e.getValue();
            if (f.protocol() == ServiceProtocol.UDP) {
                try {
                    startUdpForward(e.getKey(), f);
                } catch (IOException ex) {
                    failure = ex;
                }
                continue;
            }
            ForwardKey k = e.getKey();
            ForwardSpec spec =
                    new ForwardSpec(f.listenHost(), f.listenPort(), k.peer(), k.peerName(), f.peer(), f.service());
            ForwardListener l = new ForwardListener(
                    spec,
                    paths,
                    dialer,
                    group,
                    transport,
                    metrics,
                    active,
                    refusals,
                    f.idleTimeout(),
                    f.maxConnections(),
                    names);
            l.holdUntil(
                    new ForwardListener.Readiness() { // a connection a moment before the relay is reached waits
                        @Override
                        public boolean ready() {
                            return relay.state() == RelayConnectionState.CONNECTED;
                        }

                        @Override
                        public CompletableFuture<?> whenReady() {
                            return relay.whenConnected();
                        }
                    });
            try {
                l.start().get(10, TimeUnit.SECONDS);
                forwards.put(e.getKey(), l);
            } catch (Exception ex) {
                l.close();
                Throwable cause = ex instanceof ExecutionException && ex.getCause() != null ? ex.getCause() : ex;
                failure = cause instanceof IOException io ? io : new IOException(cause.getMessage(), cause);
            }
        }
        forwardPeers = Set.copyOf(wanted.keySet().stream()
                .map(ForwardKey::peer)
                .filter(Objects::nonNull)
                .toList());
        if (warmer != null) { // direct paths to the forwards' peers start now, not with their first connection
            warmer.setTargets(
                    wanted.keySet().stream()
                            .map(ForwardKey::peer)
                            .filter(Objects::nonNull)
                            .toList(),
                    wanted.keySet().stream()
                            .map(ForwardKey::peerName)
                            .filter(Objects::nonNull)
                            .toList());
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void startUdpForward(ForwardKey k, AgentConfig.Forward f) throws IOException {
        NodeKey key = k.peer();
        String name = k.peerName();
        UdpForwarder.Spec spec = new UdpForwarder.Spec(
                f.listenHost(),
                f.listenPort(),
                () -> key != null
                        ? CompletableFuture.completedFuture(key)
                        : names == null
                                ? CompletableFuture.failedFuture(new IOException("names need a fleet CA"))
                                : names.resolve(name),
                f.peer(),
                f.service(),
                f.maxConnections() > 0 ? f.maxConnections() : UdpLimits.DEFAULT_MAX_FLOWS_PER_FORWARD);
        try {
            udpForwards.put(k, udp.startForward(spec).get(10, TimeUnit.SECONDS));
        } catch (Exception ex) {
            Throwable cause = ex instanceof ExecutionException && ex.getCause() != null ? ex.getCause() : ex;
            throw new IOException(
                    "UDP forward on " + f.listenHost() + ":" + f.listenPort() + ": " + cause.getMessage(), cause);
        }
    }

    /**
     * Applies a new configuration: services are swapped at once (streams already admitted keep
     * running), forwards are diffed (unchanged ones keep their port and connections). A relay
     * change needs a restart and is reported, not applied.
     *
     * @throws IllegalArgumentException or IOException when it cannot be applied; the services then stay as they were
     */
    public synchronized void reload(AgentConfig next) throws IOException {
        AgentConfig current = config;
        if (next.relay() == null
                || !Objects.equals(next.relay().candidates(), current.relay().candidates())
                || !Objects.equals(next.relay().fingerprint(), current.relay().fingerprint())
                || !Objects.equals(next.relay().caFile(), current.relay().caFile())) {
            log.warn(
                    "relay settings changed: restart the agent to apply them (services and forwards are reloaded now)");
            next = next.withRelay(current.relay());
        }
        if (!next.fleetCas().equals(current.fleetCas())) {
            log.warn("fleet-ca changed: restart the agent to apply it");
        }
        if (next.plainCircuits() != current.plainCircuits()) {
            log.warn("tls.plain-circuits changed: restart the agent to apply it");
            next = next.withPlainCircuits(current.plainCircuits());
        }
        List<ExposedService> services = AgentSetup.services(next); // validates before anything changes
        registry.replaceAll(services);
        udp.servicesChanged();
        publisher.sync();
        config = next;
        applyForwards(next);
        configError = null;
        log.info("configuration reloaded: {} services, {} forwards", services.size(), forwards.size());
    }

    /** Records a configuration that could not be loaded (shown in status); the running one stays. */
    public void configError(String error) {
        configError = error;
    }

    public NodeIdentity identity() {
        return identity;
    }

    /** Who is behind each local connection this agent opened to an exposed service. */
    public WhoisTable whois() {
        return whois;
    }

    public RelayClient relayClient() {
        return relay;
    }

    public AgentConfig config() {
        return config;
    }

    /** The bound address of each forward, in configuration order. */
    public synchronized List<InetSocketAddress> forwardAddresses() {
        List<InetSocketAddress> out = new ArrayList<>(
                forwards.values().stream().map(ForwardListener::boundAddress).toList());
        udpForwards.values().forEach(u -> out.add(u.boundAddress()));
        return out;
    }

    /** Completes when the relay connection is up. */
    public CompletableFuture<RelayConnectionInfo> whenConnected() {
        return relay.whenConnected();
    }

    /** Ready: connected to the relay and every forward is listening. Null when ready, else why not. */
    public synchronized String readyProblem() {
        if (relay.state() != RelayConnectionState.CONNECTED) {
            return "relay " + relay.state().name().toLowerCase(Locale.ROOT)
                    + (lastRelayError == null ? "" : ": " + lastRelayError);
        }
        for (ForwardListener f : forwards.values()) {
            if (!f.isListening()) {
                return "forward " + f.spec() + " is not listening";
            }
        }
        for (UdpForwarder u : udpForwards.values()) {
            if (!u.isListening()) {
                return "UDP forward to " + u.spec().peerLabel() + "/" + u.spec().service() + " is not listening";
            }
        }
        return null;
    }

    public boolean isReady() {
        return readyProblem() == null;
    }

    public synchronized AgentStatus status() {
        RelayClientStats rs = relay.stats();
        Long rtt = rs.lastRtt() == null ? null : rs.lastRtt().toMillis();
        AgentStatus.RelayStatus relayStatus = AgentStatusParts.relay(
                rs, homeRelay, String.valueOf(config.relay().url()), lastRelayError);
        List<AgentStatus.ServiceStatus> services = AgentStatusParts.services(registry);
        List<AgentStatus.ForwardStatus> fws = AgentStatusParts.forwards(forwards.values(), relayPath.name());
        var open = active.snapshot();
        long fromPeers = active.endedBytesFromPeers();
        long toPeers = active.endedBytesToPeers();
        for (var e : open) {
            fromPeers += e.bytesFromPeer();
            toPeers += e.bytesToPeer();
        }
        List<AgentStatus.ConnectionStatus> conns = AgentStatusParts.connections(open);
        Map<NodeKey, AgentStatus.PeerStatus> peers = AgentStatusParts.peersOf(open, rtt);
        List<AgentStatus.RefusalStatus> refs = AgentStatusParts.refusals(refusals);
        String problem = readyProblem();
        List<AgentStatus.PublicStatus> pubs = publisher.publications().stream()
                .map(p -> new AgentStatus.PublicStatus(p.service(), p.state(), p.publicAddress(), p.problem()))
                .toList();
        return new AgentStatus(
                identity.nodeKey().nodeId(),
                identity.certificate().selfSigned()
                        ? null
                        : identity.certificate().name(),
                problem == null,
                problem,
                relayStatus,
                services,
                fws,
                AgentStatusParts.withDirectPaths(peers, directPaths.manager(), relayPath.name(), rtt),
                conns,
                refs,
                fromPeers,
                toPeers,
                configError,
                pubs,
                AgentStatusParts.direct(directPaths.manager()),
                udp.status());
    }

    /** A session (relay or direct TCP) is admitted only from a peer some exposed service's allow rules admit. */
    private boolean admittedSomewhere(dev.burrow.identity.VerifiedPeer p) {
        return registry.all().stream().anyMatch(s -> s.allow().admits(p));
    }

    @Override
    public synchronized void close() {
        for (ForwardListener f : forwards.values()) {
            try {
                f.close();
            } catch (RuntimeException e) {
                log.debug("closing forward: {}", e.toString());
            }
        }
        forwards.clear();
        udpForwards.clear();
        udp.close();
        if (sessions != null) {
            sessions.close();
        }
        if (directSessions != null) {
            directSessions.close();
        }
        if (warmerTicks != null) {
            warmerTicks.cancel(false);
        }
        active.closeAll();
        DirectManager direct = directPaths.manager();
        if (direct != null) {
            direct.close();
        }
        if (homeRelay != null) {
            homeRelay.close();
        }
        relay.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
