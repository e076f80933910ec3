package dev.burrow.agent;

import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.direct.DirectAgentSupport;
import dev.burrow.agent.direct.DirectManager;
import dev.burrow.agent.direct.DirectPathSelector;
import dev.burrow.agent.direct.PeerWarmer;
import dev.burrow.agent.forward.ForwardListener;
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
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.session.DirectSessions;
import dev.burrow.agent.session.RelaySessions;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.udp.DirectUdpPath;
import dev.burrow.agent.udp.MicrometerUdpMetrics;
import dev.burrow.agent.udp.RelayUdpPath;
import dev.burrow.agent.udp.UdpEngine;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
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
    private final AgentForwards forwards;

    // Any thread (volatile): read without the lock (status, the direct path's peer filter); written
    // by reload under this lock, by configError(), and by relay callbacks (lastRelayError).
    private volatile Set<NodeKey> forwardPeers = Set.of();
    private volatile AgentConfig config;
    private volatile String lastRelayError;
    private volatile String configError;

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
        this.forwards = new AgentForwards(
                (spec, f) -> new ForwardListener(
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
                        names),
                names,
                relay,
                udp);
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
        AgentForwards.Applied applied = forwards.apply(c);
        forwardPeers = Set.copyOf(applied.peers());
        if (warmer != null) { // direct paths to the forwards' peers start now, not with their first connection
            warmer.setTargets(applied.peers(), applied.peerNames());
        }
        if (applied.failure() != null) {
            throw applied.failure();
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
        log.info("configuration reloaded: {} services, {} forwards", services.size(), forwards.count());
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
        return forwards.addresses();
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
        return forwards.notListening();
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
        List<AgentStatus.ForwardStatus> fws = AgentStatusParts.forwards(forwards.tcpListeners(), relayPath.name());
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
        forwards.close();
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
