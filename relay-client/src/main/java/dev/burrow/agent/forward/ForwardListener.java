package dev.burrow.agent.forward;

import dev.burrow.agent.log.LogBudget;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.EarlyInput;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.Splice;
import dev.burrow.agent.stream.StreamEnd;
import dev.burrow.agent.stream.StreamRefusedException;
import dev.burrow.identity.NodeKey;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local side of a forward: listens on a local TCP port and carries every accepted connection
 * to the peer's service over a fresh peer stream. The local connection is not read until the peer
 * said OK (auto-read off), so nothing is buffered while the stream opens; a refused or failed stream
 * resets the local connection (the client sees a reset, not an empty answer) and the reason is kept
 * for status.
 */
public final class ForwardListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ForwardListener.class);
    /** Local connections being opened or open at once per forward; each costs a relay circuit. */
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    /**
     * Local connections held per forward while the agent has not reached its relay yet (at start, or
     * while it reconnects): a client that connects a moment too early waits instead of being reset.
     * Each costs one idle socket and nothing is read from it, so a small bound suffices.
     */
    public static final int MAX_HELD_CONNECTIONS = 64;
    /**
     * How long a held connection waits for the relay before it is refused: long enough for a first
     * connection to the relay (DNS, TCP, TLS, authentication) on a slow network, short enough that a
     * client is not left hanging when the relay is down.
     */
    public static final Duration HOLD_TIMEOUT = Duration.ofSeconds(15);

    /** Whether a path to peers can exist yet (the agent reached its relay); see {@link #holdUntil}. */
    public interface Readiness {
        boolean ready();

        /** Completes when {@link #ready()} becomes true. */
        CompletableFuture<?> whenReady();
    }

    // Final after construction.
    private final ForwardSpec spec;
    private final PathSelector paths;
    private final PeerStreamDialer dialer;
    private final EventLoopGroup group;
    private final Transport transport;
    private final AgentMetrics metrics;
    private final ActiveStreams active;
    private final RecentRefusals refusals;
    /** Failed local connections' warnings: a client retrying a gone peer in a loop writes a few lines, not one each. */
    private final LogBudget failureLog = new LogBudget();

    private final Duration idleTimeout;
    private final int maxConnections;
    private final PeerNameResolver names;

    // Any thread: counters and the last outcome (status), the bound server channel.
    private final AtomicInteger current = new AtomicInteger();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile String lastError;
    private volatile Instant lastErrorAt;
    private volatile String lastPath;
    private volatile Channel server;
    private volatile Readiness readiness;
    private final AtomicInteger held = new AtomicInteger();

    public ForwardListener(
            ForwardSpec spec,
            PathSelector paths,
            PeerStreamDialer dialer,
            EventLoopGroup group,
            Transport transport,
            AgentMetrics metrics,
            ActiveStreams active,
            RecentRefusals refusals,
            Duration idleTimeout,
            int maxConnections) {
        this(spec, paths, dialer, group, transport, metrics, active, refusals, idleTimeout, maxConnections, null);
    }

    /**
     * @param names resolves {@link ForwardSpec#peerName()} through the relay; null when this agent
     *     trusts no fleet CA (a forward by name then refuses every connection)
     */
    public ForwardListener(
            ForwardSpec spec,
            PathSelector paths,
            PeerStreamDialer dialer,
            EventLoopGroup group,
            Transport transport,
            AgentMetrics metrics,
            ActiveStreams active,
            RecentRefusals refusals,
            Duration idleTimeout,
            int maxConnections,
            PeerNameResolver names) {
        this.names = names;
        this.spec = spec;
        this.paths = paths;
        this.dialer = dialer;
        this.group = group;
        this.transport = transport;
        this.metrics = metrics;
        this.active = active;
        this.refusals = refusals;
        this.idleTimeout = idleTimeout;
        this.maxConnections = maxConnections;
    }

    /**
     * Holds accepted connections (at most {@link #MAX_HELD_CONNECTIONS}, for at most
     * {@link #HOLD_TIMEOUT}) until {@code r} is ready, instead of failing them at once.
     */
    public void holdUntil(Readiness r) {
        this.readiness = r;
    }

    /** Binds the local port; completes with the bound address. */
    public CompletableFuture<InetSocketAddress> start() {
        CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverSocketChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // epoll and io_uring read a client that writes and half-closes at once even
                        // with auto-read off: keep that for the splice (EarlyInput)
                        EarlyInput.install(ch);
                        OptimisticSend.install(ch); // idle until a stream that takes early bytes opens
                        onLocalConnection(ch); // accepted sockets are active from registration on
                    }
                });
        ChannelFuture f = b.bind(spec.bindHost(), spec.bindPort());
        f.addListener(x -> {
            if (x.isSuccess()) {
                server = f.channel();
                InetSocketAddress bound = (InetSocketAddress) f.channel().localAddress();
                log.info(
                        "forwarding {}:{} to {}/{}",
                        bound.getHostString(),
                        bound.getPort(),
                        spec.peerLabel(),
                        spec.service());
                result.complete(bound);
            } else {
                result.completeExceptionally(new IOException(
                        "cannot listen on " + spec.bindHost() + ":" + spec.bindPort() + ": "
                                + x.cause().getMessage(),
                        x.cause()));
            }
        });
        return result;
    }

    private void onLocalConnection(Channel local) {
        accepted.incrementAndGet();
        if (current.incrementAndGet() > maxConnections) {
            current.decrementAndGet();
            fail(local, "forward connection limit (" + maxConnections + ") reached", null);
            return;
        }
        local.closeFuture().addListener(x -> {
            /* counted when the stream ends */
        });
        Readiness r = readiness;
        if (r != null && !r.ready()) {
            hold(local, r);
            return;
        }
        open(local);
    }

    private void hold(Channel local, Readiness r) {
        if (held.incrementAndGet() > MAX_HELD_CONNECTIONS) {
            held.decrementAndGet();
            current.decrementAndGet();
            fail(
                    local,
                    "not connected to the relay yet, and " + MAX_HELD_CONNECTIONS + " connections already wait for it",
                    null);
            return;
        }
        CompletableFuture<Object> waited = new CompletableFuture<>();
        r.whenReady().whenComplete((v, e) -> waited.complete(e == null ? Boolean.TRUE : Boolean.FALSE));
        var timer = local.eventLoop()
                .schedule(() -> waited.complete(Boolean.FALSE), HOLD_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        waited.whenComplete((ok, e) -> local.eventLoop().execute(() -> {
            timer.cancel(false);
            held.decrementAndGet();
            if (!local.isActive()) {
                current.decrementAndGet();
                local.close();
            } else if (Boolean.TRUE.equals(ok)) {
                open(local);
            } else {
                current.decrementAndGet();
                fail(
                        local,
                        "not connected to the relay within " + HOLD_TIMEOUT.toSeconds() + " s (see burrow status)",
                        null);
            }
        }));
    }

    private void open(Channel local) {
        if (!spec.byName()) {
            dial(local, spec.peer());
            return;
        }
        if (names == null) {
            current.decrementAndGet();
            fail(
                    local,
                    "peer " + spec.peerName() + " is a name, and names need a fleet CA (fleet-ca / --fleet-ca)",
                    null);
            return;
        }
        names.resolve(spec.peerName()).whenComplete((key, err) -> {
            if (err != null) {
                current.decrementAndGet();
                fail(local, describe(err), err);
                return;
            }
            dial(local, key);
        });
    }

    private void dial(Channel local, NodeKey peer) {
        PeerPath path = paths.pathFor(peer, spec.service());
        lastPath = path.name();
        dialer.open(
                        path,
                        peer,
                        spec.service(),
                        local.eventLoop(),
                        spec.peerName(),
                        stream -> local.eventLoop().execute(() -> OptimisticSend.start(local, stream)))
                .whenComplete((stream, err) -> {
                    if (err != null) {
                        if (spec.byName()) {
                            names.invalidate(
                                    spec.peerName()); // the node may have moved, or the relay lied: ask again next time
                        }
                        current.decrementAndGet();
                        fail(local, describe(err), err);
                        return;
                    }
                    stream.channel().eventLoop().execute(() -> join(local, stream, path.name(), peer));
                });
    }

    private void join(Channel local, PeerStream stream, String pathName, NodeKey peer) {
        long sentEarly = OptimisticSend.retire(local); // before the splice reads the local end
        stream.detach();
        if (!local.isActive()) {
            current.decrementAndGet();
            stream.channel().close();
            return;
        }
        long id = active.nextId();
        long started = System.nanoTime();
        metrics.streamOpened(Direction.OUTBOUND);
        Splice splice = Splice.join(
                StreamEnd.plain(local, "client " + local.remoteAddress()),
                stream.ssl() == null
                        ? StreamEnd.plain(stream.channel(), "peer " + spec.peerLabel())
                        : StreamEnd.tls(stream.channel(), stream.ssl(), "peer " + spec.peerLabel()),
                idleTimeout,
                (toPeer, fromPeer, outcome) -> {
                    current.decrementAndGet();
                    active.remove(id, fromPeer, toPeer);
                    metrics.streamEnded(Direction.OUTBOUND, outcome, fromPeer, toPeer);
                    paths.streamEnded(peer, spec.service(), pathName, toPeer + fromPeer, System.nanoTime() - started);
                },
                sentEarly);
        active.add(new ActiveStreams.Entry(
                id,
                Direction.OUTBOUND,
                peer,
                stream.peer().name(),
                spec.service(),
                pathName,
                String.valueOf(local.remoteAddress()),
                Instant.now(),
                splice));
        if (splice.isFinished()) {
            active.remove(id, splice.bytesBtoA(), splice.bytesAtoB());
        }
    }

    private static String describe(Throwable err) {
        Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (t instanceof TimeoutException) {
            return "timed out opening the stream";
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    private void fail(Channel local, String reason, Throwable err) {
        failed.incrementAndGet();
        lastError = reason;
        lastErrorAt = Instant.now();
        Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (t instanceof StreamRefusedException r) {
            metrics.streamRefused(Direction.OUTBOUND, r.code());
            refusals.add(new RecentRefusals.Refusal(
                    Instant.now(),
                    Direction.OUTBOUND,
                    spec.peerLabel(),
                    spec.service(),
                    r.code(),
                    r.by(),
                    r.getMessage()));
        }
        failureLog.warn(
                log,
                "forward {}/{}: connection from {} failed: {}",
                spec.peerLabel(),
                spec.service(),
                local.remoteAddress(),
                reason);
        // Reset: the local client must not mistake a refusal for an empty, successful answer.
        try {
            local.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // best effort
        }
        local.close();
    }

    public ForwardSpec spec() {
        return spec;
    }

    /** The bound address, or null before {@link #start()} completed. */
    public InetSocketAddress boundAddress() {
        Channel s = server;
        return s == null ? null : (InetSocketAddress) s.localAddress();
    }

    public boolean isListening() {
        Channel s = server;
        return s != null && s.isActive();
    }

    public int openConnections() {
        return current.get();
    }

    public long acceptedConnections() {
        return accepted.get();
    }

    public long failedConnections() {
        return failed.get();
    }

    public String lastError() {
        return lastError;
    }

    public Instant lastErrorAt() {
        return lastErrorAt;
    }

    public String lastPath() {
        return lastPath;
    }

    /** Stops listening; connections already forwarded keep running until they end. */
    @Override
    public void close() {
        Channel s = server;
        if (s != null) {
            s.close().syncUninterruptibly();
        }
    }
}
