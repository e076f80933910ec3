package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayDefaults;
import dev.burrow.relay.server.config.RelayKeys;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.MeshRouter;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.RelayContext;
import dev.burrow.relay.server.net.RelayMesh;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay mesh: links to every sibling relay, presence, and one-hop forwarding. A small facade over
 * its parts, one per state machine:
 *
 * <ul>
 *   <li>{@link MeshPeers}: peers and links (discovery, dialling with backoff, accepting, first sync),
 *       dialling through {@link MeshConnections};
 *   <li>{@link MeshKeyring}: the mesh key and its rotation (links that proved a dropped key are cut);
 *   <li>{@link MeshPresence}: presence and certified names, sent over accepted links and learned over
 *       dialled ones (the routes);
 *   <li>{@link MeshForwarding}: datagrams and cross-relay circuits over those routes.
 * </ul>
 *
 * <p>Links and handshakes talk to the mesh through {@link MeshNode}, which this class implements by
 * handing each event to the part that owns it.
 */
public final class MeshManager implements MeshNode, RelayMesh, RelayContext.MeshEndpoint {
    private static final Logger log = LoggerFactory.getLogger(MeshManager.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * How long readiness waits for the first mesh sync (every listed sibling dialled once: linked,
     * refused or unreachable). Bounded so that a broken DNS or a partitioned sibling never keeps a
     * relay out of service; long enough for dialling a cluster's siblings.
     */
    public static final Duration FIRST_SYNC_WAIT = Duration.ofSeconds(10);

    /** Resolves a peer name to every address it has (every A/AAAA record). Tests replace it. */
    public interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;

        Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));
    }

    // Final after construction (the parts hold their own state).
    private final byte[] instanceId = new byte[MeshProtocol.INSTANCE_ID_LENGTH];
    private final RelayConfig config;
    private final String relayId;
    private final RelayMetrics metrics;
    private final MeshKeyring keyring;
    private final MeshPresence presence;
    private final MeshPeers peers;
    private final MeshForwarding forwarding;
    private final RelayContext rc;

    private MeshManager(
            RelayContext rc,
            MeshKey key,
            EventLoopGroup group,
            Class<? extends SocketChannel> channelClass,
            boolean tls,
            Resolver resolver)
            throws SSLException {
        this.config = rc.config();
        RelayConfig.Mesh mesh = config.mesh();
        RANDOM.nextBytes(instanceId);
        this.relayId = config.relayId();
        this.metrics = rc.metrics();
        EventLoop loop = group.next();
        this.keyring = new MeshKeyring(key, mesh.keyFile(), metrics, this::cutLinksNoLongerAccepted);
        this.presence = new MeshPresence(rc.registry(), metrics);
        MeshConnections connections = new MeshConnections(
                this,
                loop,
                channelClass,
                RelayDefaults.WATER_MARK,
                config.timeouts().handshake(),
                tls);
        this.peers = new MeshPeers(
                this,
                connections,
                presence,
                keyring,
                metrics,
                mesh.peers(),
                defaultPort(config),
                resolver,
                this::circuitAcceptor,
                loop);
        this.rc = rc;
        this.forwarding = new MeshForwarding(
                this,
                presence,
                connections,
                rc.registry(),
                rc.circuits(),
                metrics,
                loop,
                config.limits().pendingCircuitsPerClient(),
                config.timeouts().circuitToken(),
                mesh.circuitTls(),
                MeshCircuitPool.IDLE_PER_SIBLING);
    }

    /** The handler of an accepted circuit connection, after its handshake. */
    private ChannelHandler circuitAcceptor(MeshProtocol.Purpose purpose, MeshHandshake.Hellos hellos) {
        return new MeshCircuitEnds.Acceptor(rc, this, forwarding, purpose, hellos, forwarding.waitingPooled());
    }

    /**
     * Builds the mesh when {@code mesh.peers} is set (it dials nothing before {@link #start()}). A
     * missing or malformed key disables meshing with an error in the log (and mesh connections are
     * refused): never an unauthenticated mesh.
     *
     * @return the mesh, or null when meshing is off
     */
    public static MeshManager create(
            RelayContext rc,
            EventLoopGroup group,
            Class<? extends SocketChannel> channelClass,
            boolean tls,
            Resolver resolver) {
        RelayConfig.Mesh cfg = rc.config().mesh();
        if (!cfg.configured()) {
            return null;
        }
        if (cfg.keyFile() == null) {
            log.atError()
                    .addKeyValue("event", "mesh_disabled")
                    .log(
                            "mesh.peers is set but mesh.key-file is not: meshing is OFF (an unauthenticated mesh is never used). Set mesh.key-file (env {}) to a file of 64 hex characters.",
                            RelayKeys.MESH_KEY_FILE.env());
            return null;
        }
        MeshKey key;
        try {
            key = MeshKey.read(cfg.keyFile());
        } catch (MeshKey.MeshKeyException e) {
            log.atError()
                    .addKeyValue("event", "mesh_disabled")
                    .log("unusable mesh key: {}; meshing is OFF", e.getMessage());
            return null;
        }
        MeshManager m;
        try {
            m = new MeshManager(rc, key, group, channelClass, tls, resolver);
        } catch (SSLException e) {
            log.atError()
                    .addKeyValue("event", "mesh_disabled")
                    .log("cannot build the mesh TLS client: {}", e.getMessage());
            return null;
        }
        rc.metrics().bindMeshGauges(m, MeshManager::linkCount, MeshManager::routeCount, MeshManager::meshNameCount);
        return m;
    }

    /** Starts resolving the peer names and dialling siblings (once the public listener is bound). */
    @Override
    public void start() {
        RelayConfig.Mesh cfg = config.mesh();
        // The key file is also looked at without handshakes, so that removing a key cuts links soon.
        peers.start(cfg.resolveInterval(), this::key, MeshKeyring.KEY_CHECK_NANOS);
        log.atInfo()
                .addKeyValue("event", "mesh_started")
                .addKeyValue("peers", cfg.peers())
                .addKeyValue("port", defaultPort(config))
                .addKeyValue("resolve_interval_ms", cfg.resolveInterval().toMillis())
                .log("mesh started");
    }

    private static int defaultPort(RelayConfig config) {
        return config.mesh().port() > 0 ? config.mesh().port() : config.listen().getPort();
    }

    // ---------------------------------------------------------------- MeshNode: handshakes and links

    @Override
    public byte[] instanceId() {
        return instanceId.clone();
    }

    @Override
    public String relayId() {
        return relayId;
    }

    /** The mesh key, read again when its file changed (see {@link MeshKeyring}). */
    @Override
    public MeshKey key() {
        return keyring.key();
    }

    @Override
    public RelayMetrics metrics() {
        return metrics;
    }

    private void cutLinksNoLongerAccepted(MeshKey current) {
        forwarding.keyReloaded(); // pooled circuit connections proved the old key set: replaced
        List<MeshLink> links = new ArrayList<>(peers.outboundLinks());
        links.addAll(presence.inboundLinks());
        keyring.cutLinksNoLongerAccepted(links, current);
    }

    @Override
    public void routesAdded(MeshLink link, Collection<NodeKey> keys) {
        presence.routesAdded(link, keys);
    }

    @Override
    public void routesRemoved(MeshLink link, Collection<NodeKey> keys) {
        presence.routesRemoved(link, keys);
    }

    @Override
    public void namesAnnounced(MeshLink link, List<MeshFrame.Named> entries) {
        presence.namesAnnounced(link, entries);
    }

    @Override
    public void circuitAccepted(MeshLink link, MeshFrame.CircuitAccepted a) {
        forwarding.circuitAccepted(link, a);
    }

    @Override
    public void circuitRejected(MeshLink link, MeshFrame.CircuitRejected r) {
        forwarding.circuitRejected(link, r);
    }

    @Override
    public void deliver(MeshFrame.Datagram d) {
        forwarding.deliver(d);
    }

    @Override
    public void circuitRequested(MeshLink link, MeshFrame.CircuitRequest r) {
        forwarding.circuitRequested(link, r);
    }

    @Override
    public void linkUp(MeshLink link) {
        forwarding.linkUp(link);
    }

    @Override
    public void linkDown(MeshLink link) {
        metrics.meshEvent(MeshEvent.LINK_DOWN);
        log.atInfo()
                .addKeyValue("event", "mesh_link_down")
                .addKeyValue("direction", link.outbound ? "outbound" : "inbound")
                .addKeyValue("peer_relay", link.peerRelayId)
                .addKeyValue("routes_dropped", link.learned.size())
                .log("mesh link down");
        peers.linkDown(link);
        presence.linkDown(link);
        forwarding.linkDown(link);
    }

    // ---------------------------------------------------------------- RelayMesh: what the relay's parts see

    @Override
    public MeshRouter router() {
        return forwarding;
    }

    @Override
    public RelayContext.MeshEndpoint endpoint() {
        return this;
    }

    @Override
    public MeshCircuits circuits() {
        return forwarding;
    }

    @Override
    public ClientRegistry.PresenceListener presence() {
        return presence;
    }

    @Override
    public ClientRegistry.RemoteNames names() {
        return this::lookupName;
    }

    @Override
    public boolean isSibling(InetAddress ip) {
        return peers.isSibling(ip);
    }

    // ---------------------------------------------------------------- RelayContext.MeshEndpoint: accepting

    @Override
    public boolean enabled() {
        return true;
    }

    @Override
    public void install(ChannelPipeline p, String after, boolean plain) {
        peers.install(p, after, plain);
    }

    // ---------------------------------------------------------------- state, for readiness, metrics and tests

    /**
     * True once this relay dialled every listed sibling once (so it learned the presence of those it
     * reached), or {@link #FIRST_SYNC_WAIT} after the mesh started, whichever comes first. Readiness
     * waits for it, so a new pod does not take agents before it knows where the fleet's nodes are.
     */
    @Override
    public boolean synced() {
        return peers.synced(FIRST_SYNC_WAIT);
    }

    /** Authenticated links this relay dialled. */
    public int linkCount() {
        return peers.linkCount();
    }

    /** Authenticated links siblings dialled to this relay (this relay sends its presence over them). */
    public int inboundLinkCount() {
        return presence.inboundLinkCount();
    }

    /** Nodes reachable through siblings. */
    public int routeCount() {
        return presence.routeCount();
    }

    /** True when a sibling announced {@code key}. */
    public boolean hasRoute(NodeKey k) {
        return presence.hasRoute(k);
    }

    /**
     * Keys that siblings announced with {@code name} (their relay verified it in a CA-issued
     * certificate), distinct, at most {@link dev.burrow.protocol.frame.FrameLimits#MAX_NAME_RESULT_KEYS}.
     */
    public List<NodeKey> lookupName(String name) {
        return presence.lookupName(name);
    }

    /** Distinct names known through siblings. */
    public int meshNameCount() {
        return presence.nameCount();
    }

    /** Successful reloads of the key file since start; for tests. */
    long keyReloads() {
        return keyring.reloads();
    }

    /** Replaces the redial backoff bounds; for tests of a sibling that starts after a long backoff. */
    void backoffForTests(Duration min, Duration max) {
        peers.backoff(min, max);
    }

    /** Failed dials in a row to {@code address} (0 when linked or unknown); for tests. */
    int dialFailures(InetSocketAddress address) throws Exception {
        return peers.dialFailures(address);
    }

    /** Breaks every link this relay dialled (they are redialled with backoff); for tests of link loss. */
    void breakOutboundLinks() {
        peers.breakOutboundLinks();
    }

    /** Idle pooled circuit connections to {@code sibling}; for tests. */
    int pooledIdle(InetSocketAddress sibling) throws Exception {
        return forwarding.pool().idleCount(sibling);
    }

    /** The circuit connection pool's mode for {@code sibling} (null: no pool); for tests. */
    MeshCircuitPool.Mode poolMode(InetSocketAddress sibling) throws Exception {
        return forwarding.pool().mode(sibling);
    }

    /** Empties the circuit connection pools and stops refilling them (false: refill again); for tests. */
    void exhaustPoolsForTests(boolean exhausted) throws Exception {
        forwarding.pool().exhaustForTests(exhausted);
    }

    /** Puts the circuit connection pool for {@code sibling} in {@code mode}; for tests. */
    void forcePoolModeForTests(InetSocketAddress sibling, MeshCircuitPool.Mode mode) throws Exception {
        forwarding.pool().forceModeForTests(sibling, mode);
    }

    /** Pooled circuit connections siblings opened here that wait for their bind; for tests. */
    java.util.Set<io.netty.channel.Channel> acceptedPooled() {
        return java.util.Set.copyOf(forwarding.waitingPooled());
    }

    @Override
    public void close() {
        forwarding.close();
        peers.close();
    }
}
