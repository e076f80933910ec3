package dev.burrow.relay.server.net;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.relay.server.auth.ClientAuthenticator;
import dev.burrow.relay.server.circuit.CircuitManager;
import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayDefaults;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.forward.MeshRouter;
import dev.burrow.relay.server.forward.PeerWatchers;
import dev.burrow.relay.server.ingress.PublicIngress;
import dev.burrow.relay.server.metrics.RelayMetrics;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The parts of one relay that every connection handler shares, built once, in order, by
 * {@link Builder}: registry, connection gate, public ingress, circuits, then the mesh (which needs the
 * others). Internal to the relay (public only because handlers live in sibling packages).
 *
 * <p>The mesh is built last, from the finished context; the parts built before it (the registry's
 * presence and names, the gate's sibling exemption, the circuits' cross-relay path, the router) reach
 * it through small interfaces that read the final {@link #mesh} field when called, so no part needs a
 * setter and none imports the mesh.
 */
public final class RelayContext {
    // Final after construction: the relay's parts.
    private final RelayConfig config;
    private final RelayMetrics metrics;
    private final ClientAuthenticator authenticator;
    private final EnrolmentEndpoint enrolment;
    private final ClientRegistry registry;
    private final ConnectionGate gate;
    private final PublicIngress ingress;
    private final CircuitManager circuits;
    private final RelayMesh mesh;

    // Read and written from any thread.
    private final AtomicLong queuedDatagrams = new AtomicLong();
    private volatile boolean draining;
    /** Replaced as a whole on reload. */
    private volatile ClientRateLimit rateLimit;

    /** Takes mesh connections ({@code Upgrade: burrow-mesh-v1}) on the public listener. */
    public interface MeshEndpoint {
        /** False when meshing is off: the upgrade is refused (and counted). */
        boolean enabled();

        /**
         * Installs the mesh handlers after {@code after} in a switched pipeline; event loop only.
         *
         * @param plain the connection skipped the relay's TLS (plain circuits are on): only a pooled
         *     circuit connection may use it
         */
        void install(ChannelPipeline pipeline, String after, boolean plain);

        MeshEndpoint DISABLED = new MeshEndpoint() {
            @Override
            public boolean enabled() {
                return false;
            }

            @Override
            public void install(ChannelPipeline pipeline, String after, boolean plain) {
                throw new IllegalStateException("mesh disabled");
            }
        };
    }

    /** Per-client read rate; {@code bytesPerSecond == 0} = unlimited. Replaced as a whole on reload. */
    public record ClientRateLimit(long bytesPerSecond, long burstBytes) {
        public boolean enabled() {
            return bytesPerSecond > 0;
        }
    }

    public static Builder builder(RelayConfig config, RelayMetrics metrics, ClientAuthenticator authenticator) {
        return new Builder(config, metrics, authenticator);
    }

    /** Collects what the relay's parts are built from; {@link #build()} builds them in order. */
    public static final class Builder {
        private final RelayConfig config;
        private final RelayMetrics metrics;
        private final ClientAuthenticator authenticator;
        private EnrolmentEndpoint enrolment = EnrolmentEndpoint.DISABLED;
        private PeerWatchers watchers;
        private ClientRegistry.NameHolders nameHolders = ClientRegistry.NameHolders.NONE;
        private Function<RelayContext, PublicIngress> ingress;
        private RelayMesh.Factory mesh = rc -> RelayMesh.NONE;

        private Builder(RelayConfig config, RelayMetrics metrics, ClientAuthenticator authenticator) {
            this.config = Objects.requireNonNull(config);
            this.metrics = Objects.requireNonNull(metrics);
            this.authenticator = Objects.requireNonNull(authenticator);
        }

        public Builder enrolment(EnrolmentEndpoint e) {
            this.enrolment = Objects.requireNonNull(e);
            return this;
        }

        /** Replaces the default notice table ({@link RelayDefaults#WATCHED_PEERS} and friends). */
        public Builder watchers(PeerWatchers w) {
            this.watchers = w;
            return this;
        }

        /** The fleet CA's name record (a relay with the CA directory); default: none. */
        public Builder nameHolders(ClientRegistry.NameHolders record) {
            this.nameHolders = record == null ? ClientRegistry.NameHolders.NONE : record;
            return this;
        }

        /** Builds public ingress (it reads the context's draining state); default: disabled. */
        public Builder ingress(Function<RelayContext, PublicIngress> factory) {
            this.ingress = factory;
            return this;
        }

        /** Builds the mesh from the finished context; default: no mesh. */
        public Builder mesh(RelayMesh.Factory factory) {
            this.mesh = Objects.requireNonNull(factory);
            return this;
        }

        public RelayContext build() {
            return new RelayContext(this);
        }
    }

    private RelayContext(Builder b) {
        this.config = b.config;
        this.metrics = b.metrics;
        this.authenticator = b.authenticator;
        this.enrolment = b.enrolment;
        this.rateLimit = new ClientRateLimit(
                config.limits().clientBytesPerSecond(),
                Math.max(config.limits().clientBurstBytes(), RelayDefaults.MIN_CLIENT_BURST_BYTES));
        PeerWatchers watchers = b.watchers != null
                ? b.watchers
                : new PeerWatchers(
                        RelayDefaults.WATCHED_PEERS, RelayDefaults.WATCHERS_PER_PEER, RelayDefaults.WATCH_TTL);
        this.registry = new ClientRegistry(
                watchers, metrics, new MeshPresence(), name -> mesh().names().lookupName(name), b.nameHolders);
        this.gate = new ConnectionGate(
                config.limits().ipConnectRate(),
                config.limits().ipConnectBurst(),
                RelayDefaults.IP_LIMITER_ENTRIES,
                config.limits().maxHandshakes(),
                config.limits().maxHandshakesPerSource(),
                metrics,
                ip -> mesh().isSibling(ip));
        this.ingress = b.ingress != null ? b.ingress.apply(this) : PublicIngress.disabled(metrics);
        this.circuits = new CircuitManager(
                registry,
                config.limits(),
                config.timeouts().circuitToken(),
                config.timeouts().circuitIdle(),
                metrics,
                this::draining,
                new MeshCircuitsLate(),
                ingress);
        RelayMesh m = b.mesh.create(this);
        this.mesh = m == null ? RelayMesh.NONE : m;
    }

    /** The registry's presence events, handed to the mesh (built after the registry). */
    private final class MeshPresence implements ClientRegistry.PresenceListener {
        @Override
        public void present(NodeKey key) {
            mesh().presence().present(key);
        }

        @Override
        public void gone(NodeKey key) {
            mesh().presence().gone(key);
        }

        @Override
        public void renamed(NodeKey key) {
            mesh().presence().renamed(key);
        }
    }

    /** The circuits' cross-relay path, handed to the mesh (built after the circuits). */
    private final class MeshCircuitsLate implements MeshCircuits {
        @Override
        public boolean request(ClientSession dialer, ClientFrame.CircuitRequest req) {
            return mesh().circuits().request(dialer, req);
        }

        @Override
        public boolean attach(Channel ch, ClientFrame.CircuitAttach a) {
            return mesh().circuits().attach(ch, a);
        }
    }

    /** The STUN port told to clients in SERVER_ACCEPT: -1 not known yet (not sent), 0 none, else the bound UDP port. */
    private volatile int advertisedStunPort = -1;

    public void advertiseStunPort(int port) {
        advertisedStunPort = port;
    }

    public int advertisedStunPort() {
        return advertisedStunPort;
    }

    public RelayConfig config() {
        return config;
    }

    public RelayMetrics metrics() {
        return metrics;
    }

    public ClientRegistry registry() {
        return registry;
    }

    public ClientAuthenticator authenticator() {
        return authenticator;
    }

    public ConnectionGate gate() {
        return gate;
    }

    public CircuitManager circuits() {
        return circuits;
    }

    public EnrolmentEndpoint enrolment() {
        return enrolment;
    }

    /** Public ingress (a disabled one when ingress is off). */
    public PublicIngress ingress() {
        return ingress;
    }

    /** The mesh ({@link RelayMesh#NONE} when meshing is off). */
    public RelayMesh mesh() {
        return mesh;
    }

    public MeshRouter meshRouter() {
        return mesh.router();
    }

    public MeshEndpoint meshEndpoint() {
        return mesh.endpoint();
    }

    public boolean draining() {
        return draining;
    }

    public void startDraining() {
        draining = true;
    }

    public ClientRateLimit rateLimit() {
        return rateLimit;
    }

    public void rateLimit(ClientRateLimit limit) {
        this.rateLimit = limit;
    }

    public void addQueued(int delta) {
        queuedDatagrams.addAndGet(delta);
    }

    public long queuedDatagrams() {
        return queuedDatagrams.get();
    }
}
