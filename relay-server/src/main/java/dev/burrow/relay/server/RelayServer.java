package dev.burrow.relay.server;

import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.tls.RelayTls;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.mesh.MeshManager;
import dev.burrow.relay.server.admin.AdminServer;
import dev.burrow.relay.server.auth.AdmissionFactory;
import dev.burrow.relay.server.auth.ClientAdmission;
import dev.burrow.relay.server.auth.ClientAuthenticator;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayDefaults;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.ingress.IngressManager;
import dev.burrow.relay.server.metrics.MicrometerRelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.net.EnrolmentEndpoint;
import dev.burrow.relay.server.net.RelayChannelInitializer;
import dev.burrow.relay.server.net.RelayContext;
import dev.burrow.stun.server.StunServer;
import dev.burrow.transport.Transport;
import dev.burrow.transport.TransportKind;
import dev.burrow.transport.TransportSelector;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Burrow relay: one public TLS listener (HTTP/1.1 Upgrade and WebSocket on the same port),
 * keyed datagram forwarding, relay circuits, and an admin port for health and metrics.
 *
 * <pre>{@code
 * RelayServer relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of("listen", "127.0.0.1:0", "tls.mode", "dev")))
 *         .build().start();
 * relay.address();          // bound public address (port 0 resolved)
 * relay.tlsFingerprint();   // sha256:... in dev mode
 * relay.drain(Duration.ofSeconds(5)).join();
 * relay.close();
 * }</pre>
 */
