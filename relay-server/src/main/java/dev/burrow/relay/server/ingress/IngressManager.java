package dev.burrow.relay.server.ingress;

import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.PublishRefusedReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.circuit.CircuitManager;
import dev.burrow.relay.server.circuit.IngressJoin;
import dev.burrow.relay.server.config.IngressConfig;
import dev.burrow.relay.server.config.RelayDefaults;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.metrics.IngressOutcome;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.stun.limit.SourceRateLimiter;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Public ingress: publishes agents' services on public TCP ports of the relay and carries each
 * public connection to its listener through a relay circuit.
 *
 * <p>Publishing (PUBLISH on the listener's control connection): refused unless ingress is enabled,
 * the node may publish ({@code allow-nodes}), it is under {@code max-services-per-node}, and a port
 * is free (its pinned port, else the first free port of the range). The port is bound only while
 * the listener's control connection lasts; UNPUBLISH or a disconnect closes it (connections already
 * joined keep running until they end or idle out). Each port belongs to exactly one published
 * service: the accept handler carries the service it was bound for, so a port can never reach
 * another service or another node.
 *
 * <p>A public connection, in this order (cheapest first, nothing read from the client meanwhile):
 * source address against the service's prefixes (IPv4-mapped IPv6 matched as IPv4), the source's
 * accept rate ({@link SourceRateLimiter}, keyed like every per-source limit: {@code connect-rate-per-ip},
 * over all ports), relay-wide cap,
 * per-service cap, then a CIRCUIT_OFFER with the INGRESS flag to the listener. The listener attaches
 * with the offer's token within the circuit token TTL (else the client is reset); then the relay
 * sends CIRCUIT_ATTACHED and a PROXY v2 header with the client's address to the listener and copies
 * bytes both ways ({@link IngressJoin}), closing the pair after the service's idle timeout, and in any
 * case {@code max-connection-duration} after the client was accepted. Every
 * refusal resets the client connection (RST) and moves {@link RelayMetrics#INGRESS_EVENTS}.
 */
public final class IngressManager implements PublicIngress {
    private static final Logger log = LoggerFactory.getLogger(IngressManager.class);
    /** Accept backlog of a public port: a burst beyond it is refused by the kernel, not queued by us. */
    static final int ACCEPT_BACKLOG = 128;

    // Final after construction.
    private final IngressConfig config;
    private final RelayMetrics metrics;
    private final Transport transport;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final IngressCircuits circuits;
    private final BooleanSupplier draining;
    private final SourceRateLimiter sourceRate;

    // Guarded by lock: the published services by owner and the ports they hold.
    private final Object lock = new Object();
    private final Map<ClientSession, Map<String, PublishedService>> byOwner = new HashMap<>();
    private final Set<Integer> portsInUse = new HashSet<>();

    // Concurrent (any event loop): the count of open public connections.
    private final AtomicInteger open = new AtomicInteger();

    /** A published service, for status and tests. */
    public record Publication(String nodeId, String service, int port, int openConnections) {}

    /**
     * @param attachTimeout how long a public client waits (unread) for the listener to attach: the circuit token TTL
     * @param requireTlsAttach the relay runs TLS: an ingress circuit may only be attached over it (plain
     *     circuit connections are for end-to-end encrypted bytes, and these are a client's plaintext)
     */
    public IngressManager(
            IngressConfig config,
            RelayMetrics metrics,
            Transport transport,
            EventLoopGroup bossGroup,
            EventLoopGroup workerGroup,
            Duration attachTimeout,
            BooleanSupplier draining,
            boolean requireTlsAttach) {
        this.config = config;
        this.metrics = metrics;
        this.transport = transport;
        this.bossGroup = bossGroup;
        this.workerGroup = workerGroup;
        this.circuits = new IngressCircuits(metrics, attachTimeout, requireTlsAttach);
        this.draining = draining;
        this.sourceRate = new SourceRateLimiter(
                config.connectRatePerIp(), config.connectBurstPerIp(), SourceRateLimiter.DEFAULT_MAX_TRACKED_SOURCES);
    }

    /** Ingress off: every PUBLISH is refused with NOT_ENABLED. */
    public static IngressManager disabled(RelayMetrics metrics) {
        return new IngressManager(
                IngressConfig.disabled(), metrics, null, null, null, Duration.ofSeconds(1), () -> false, true);
    }

    @Override
    public boolean enabled() {
        return config.enabled();
    }

    // ------------------------------------------------------------------ publishing

    /** PUBLISH from {@code owner}; called on its event loop. */
    @Override
    public void publish(ClientSession owner, ClientFrame.Publish p) {
        String nodeId = owner.key().nodeId();
        if (!config.enabled()) {
            refuse(owner, p.service(), PublishRefusedReason.NOT_ENABLED, "public ingress is off on this relay");
            return;
        }
        if (draining.getAsBoolean()) {
            refuse(owner, p.service(), PublishRefusedReason.DRAINING, "relay is draining");
            return;
        }
        if (!config.allowNodes().isEmpty() && !config.allowNodes().contains(nodeId)) {
            refuse(owner, p.service(), PublishRefusedReason.NOT_ALLOWED, "this node may not publish on this relay");
            return;
        }
        if (p.maxConnections() == 0) {
            refuse(owner, p.service(), PublishRefusedReason.BAD_REQUEST, "maxConnections must be at least 1");
            return;
        }
        Duration idle = p.idleTimeoutMillis() == 0
                ? config.idleTimeout()
                : min(Duration.ofMillis(p.idleTimeoutMillis()), config.idleTimeout());
        PublishedService.Options options = new PublishedService.Options(
                p.sources(), (int) Math.min(p.maxConnections(), config.maxConnectionsPerService()), idle);
        Integer pinned = config.staticPorts().get(nodeId + "/" + p.service());
        List<Integer> candidates = new ArrayList<>();
        PublishedService svc;
        synchronized (lock) {
            Map<String, PublishedService> mine = byOwner.computeIfAbsent(owner, k -> new LinkedHashMap<>());
            PublishedService existing = mine.get(p.service());
            if (existing != null) {
                existing.options = options; // re-publish: new options, same port
                if (existing.serverChannel != null) {
                    published(existing);
                }
                return;
            }
            if (mine.size() >= config.maxServicesPerNode()) {
                forgetIfEmpty(owner, mine);
                refuse(
                        owner,
                        p.service(),
                        PublishRefusedReason.LIMIT_REACHED,
                        "at most " + config.maxServicesPerNode() + " published services per node");
                return;
            }
            if (pinned != null) {
                candidates.add(pinned);
            } else if (!config.hasRange()) {
                forgetIfEmpty(owner, mine);
                refuse(
                        owner,
                        p.service(),
                        PublishRefusedReason.NOT_ALLOWED,
                        "no public port is configured for this service");
                return;
            } else if (config.ephemeralPorts()) {
                candidates.add(0);
            } else {
                Set<Integer> reserved = new HashSet<>(config.staticPorts().values());
                for (int port = config.portFirst(); port <= config.portLast(); port++) {
                    if (!portsInUse.contains(port) && !reserved.contains(port)) {
                        candidates.add(port);
                    }
                }
                if (candidates.isEmpty()) {
                    forgetIfEmpty(owner, mine);
                    refuse(owner, p.service(), PublishRefusedReason.NO_PORT_FREE, "every public port is taken");
                    return;
                }
            }
            svc = new PublishedService(owner, p.service(), options);
            mine.put(p.service(), svc);
        }
        bindNext(svc, candidates.iterator(), pinned != null);
    }

    private void bindNext(PublishedService svc, Iterator<Integer> ports, boolean pinned) {
        int port;
        synchronized (lock) {
            port = -1;
            while (ports.hasNext()) {
                int candidate = ports.next();
                if (candidate == 0 || portsInUse.add(candidate)) {
                    port = candidate;
                    break;
                }
            }
            if (port == -1 || svc.closed) {
                removeService(svc);
                if (!svc.closed) {
                    refuse(
                            svc.owner,
                            svc.service,
                            pinned ? PublishRefusedReason.BIND_FAILED : PublishRefusedReason.NO_PORT_FREE,
                            pinned ? "the pinned public port cannot be bound" : "no public port could be bound");
                }
                return;
            }
        }
        int tried = port;
        ChannelFuture bind = serverBootstrap(svc).bind(new InetSocketAddress(config.bindAddress(), port));
        bind.addListener(f -> {
            if (!f.isSuccess()) {
                synchronized (lock) {
                    portsInUse.remove(tried);
                }
                log.atInfo()
                        .addKeyValue("event", "ingress_bind_failed")
                        .addKeyValue("port", tried)
                        .addKeyValue("error", f.cause().getMessage())
                        .log("ingress bind failed");
                bindNext(svc, ports, pinned);
                return;
            }
            Channel server = bind.channel();
            int bound = ((InetSocketAddress) server.localAddress()).getPort();
            boolean keep;
            synchronized (lock) {
                keep = !svc.closed;
                if (keep) {
                    svc.serverChannel = server;
                    svc.port = bound;
                    if (tried == 0) {
                        portsInUse.add(bound);
                    }
                } else if (tried != 0) {
                    portsInUse.remove(tried);
                }
            }
            if (!keep) {
                server.close(); // unpublished or disconnected while binding
                return;
            }
            log.atInfo()
                    .addKeyValue("event", "ingress_published")
                    .addKeyValue("node", svc.owner.key().shortId())
                    .addKeyValue("service", svc.service)
                    .addKeyValue("port", bound)
                    .addKeyValue("sources", svc.options.sources())
                    .addKeyValue("max_connections", svc.options.maxConnections())
                    .addKeyValue("idle_ms", svc.options.idleTimeout().toMillis())
                    .log("ingress published");
            metrics.ingress(IngressOutcome.PUBLISHED);
            published(svc);
        });
    }

    private ServerBootstrap serverBootstrap(PublishedService svc) {
        return new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(transport.serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, ACCEPT_BACKLOG)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, RelayDefaults.WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("ingress-accept", new PublicConnection(svc));
                    }
                });
    }

    private void published(PublishedService svc) {
        String host = config.publicHost() != null
                ? config.publicHost()
                : config.bindAddress() instanceof Inet6Address
                        ? "[" + config.bindAddress().getHostAddress() + "]"
                        : config.bindAddress().getHostAddress();
        svc.owner.enqueueControl(new RelayFrame.Published(svc.service, svc.port, host + ":" + svc.port));
    }

    private void refuse(ClientSession owner, String service, PublishRefusedReason reason, String message) {
        metrics.ingress(IngressOutcome.PUBLISH_REFUSED);
        log.atInfo()
                .addKeyValue("event", "ingress_publish_refused")
                .addKeyValue("node", owner.key().shortId())
                .addKeyValue("service", service)
                .addKeyValue("reason", reason)
                .addKeyValue("why", message)
                .log("ingress publish refused");
        owner.enqueueControl(new RelayFrame.PublishRefused(service, reason, message));
    }

    /** UNPUBLISH from {@code owner}: its port closes. */
    @Override
    public void unpublish(ClientSession owner, String service) {
        PublishedService svc;
        synchronized (lock) {
            Map<String, PublishedService> mine = byOwner.get(owner);
            svc = mine == null ? null : mine.get(service);
            if (svc != null) {
                removeService(svc);
            }
        }
        if (svc != null) {
            close(svc, "unpublished");
        }
    }

    /** The owner's control connection ended: all its ports close, its waiting clients are reset. */
    @Override
    public void clientGone(ClientSession owner) {
        List<PublishedService> mine;
        synchronized (lock) {
            Map<String, PublishedService> m = byOwner.remove(owner);
            mine = m == null ? List.of() : List.copyOf(m.values());
            for (PublishedService s : mine) {
                s.closed = true;
                if (s.port != 0) {
                    portsInUse.remove(s.port);
                }
            }
        }
        for (PublishedService s : mine) {
            close(s, "listener disconnected");
        }
        circuits.dropFor(owner);
    }

    /** Caller holds {@code lock}. */
    private void removeService(PublishedService svc) {
        Map<String, PublishedService> mine = byOwner.get(svc.owner);
        if (mine != null && mine.get(svc.service) == svc) {
            mine.remove(svc.service);
            forgetIfEmpty(svc.owner, mine);
        }
        svc.closed = true;
        if (svc.port != 0) {
            portsInUse.remove(svc.port);
        }
    }

    /** Caller holds {@code lock}. */
    private void forgetIfEmpty(ClientSession owner, Map<String, PublishedService> mine) {
        if (mine.isEmpty()) {
            byOwner.remove(owner);
        }
    }

    private void close(PublishedService svc, String why) {
        svc.closed = true;
        Channel server = svc.serverChannel;
        if (server != null) {
            server.close();
            metrics.ingress(IngressOutcome.UNPUBLISHED);
            log.atInfo()
                    .addKeyValue("event", "ingress_unpublished")
                    .addKeyValue("node", svc.owner.key().shortId())
                    .addKeyValue("service", svc.service)
                    .addKeyValue("port", svc.port)
                    .addKeyValue("why", why)
                    .log("ingress unpublished");
        }
    }

    /** Every published service (tests, status). */
    @Override
    public List<Publication> publications() {
        synchronized (lock) {
            List<Publication> out = new ArrayList<>();
            for (Map<String, PublishedService> m : byOwner.values()) {
                for (PublishedService s : m.values()) {
                    if (s.serverChannel != null) {
                        out.add(new Publication(s.owner.key().nodeId(), s.service, s.port, s.open.get()));
                    }
                }
            }
            return out;
        }
    }

    /** Public connections open now (waiting for their circuit or joined). */
    @Override
    public int openConnections() {
        return open.get();
    }

    /** Shutdown: every port closes and every public connection is closed. */
    @Override
    public void closeAll() {
        List<PublishedService> all = new ArrayList<>();
        synchronized (lock) {
            byOwner.values().forEach(m -> all.addAll(m.values()));
            byOwner.clear();
            portsInUse.clear();
        }
        all.forEach(s -> close(s, "relay stopping"));
        circuits.closeAll();
    }

    // ------------------------------------------------------------------ circuits

    /** CIRCUIT_REJECT from {@code listener}: true when it was for one of ours (the client is reset). */
    @Override
    public boolean reject(ClientSession listener, ClientFrame.CircuitReject r) {
        return circuits.reject(listener, r);
    }

    @Override
    public CircuitManager.AttachResult attach(Channel ch, ClientFrame.CircuitAttach a) {
        return circuits.attach(ch, a);
    }

    private void reset(Channel client, IngressOutcome outcome) {
        IngressCircuits.reset(client, outcome, metrics);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The first handler of every public connection: the checks, then the offer. */
    private final class PublicConnection extends ChannelInboundHandlerAdapter {
        private final PublishedService svc;

        PublicConnection(PublishedService svc) {
            this.svc = svc;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            Channel ch = ctx.channel();
            InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
            if (svc.closed) {
                reset(ch, IngressOutcome.LISTENER_GONE);
                return;
            }
            if (remote == null || !svc.admits(remote.getAddress())) {
                log.atDebug()
                        .addKeyValue("event", "ingress_source_refused")
                        .addKeyValue("service", svc.service)
                        .addKeyValue("remote", remote)
                        .log("ingress source refused");
                reset(ch, IngressOutcome.SOURCE_NOT_ALLOWED);
                return;
            }
            if (!sourceRate.tryAcquire(remote.getAddress())) {
                log.atDebug()
                        .addKeyValue("event", "ingress_rate_limited")
                        .addKeyValue("service", svc.service)
                        .addKeyValue("remote", remote)
                        .log("ingress rate limited");
                reset(ch, IngressOutcome.RATE_LIMITED);
                return;
            }
            if (draining.getAsBoolean()) {
                reset(ch, IngressOutcome.DRAINING);
                return;
            }
            if (open.incrementAndGet() > config.maxConnections()) {
                open.decrementAndGet();
                reset(ch, IngressOutcome.RELAY_LIMIT_REACHED);
                return;
            }
            if (svc.open.incrementAndGet() > svc.options.maxConnections()) {
                svc.open.decrementAndGet();
                open.decrementAndGet();
                reset(ch, IngressOutcome.SERVICE_LIMIT_REACHED);
                return;
            }
            // However busy, the connection ends after max-connection-duration (closing the client
            // closes its circuit too); a client trickling bytes under the idle timeout cannot keep a slot.
            ScheduledFuture<?> lifetime = ch.eventLoop()
                    .schedule(
                            () -> {
                                if (ch.isOpen()) {
                                    metrics.ingress(IngressOutcome.MAX_DURATION);
                                    log.atInfo()
                                            .addKeyValue("event", "ingress_max_duration")
                                            .addKeyValue("service", svc.service)
                                            .addKeyValue(
                                                    "after_ms",
                                                    config.maxConnectionDuration()
                                                            .toMillis())
                                            .log("ingress max duration");
                                    ch.close();
                                }
                            },
                            config.maxConnectionDuration().toNanos(),
                            TimeUnit.NANOSECONDS);
            ch.closeFuture().addListener(f -> {
                lifetime.cancel(false);
                svc.open.decrementAndGet();
                open.decrementAndGet();
            });
            circuits.offer(ch, svc);
            super.channelActive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.atDebug()
                    .addKeyValue("event", "ingress_connection_error")
                    .addKeyValue("error", cause.toString())
                    .log("ingress connection error");
            ctx.close();
        }
    }
}
