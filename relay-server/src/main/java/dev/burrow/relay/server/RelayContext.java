package dev.burrow.relay.server;

import dev.burrow.relay.server.auth.ClientAuthenticator;
import dev.burrow.relay.server.circuit.CircuitManager;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.net.ConnectionGate;
import dev.burrow.relay.server.net.EnrolmentEndpoint;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The state every connection handler of one relay shares. Internal to the relay (public only
 * because handlers live in sibling packages).
 */
public final class RelayContext {
    private final RelayConfig config;
    private final RelayMetrics metrics;
    private final ClientRegistry registry;
    private final ClientAuthenticator authenticator;
    private final ConnectionGate gate;
    private final CircuitManager circuits;
    private final EnrolmentEndpoint enrolment;
    private final AtomicLong queuedDatagrams = new AtomicLong();
    private volatile boolean draining;
    private volatile ClientRateLimit rateLimit;
    private volatile dev.burrow.relay.server.ingress.IngressManager ingress;
    private volatile dev.burrow.relay.server.forward.MeshRouter meshRouter = dev.burrow.relay.server.forward.MeshRouter.NONE;
    private volatile MeshEndpoint meshEndpoint = MeshEndpoint.DISABLED;

    /** Takes mesh connections ({@code Upgrade: burrow-mesh-v1}) on the public listener. */
    public interface MeshEndpoint {
        /** False when meshing is off: the upgrade is refused (and counted). */
        boolean enabled();

        /** Installs the mesh handlers after {@code after} in a switched pipeline; event loop only. */
        void install(io.netty.channel.ChannelPipeline pipeline, String after);

        MeshEndpoint DISABLED = new MeshEndpoint() {
            @Override
            public boolean enabled() {
                return false;
            }

            @Override
            public void install(io.netty.channel.ChannelPipeline pipeline, String after) {
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

    public RelayContext(RelayConfig config, RelayMetrics metrics, ClientRegistry registry, ClientAuthenticator authenticator,
            ConnectionGate gate, CircuitManager circuits, EnrolmentEndpoint enrolment) {
        this.config = config;
        this.metrics = metrics;
        this.registry = registry;
        this.authenticator = authenticator;
        this.gate = gate;
        this.circuits = circuits;
        this.enrolment = enrolment;
        this.ingress = dev.burrow.relay.server.ingress.IngressManager.disabled(metrics);
        this.rateLimit = new ClientRateLimit(config.limits().clientBytesPerSecond(),
                Math.max(config.limits().clientBurstBytes(), RelayDefaults.MIN_CLIENT_BURST_BYTES));
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

    /** Public ingress (a disabled manager when ingress is off). */
    public dev.burrow.relay.server.ingress.IngressManager ingress() {
        return ingress;
    }

    void ingress(dev.burrow.relay.server.ingress.IngressManager i) {
        this.ingress = i;
    }

    public dev.burrow.relay.server.forward.MeshRouter meshRouter() {
        return meshRouter;
    }

    public MeshEndpoint meshEndpoint() {
        return meshEndpoint;
    }

    /** Wires the mesh in (once, at start). */
    public void mesh(dev.burrow.relay.server.forward.MeshRouter router, MeshEndpoint endpoint) {
        this.meshRouter = router;
        this.meshEndpoint = endpoint;
    }

    public boolean draining() {
        return draining;
    }

    void startDraining() {
        draining = true;
    }

    public ClientRateLimit rateLimit() {
        return rateLimit;
    }

    void rateLimit(ClientRateLimit limit) {
        this.rateLimit = limit;
    }

    public void addQueued(int delta) {
        queuedDatagrams.addAndGet(delta);
    }

    public long queuedDatagrams() {
        return queuedDatagrams.get();
    }
}