public final class RelayServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RelayServer.class);

    // Final after construction.
    private final RelayConfig config;
    private final Transport transport;
    private final RelayMetrics metrics;
    private final PrometheusMeterRegistry prometheus;
    /** JVM and process meters on the relay's own registry (null when the caller brought the metrics). */
    private final AutoCloseable runtimeMeters;

    private final ClientAdmission admissionOverride;
    private final NodeVerifier verifierOverride;
    private final EnrolmentEndpoint enrolment;
    private final ClientRegistry.NameHolders nameHolders;
    private final SslContext sslOverride;
    private final MeshManager.Resolver meshResolver;
    private final ChannelGroup allChannels = new DefaultChannelGroup("relay", GlobalEventExecutor.INSTANCE);
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();

    // Guarded by this (start and close are synchronized); read by getters once started.
    private MeshManager mesh;
    private RelayContext context;
    private EventLoopGroup bossGroup;
    private EventLoopGroup workerGroup;
    private Channel serverChannel;
    private AdminServer admin;
    private StunServer stun;
    private String fingerprint;
    private volatile boolean started;
    private volatile boolean closed;

    private RelayServer(Builder b) {
        this.config = b.config;
        this.transport = b.transport != null
                ? b.transport
                : new TransportSelector().selectFromEnvironment(TransportKind.parse(b.config.transport()));
        if (b.metrics != null) {
            this.metrics = b.metrics;
            this.prometheus = b.prometheus;
            this.runtimeMeters = null;
        } else {
            this.prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            this.metrics = new MicrometerRelayMetrics(prometheus);
            this.runtimeMeters = MicrometerRelayMetrics.bindRuntimeMetrics(prometheus);
        }
        this.admissionOverride = b.admission;
        this.verifierOverride = b.verifier;
        this.enrolment = b.enrolment == null ? EnrolmentEndpoint.DISABLED : b.enrolment;
        this.nameHolders = b.nameHolders;
        this.sslOverride = b.sslContext;
        this.meshResolver = b.meshResolver == null ? MeshManager.Resolver.SYSTEM : b.meshResolver;
    }

    public static Builder builder(RelayConfig config) {
        return new Builder(config);
    }

    /** Builds a relay; collaborators default to what the config says. */
    public static final class Builder {
        private final RelayConfig config;
        private Transport transport;
        private RelayMetrics metrics;
        private PrometheusMeterRegistry prometheus;
        private ClientAdmission admission;
        private NodeVerifier verifier;
        private EnrolmentEndpoint enrolment;
        private ClientRegistry.NameHolders nameHolders;
        private SslContext sslContext;
        private MeshManager.Resolver meshResolver;

        private Builder(RelayConfig config) {
            this.config = config;
        }

        public Builder transport(Transport t) {
            this.transport = t;
            return this;
        }

        /** Records into {@code m}; {@code scrapeOrNull} serves {@code /metrics} (else it is empty). */
        public Builder metrics(RelayMetrics m, PrometheusMeterRegistry scrapeOrNull) {
            this.metrics = m;
            this.prometheus = scrapeOrNull;
            return this;
        }

        /** Replaces the admission policy built from {@code config.auth()}. */
        public Builder admission(ClientAdmission a) {
            this.admission = a;
            return this;
        }

        /** Replaces the certificate verifier built from {@code config.auth()}. */
        public Builder verifier(NodeVerifier v) {
            this.verifier = v;
            return this;
        }

        public Builder enrolment(EnrolmentEndpoint e) {
            this.enrolment = e;
            return this;
        }

        /** The fleet CA's record of name holders: names resolve only to their recorded holder. */
        public Builder nameHolders(ClientRegistry.NameHolders record) {
            this.nameHolders = record;
            return this;
        }

        /** Replaces the TLS context built from {@code config.tls()}. */
        public Builder sslContext(SslContext ctx) {
            this.sslContext = ctx;
            return this;
        }

        /** Resolves mesh peer names (tests map names to loopback addresses); default: the system resolver. */
        public Builder meshResolver(MeshManager.Resolver r) {
            this.meshResolver = r;
            return this;
        }

        public RelayServer build() {
            return new RelayServer(this);
        }
    }

    /**
     * Reads TLS material and auth sources (failing with a clear message when one is unusable), binds
     * the listeners and returns once they accept connections.
     *
     * @throws IOException when TLS material cannot be read or a port cannot be bound
     * @throws AdmissionFactory.AuthConfigException when an auth source is set but unusable
     */
    public synchronized RelayServer start() throws IOException {
        if (started) {
            return this;
        }
        ClientAdmission admission =
                admissionOverride != null ? admissionOverride : AdmissionFactory.admission(config.auth());
        NodeVerifier verifier = verifierOverride != null ? verifierOverride : AdmissionFactory.verifier(config.auth());
        SslContext ssl = sslOverride != null ? sslOverride : sslContext();

        bossGroup = transport.newEventLoopGroup(1, new DefaultThreadFactory("relay-accept", true));
        workerGroup = transport.newEventLoopGroup(0, new DefaultThreadFactory("relay-io", true));
        boolean tls = ssl != null;
        context = RelayContext.builder(config, metrics, new ClientAuthenticator(verifier, admission))
                .enrolment(enrolment)
                .nameHolders(nameHolders)
                .ingress(
                        config.ingress().enabled()
                                ? rc -> new IngressManager(
                                        config.ingress(),
                                        metrics,
                                        transport,
                                        bossGroup,
                                        workerGroup,
                                        config.timeouts().circuitToken(),
                                        rc::draining,
                                        tls)
                                : null)
                .mesh(rc -> MeshManager.create(rc, workerGroup, transport.socketChannel(), tls, meshResolver))
                .build();
        mesh = context.mesh() instanceof MeshManager m ? m : null;
        metrics.bindGauges(
                context,
                c -> c.registry().size(),
                RelayContext::queuedDatagrams,
                c -> c.circuits().pendingCount(),
                c -> c.circuits().activeCount(),
                c -> c.draining() ? 1 : 0);
        metrics.transport(transport.kind().configName());

        try {
            ServerBootstrap b = new ServerBootstrap()
                    .group(bossGroup, workerGroup)
                    .channel(transport.serverSocketChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, RelayDefaults.WATER_MARK)
                    .childHandler(new RelayChannelInitializer(context, ssl, allChannels));
            serverChannel = b.bind(config.listen()).sync().channel();
            if (config.ingress().enabled()) {
                log.atWarn()
                        .addKeyValue("event", "ingress_enabled")
                        .addKeyValue("bind", config.ingress().bindAddress().getHostAddress())
                        .addKeyValue(
                                "ports",
                                config.ingress().hasRange()
                                        ? config.ingress().portFirst() + "-"
                                                + config.ingress().portLast()
                                        : "static")
                        .log("public ingress is on: this relay sees the plaintext of public connections");
            }
            context.mesh().start();
            if (config.adminListen() != null) {
                admin = AdminServer.start(
                        config.adminListen(),
                        workerGroup,
                        transport.serverSocketChannel(),
                        this::ready,
                        () -> prometheus == null ? "" : prometheus.scrape());
            }
            if (config.stunListen() != null) {
                stun = StunEmbedding.start(config.stunListen(), transport, workerGroup, prometheus);
                context.advertiseStunPort(stun.udpAddress().getPort()); // the bound port (dev relays take any)
            } else {
                context.advertiseStunPort(0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IOException("interrupted while binding", e);
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? io : new IOException("cannot start relay: " + e.getMessage(), e);
        }
        started = true;
        log.atInfo()
                .addKeyValue("event", "relay_started")
                .addKeyValue("listen", address())
                .addKeyValue("admin", admin == null ? "off" : admin.address())
                .addKeyValue("stun", config.stunListen() == null ? "off" : config.stunListen())
                .addKeyValue(
                        "tls", ssl == null ? "none" : config.tls().mode().name().toLowerCase(Locale.ROOT))
                .addKeyValue("admission", admission.describe())
                .addKeyValue("transport", transport.kind().configName())
                .addKeyValue("relay_id", config.relayId())
                .log("relay started");
        if (ssl == null) {
            log.atWarn()
                    .addKeyValue("event", "relay_plaintext")
                    .log("TLS is off: only run this behind a TLS-terminating proxy");
        }
        return this;
    }

    private SslContext sslContext() throws IOException {
        RelayConfig.Tls tls = config.tls();
        return switch (tls.mode()) {
            case NONE -> null;
            case FILES -> {
                if (tls.cert() == null || tls.key() == null) {
                    throw new IOException("tls.mode files needs tls.cert and tls.key");
                }
                RelayTls.ServerCredentials c = RelayTls.loadPem(tls.cert(), tls.key());
                fingerprint = c.fingerprint();
                yield c.sslContext();
            }
            case DEV -> {
                RelayTls.ServerCredentials c = RelayTls.devSelfSigned(tls.devDir(), tls.devHostNames());
                fingerprint = c.fingerprint();
                yield c.sslContext();
            }
        };
    }

    /** The bound public address (with the real port when configured as 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** The bound admin address, or null when the admin port is off. */
    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.address();
    }

    /** The embedded STUN server's UDP address, or null when it is off. */
    public InetSocketAddress stunAddress() {
        return stun == null ? null : stun.udpAddress();
    }

    /** {@code sha256:<hex>} of the server certificate, or null without TLS (or with an injected context). */
    public String tlsFingerprint() {
        return fingerprint;
    }

    public RelayConfig config() {
        return config;
    }

    public Transport transport() {
        return transport;
    }

    public RelayMetrics metrics() {
        return metrics;
    }

    /** The Prometheus registry behind {@code /metrics}, or null when metrics were injected without one. */
    public PrometheusMeterRegistry prometheus() {
        return prometheus;
    }

    /** Internal state, for tests in this module. */
    public RelayContext context() {
        return context;
    }

    /** The running mesh, or null when meshing is off (not configured, or no usable key). */
    public MeshManager mesh() {
        return mesh;
    }

    public int clientCount() {
        return context == null ? 0 : context.registry().size();
    }

    public int activeCircuits() {
        return context == null ? 0 : context.circuits().activeCount();
    }

    public int pendingCircuits() {
        return context == null ? 0 : context.circuits().pendingCount();
    }

    /**
     * Ready = started, not draining, not closed, and, when meshed, the first mesh sync done (every
     * listed sibling dialled once; bounded by {@link MeshManager#FIRST_SYNC_WAIT})
     * so that a new pod does not take agents before it knows the fleet.
     */
    public boolean ready() {
        return started
                && !closed
                && context != null
                && !context.draining()
                && context.mesh().synced();
    }

    /** Replaces the per-client read rate limit live (0 = unlimited); connected clients pick it up on their next frame. */
    public void updateClientRateLimit(long bytesPerSecond, long burstBytes) {
        context.rateLimit(new RelayContext.ClientRateLimit(
                bytesPerSecond, Math.max(burstBytes, RelayDefaults.MIN_CLIENT_BURST_BYTES)));
        log.atInfo()
                .addKeyValue("event", "rate_limit_reloaded")
                .addKeyValue("bytes_per_second", bytesPerSecond)
                .addKeyValue("burst", burstBytes)
                .log("rate limit reloaded");
    }

    /**
     * Drains: readiness goes false, new control connections are denied (DRAINING) and new circuits
     * refused (RELAY_DRAINING), every client is sent RESTARTING(reconnectIn, tryFor = grace) so it
     * moves to another relay. The returned future completes (and the relay is closed) when no client
     * and no circuit is left, or when {@code grace} has passed.
     */
    public CompletableFuture<Void> drain(Duration grace) {
        if (context == null) {
            close();
            return CompletableFuture.completedFuture(null);
        }
        if (!context.draining()) {
            context.startDraining();
            long tryFor = Math.min(grace.toMillis(), 0xFFFF_FFFFL);
            int n = 0;
            for (ClientSession s : context.registry().sessions()) {
                s.enqueueControl(new RelayFrame.Restarting(RelayDefaults.DRAIN_RECONNECT_IN.toMillis(), tryFor));
                n++;
            }
            log.atInfo()
                    .addKeyValue("event", "relay_draining")
                    .addKeyValue("clients", n)
                    .addKeyValue("circuits", activeCircuits() + pendingCircuits())
                    .addKeyValue("grace_ms", grace.toMillis())
                    .log("relay draining");
            long deadline = System.nanoTime() + grace.toNanos();
            ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "relay-drain");
                t.setDaemon(true);
                return t;
            });
            poller.scheduleWithFixedDelay(
                    () -> {
                        boolean empty = clientCount() == 0 && activeCircuits() == 0 && pendingCircuits() == 0;
                        if (empty || System.nanoTime() - deadline >= 0 || closed) {
                            log.atInfo()
                                    .addKeyValue("event", "relay_drained")
                                    .addKeyValue("clients_left", clientCount())
                                    .addKeyValue("circuits_left", activeCircuits())
                                    .log("relay drained");
                            poller.shutdown();
                            close();
                        }
                    },
                    50,
                    50,
                    TimeUnit.MILLISECONDS);
        }
        return terminated;
    }

    /** Completes when the relay has closed. */
    public CompletableFuture<Void> terminated() {
        return terminated;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (serverChannel != null) {
                serverChannel.close().syncUninterruptibly();
            }
            if (admin != null) {
                admin.close();
            }
            if (context != null) {
                context.mesh().close();
            }
            if (stun != null) {
                try {
                    stun.close();
                } catch (Exception e) {
                    log.debug("stun close failed", e);
                }
            }
            if (context != null) {
                context.ingress().closeAll();
                context.circuits().closeAll();
            }
            allChannels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            if (workerGroup != null) {
                workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            if (bossGroup != null) {
                bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            log.atInfo().addKeyValue("event", "relay_stopped").log("relay stopped");
            if (runtimeMeters != null) {
                try {
                    runtimeMeters.close();
                } catch (Exception e) {
                    log.debug("closing the runtime meters failed", e);
                }
            }
        } finally {
            terminated.complete(null);
        }
    }
}
