package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.ServiceNames;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's connection to a relay: authenticates, keeps the control connection alive and
 * reconnects with jittered exponential backoff, sends and receives keyed datagrams, and opens and
 * accepts relay circuits.
 *
 * <pre>
 * RelayClient client = new RelayClient(RelayClientConfig.builder(url, RelayTrust.pinned(fp), identity).build());
 * client.addListener(listener);                 // connected / disconnected / denied / restarting / peers
 * client.setDatagramHandler((src, buf) -> ...); // received datagrams
 * client.setCircuitAcceptor(acceptor);          // listener side (with acceptsCircuits(true))
 * client.start();
 * client.send(peer, payload);                   // SendResult, never blocks, never queues without bound
 * client.openCircuit(peer, "ssh").thenAccept(circuit -> ...);
 * client.close();
 * </pre>
 *
 * <p>All connections of one client live on one event loop; callbacks run there. Public methods are
 * thread-safe.
 */
public final class RelayClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    private final RelayClientConfig config;
    private final RelayClientMetrics metrics;
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final EventLoop loop;
    private final RandomGenerator random = ThreadLocalRandom.current();
    private final List<RelayClientListener> listeners = new CopyOnWriteArrayList<>();
    private final ByteCounter byteCounter = new ByteCounter();
    private final Backoff backoff;

    private volatile DatagramHandler datagramHandler;
    private volatile CircuitAcceptor circuitAcceptor;
    private volatile RelayConnectionState state = RelayConnectionState.NEW;
    private volatile ControlHandler control;          // ready connection, or null
    private volatile RelayConnectionInfo connectionInfo;
    private volatile Instant connectedSince;
    private volatile Duration lastRtt;
    private volatile RelayDeniedException lastDenial;
    private volatile boolean closed;

    // Event-loop confined.
    private RelayDialer dialer;
    private ControlHandler attempt;
    private URI lastUri;
    private boolean stickyWebSocket;
    private boolean everConnected;
    private long restartReconnectAtNanos;
    private long restartTryUntilNanos;
    private boolean restartPlanned;
    /** The connection whose relay announced RESTARTING and that we still use (renewed make-before-break), or null. */
    private ControlHandler drainingControl;
    private ScheduledFuture<?> renewTask;
    private ScheduledFuture<?> reconnectTask;
    private CompletableFuture<RelayConnectionInfo> nextConnection = new CompletableFuture<>();
    private final Map<Long, PendingCircuit> pendingCircuits = new HashMap<>();
    private final Map<Long, PendingLookup> pendingLookups = new HashMap<>();
    private long nextLookupId = ThreadLocalRandom.current().nextLong(0, 0x1_0000_0000L);
    /** Connections we moved away from, closed once their circuit requests had their time (at most one per move). */
    private final java.util.Set<ControlHandler> retiring = new java.util.LinkedHashSet<>();
    private long nextRequestId = ThreadLocalRandom.current().nextLong(0, 0x1_0000_0000L);
    private int dialerAttaching;
    private int listenerAttaching;
    /**
     * Listener side: the attaches under way by offering dialer, oldest first (at most
     * {@code maxPendingCircuits} in all, plus one while an eviction completes). Event loop only.
     */
    private final Map<NodeKey, java.util.ArrayDeque<Future<CircuitConnection>>> attachingBySource = new HashMap<>();

    private final AtomicInteger queuedDatagrams = new AtomicInteger();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final LongAdder datagramsSent = new LongAdder();
    private final LongAdder datagramsReceived = new LongAdder();
    private final LongAdder datagramsDropped = new LongAdder();
    private final LongAdder connectAttempts = new LongAdder();
    private final LongAdder reconnects = new LongAdder();
    private final LongAdder protocolViolations = new LongAdder();

    /** A client with its own single event loop thread and no metrics. */
    public RelayClient(RelayClientConfig config) {
        this(config, RelayClientMetrics.NOOP, null);
    }

    /**
     * @param metrics   recorder ({@link RelayClientMetrics#NOOP} for none)
     * @param groupOrNull event loop group to share (its transport must match the config's), or null for
     *                  a private single-thread group that {@link #close()} shuts down
     */
    public RelayClient(RelayClientConfig config, RelayClientMetrics metrics, EventLoopGroup groupOrNull) {
        this.config = config;
        this.metrics = new CountingMetrics(metrics);
        this.backoff = new Backoff(config.backoffBase(), config.backoffCap(), random);
        // Fail at construction, not at every connect, when the chain cannot fit CLIENT_AUTH.
        List<byte[]> chain = ControlHandler.encodeChain(config.identity().certificateChain());
        int chainBytes = chain.stream().mapToInt(c -> 2 + c.length).sum();
        if (chain.size() > FrameLimits.MAX_CHAIN_CERTIFICATES || chainBytes > FrameLimits.MAX_AUTH_PAYLOAD - 512) {
            throw new IllegalArgumentException("node certificate chain too large for CLIENT_AUTH");
        }
        if (groupOrNull == null) {
            this.group = config.transport().newEventLoopGroup(1, new DefaultThreadFactory("burrow-relay-client", true));
            this.ownsGroup = true;
        } else {
            this.group = groupOrNull;
            this.ownsGroup = false;
        }
        this.loop = group.next();
    }

    // ------------------------------------------------------------------ public API

    public RelayClientConfig config() {
        return config;
    }

    public NodeKey nodeKey() {
        return config.identity().nodeKey();
    }

    public void addListener(RelayClientListener listener) {
        listeners.add(listener);
    }

    public void removeListener(RelayClientListener listener) {
        listeners.remove(listener);
    }

    /** Sets the receiver of datagrams (replacing any previous one); null drops them. */
    public void setDatagramHandler(DatagramHandler handler) {
        this.datagramHandler = handler;
    }

    /** Sets the listener-side circuit acceptor; offers are rejected while none is set or {@code acceptsCircuits} is off. */
    public void setCircuitAcceptor(CircuitAcceptor acceptor) {
        this.circuitAcceptor = acceptor;
    }

    /**
     * Starts connecting (in the background; watch the listener or {@link #whenConnected()}).
     *
     * @throws IOException when the TLS trust material cannot be loaded
     */
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("client is closed");
        }
        if (dialer != null) {
            return;
        }
        SslContext ssl = config.trust().sslContext();
        dialer = new RelayDialer(config.transport().socketChannel(), ssl, config.connectTimeout(),
                config.handshakeTimeout());
        loop.execute(() -> connect(RelayUrlSelector.Reason.INITIAL));
    }

    /** Closes the connection, fails pending circuits and stops reconnecting. Idempotent; circuits already handed out stay open. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        state = RelayConnectionState.CLOSED;
        Future<?> done = loop.isShuttingDown() ? loop.newSucceededFuture(null) : loop.submit(() -> {
            if (reconnectTask != null) {
                reconnectTask.cancel(false);
            }
            RelayUnavailableException e = new RelayUnavailableException("relay client closed");
            failPending(null, e);
            nextConnection.completeExceptionally(e);
            ControlHandler a = attempt;
            if (a != null) {
                a.close(e);
            }
            ControlHandler c = control; // the connection a move in progress would have replaced
            if (c != null && c != a) {
                c.close(e);
            }
            for (ControlHandler old : List.copyOf(retiring)) {
                old.close(e);
            }
        });
        boolean onLoop = loop.inEventLoop(); // closed from a callback: never block the loop on itself
        if (!onLoop) {
            done.awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        if (ownsGroup) {
            Future<?> shutdown = group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            if (!onLoop) {
                shutdown.awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
    }

    public RelayConnectionState state() {
        return state;
    }

    /** The current connection, if authenticated. */
    public Optional<RelayConnectionInfo> connection() {
        return Optional.ofNullable(control != null ? connectionInfo : null);
    }

    /** The last DENY received (kept after reconnecting, for status output), or null. */
    public RelayDeniedException lastDenial() {
        return lastDenial;
    }

    /** Completes with the connection info when (next) connected; fails when the client closes. */
    public CompletableFuture<RelayConnectionInfo> whenConnected() {
        CompletableFuture<RelayConnectionInfo> result = new CompletableFuture<>();
        onLoop(result, () -> {
            RelayConnectionInfo info = control != null ? connectionInfo : null;
            if (info != null) {
                result.complete(info);
            } else {
                nextConnection.whenComplete((i, e) -> {
                    if (e != null) {
                        result.completeExceptionally(e);
                    } else {
                        result.complete(i);
                    }
                });
            }
        });
        return result;
    }

    /** True when a datagram sent now would not be dropped for backpressure. */
    public boolean isWritable() {
        ControlHandler c = control;
        Channel ch = c == null ? null : c.channel();
        return ch != null && ch.isWritable() && queuedDatagrams.get() < config.maxQueuedDatagrams();
    }

    public RelayClientStats stats() {
        ControlHandler c = control;
        return new RelayClientStats(state, c != null ? connectionInfo : null, c != null ? connectedSince : null, lastRtt,
                byteCounter.in.sum(), byteCounter.out.sum(), datagramsSent.sum(), datagramsReceived.sum(),
                datagramsDropped.sum(), connectAttempts.sum(), reconnects.sum(), protocolViolations.sum());
    }

    /**
     * Sends a datagram to {@code destination} through the relay. Never blocks. Takes ownership of
     * {@code payload} (released when dropped or written).
     */
    public SendResult send(NodeKey destination, ByteBuf payload) {
        ControlHandler c = control;
        Channel ch = c == null ? null : c.channel();
        if (c == null || ch == null || !c.ready()) {
            return drop(payload, SendResult.DROPPED_NOT_CONNECTED);
        }
        int n = payload.readableBytes();
        if (n > c.maxDatagram()) {
            return drop(payload, SendResult.DROPPED_TOO_LARGE);
        }
        if (!ch.isWritable()) {
            return drop(payload, SendResult.DROPPED_BACKPRESSURE);
        }
        int count = queuedDatagrams.incrementAndGet();
        long bytes = queuedBytes.addAndGet(n);
        if (count > config.maxQueuedDatagrams() || bytes > config.maxQueuedBytes()) {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-n);
            return drop(payload, SendResult.DROPPED_BACKPRESSURE);
        }
        ClientFrame.SendDatagram frame;
        try {
            frame = new ClientFrame.SendDatagram(destination, payload);
        } catch (RuntimeException e) {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-n);
            payload.release();
            throw e;
        }
        ch.writeAndFlush(frame).addListener(f -> {
            queuedDatagrams.decrementAndGet();
            queuedBytes.addAndGet(-n);
            if (f.isSuccess()) {
                datagramsSent.increment();
                metrics.datagramSent(n);
            }
        });
        return SendResult.QUEUED;
    }

    /** Bytes waiting to be written to the relay: our queue plus the channel's outbound buffer (tests, status). */
    CompletableFuture<Long> pendingOutboundBytes() {
        CompletableFuture<Long> result = new CompletableFuture<>();
        loop.execute(() -> {
            ControlHandler c = control;
            Channel ch = c == null ? null : c.channel();
            var buffer = ch == null ? null : ch.unsafe().outboundBuffer();
            result.complete(queuedBytes.get() + (buffer == null ? 0 : buffer.totalPendingWriteBytes()));
        });
        return result;
    }

    private SendResult drop(ByteBuf payload, SendResult result) {
        payload.release();
        datagramsDropped.increment();
        metrics.datagramDropped(result);
        return result;
    }

    /**
     * Name lookups waiting for NAME_RESULT at once. Forwards cache answers and share one lookup per
     * name, so even a burst of local connections needs few; beyond this a lookup fails at once instead
     * of queueing without bound. Kept below the relay's per-client control queue (32 by default) so a
     * full set of answers arriving together is never dropped there.
     */
    public static final int MAX_PENDING_LOOKUPS = 16;
    /** How long the relay may take to answer a LOOKUP_NAME (an index lookup: anything slower is a dead relay). */
    public static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(5);

    /**
     * Asks the relay which connected nodes carry {@code name} in a certificate it verified as issued by
     * its fleet CA. Completes with their keys (empty when none; at most
     * {@link dev.burrow.protocol.frame.FrameLimits#MAX_NAME_RESULT_KEYS}), or fails with
     * {@link RelayUnavailableException} (not connected, connection lost), {@link RelayTimeoutException}
     * (no answer within {@link #LOOKUP_TIMEOUT}) or {@link IllegalStateException} (too many lookups
     * pending). The answer is a hint: the caller must check the name in the peer's certificate end to end.
     */
    public CompletableFuture<List<NodeKey>> lookupName(String name) {
        CompletableFuture<List<NodeKey>> result = new CompletableFuture<>();
        if (!dev.burrow.protocol.frame.NodeNames.isValid(name)) {
            result.completeExceptionally(new IllegalArgumentException("invalid node name '" + name + "'"));
            return result;
        }
        if (closed) {
            result.completeExceptionally(new RelayUnavailableException("relay client closed"));
            return result;
        }
        onLoop(result, () -> requestLookup(name, result));
        return result;
    }

    /**
     * Asks the relay for a circuit to {@code service} on {@code destination}. Completes with an
     * attached {@link CircuitConnection}, or fails with {@link CircuitRejectedException} (refused,
     * timed out, too many pending) or {@link RelayUnavailableException} (not connected).
     */
    public CompletableFuture<CircuitConnection> openCircuit(NodeKey destination, String service) {
        return openCircuit(destination, service, null);
    }

    /**
     * As {@link #openCircuit(NodeKey, String)}, with the circuit connection's channel registered on
     * {@code near} (for example the event loop of the local socket it will be spliced to), so that
     * the bytes of one forwarded connection never cross threads: a write to a channel of another
     * loop is a queued task and a wake-up per read. Null: the client's own loop.
     */
    public CompletableFuture<CircuitConnection> openCircuit(NodeKey destination, String service, EventLoop near) {
        CompletableFuture<CircuitConnection> result = new CompletableFuture<>();
        if (!ServiceNames.isValid(service)) {
            result.completeExceptionally(new IllegalArgumentException("invalid service name"));
            return result;
        }
        if (closed) {
            result.completeExceptionally(new RelayUnavailableException("relay client closed"));
            return result;
        }
        onLoop(result, () -> requestCircuit(destination, service, result, near));
        return result;
    }

    /**
     * Public ingress: asks the relay to publish (PUBLISH) or stop publishing (UNPUBLISH) a service on
     * the current connection; the answer comes to the listeners ({@link RelayClientListener#published},
     * {@link RelayClientListener#publishRefused}). False when not connected (publish again on
     * {@link RelayClientListener#connected}: a publication lasts as long as the connection).
     */
    public boolean sendPublication(ClientFrame frame) {
        if (!(frame instanceof ClientFrame.Publish) && !(frame instanceof ClientFrame.Unpublish)) {
            throw new IllegalArgumentException("only PUBLISH and UNPUBLISH");
        }
        ControlHandler c = control;
        Channel ch = c == null ? null : c.channel();
        if (c == null || ch == null || !c.ready()) {
            return false;
        }
        ch.writeAndFlush(frame, ch.voidPromise());
        return true;
    }

    /**
     * Moves the control connection to the relay at {@code target} (a fleet's home relay changed).
     * While connected this is make-before-break: the current connection stays up, with its circuits,
     * until the new one is authenticated, then it is closed (after the circuits it is still setting
     * up have had their time); circuits already attached are separate connections and keep running.
     * When not connected, a pending reconnect delay is skipped and {@code target} is dialled now.
     * A move that fails leaves the current connection as it was and is reported through
     * {@link RelayClientListener#moveFailed}.
     */
    public void moveTo(URI target) {
        RelayAddress.parse(target); // a bad URL fails the caller, not the loop
        runOnLoopQuietly(() -> move(target));
    }

    /** The loop every callback of this client runs on (a fleet selector schedules its work there). */
    EventLoop loop() {
        return loop;
    }

    /** Runs {@code task} on the client's loop; dropped when the loop is gone (the client is closed). */
    private void runOnLoopQuietly(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: nothing left to do
        }
    }

    /** Runs {@code task} on the client's loop, or fails {@code result} when the loop is gone (client closed). */
    private void onLoop(CompletableFuture<?> result, Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new RelayUnavailableException("relay client closed"));
        }
    }

    // ------------------------------------------------------------------ connecting

    private void connect(RelayUrlSelector.Reason reason) {
        reconnectTask = null;
        if (closed) {
            return;
        }
        URI uri;
        RelayAddress address;
        try {
            uri = config.relaySelector().select(config.relayUrl(), lastUri, reason);
            address = RelayAddress.parse(uri);
        } catch (RuntimeException e) {
            log.warn("relay selector failed: {}", e.toString());
            uri = config.relayUrl();
            address = RelayAddress.parse(uri);
        }
        dialUri(uri, address);
    }

    private void move(URI target) {
        if (closed || dialer == null) {
            return; // closed, or not started: start() dials what the selector picks
        }
        ControlHandler c = control;
        if (c != null && c.address.uri().equals(target)) {
            return; // already there
        }
        ControlHandler a = attempt;
        if (a != null && a != c) {
            if (a.address.uri().equals(target)) {
                return; // already on the way there
            }
            attempt = null; // its close is now stale and schedules nothing
            a.close(new RelayUnavailableException("superseded by a move to " + target));
        }
        if (reconnectTask != null) {
            reconnectTask.cancel(false);
            reconnectTask = null;
        }
        log.info("moving the relay connection {}to {}", c == null ? "" : "from " + c.address + " ", target);
        dialUri(target, RelayAddress.parse(target));
    }

    private void dialUri(URI uri, RelayAddress address) {
        lastUri = uri;
        ConnectMode mode = config.modeFor(address);
        boolean fallback = false;
        if (mode == ConnectMode.AUTO) {
            fallback = !stickyWebSocket;
            mode = stickyWebSocket ? ConnectMode.WEBSOCKET : ConnectMode.UPGRADE;
        }
        dial(address, mode, fallback);
    }

    private void dial(RelayAddress address, ConnectMode mode, boolean fallbackAllowed) {
        if (control == null) {
            state = RelayConnectionState.CONNECTING; // a move keeps the current connection (and CONNECTED) until it is done
        }
        connectAttempts.increment();
        metrics.connectAttempt();
        ControlHandler h = new ControlHandler(config.identity(), config.acceptsCircuits(), config.software(),
                config.pingInterval(), config.pingTimeout(), metrics, controlEvents, System::nanoTime);
        h.address = address;
        h.mode = mode;
        h.fallbackAllowed = fallbackAllowed;
        attempt = h;
        log.debug("connecting to relay {} ({})", address, mode);
        // One deadline for the whole attempt: DNS, TCP, TLS, HTTP, authentication.
        ScheduledFuture<?> timeout = loop.schedule(() -> {
            if (!h.ready()) {
                h.close(new RelayTimeoutException("relay handshake not done within "
                        + config.handshakeTimeout().toMillis() + " ms"));
            }
        }, config.handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
        resolve(address).whenComplete((remote, err) -> runOnLoopQuietly(() -> {
            if (h.phase() == ControlHandler.Phase.CLOSED) {
                return; // timed out or client closed while resolving
            }
            if (err != null) {
                timeout.cancel(false);
                h.connectFailed(err instanceof CompletionException && err.getCause() != null
                        ? err.getCause() : err);
                return;
            }
            h.remote = remote;
            ChannelFuture cf;
            try {
                cf = dialer.connect(loop, address, remote, mode, RelayProtocol.CONTROL_PATH, FramePolicy.CLIENT_CONTROL,
                        byteCounter, h, false, true);
            } catch (RuntimeException e) {
                timeout.cancel(false);
                h.connectFailed(e);
                return;
            }
            cf.addListener(f -> {
                if (!f.isSuccess()) {
                    timeout.cancel(false);
                    h.connectFailed(f.cause());
                }
            });
            cf.channel().closeFuture().addListener(f -> timeout.cancel(false));
        }));
    }

    /**
     * Resolves the relay's host off the event loop (the JDK resolver blocks), on a virtual thread;
     * IP literals need no lookup. Happy eyeballs is not attempted: the first address is used.
     */
    static CompletableFuture<InetSocketAddress> resolve(RelayAddress address) {
        String host = address.host();
        if (NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)) {
            return CompletableFuture.completedFuture(
                    new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(host), address.port()));
        }
        CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
        Thread.ofVirtual().name("burrow-relay-dns").start(() -> {
            try {
                result.complete(new InetSocketAddress(InetAddress.getByName(host), address.port()));
            } catch (UnknownHostException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private final ControlHandler.Events controlEvents = new ControlHandler.Events() {
        @Override
        public void accepted(ControlHandler h, RelayFrame.ServerHello hello, RelayFrame.ServerAccept accept) {
            onAccepted(h, hello, accept);
        }

        @Override
        public void frame(ControlHandler h, RelayFrame frame) {
            onFrame(h, frame);
        }

        @Override
        public void rtt(ControlHandler h, Duration rtt) {
            lastRtt = rtt;
            fire(l -> l.rtt(rtt));
        }

        @Override
        public void writabilityChanged(ControlHandler h, boolean writable) {
            fire(l -> l.writabilityChanged(writable));
        }

        @Override
        public void closed(ControlHandler h, Throwable cause) {
            onClosed(h, cause);
        }
    };

    private void onAccepted(ControlHandler h, RelayFrame.ServerHello hello, RelayFrame.ServerAccept accept) {
        if (closed || h != attempt) {
            h.close(new RelayUnavailableException("stale connection"));
            return;
        }
        RelayConnectionInfo info = new RelayConnectionInfo(h.address.uri(), h.mode, hello.relayId(), hello.version(),
                Duration.ofMillis(accept.keepaliveMillis()), h.maxDatagram(), accept.observedAddress(), accept.stunPort());
        connectionInfo = info;
        connectedSince = Instant.now();
        ControlHandler previous = control;
        control = h;
        if (previous != null && previous != h) {
            retire(previous, h);
        }
        state = RelayConnectionState.CONNECTED;
        restartPlanned = false;
        drainingControl = null;
        if (everConnected) {
            reconnects.increment();
        }
        everConnected = true;
        metrics.connected();
        log.info("connected to relay {} ({}, {}) as {}", hello.relayId(), h.address, h.mode, nodeKey().shortId());
        CompletableFuture<RelayConnectionInfo> waiting = nextConnection;
        nextConnection = new CompletableFuture<>();
        waiting.complete(info);
        fire(l -> l.connected(info));
    }

    /**
     * Closes the connection we moved away from: at once when no circuit request is waiting on it,
     * else once those requests had their time (a request's answer comes on the connection it was
     * sent on). Attached circuits are separate connections and are not touched.
     */
    private void retire(ControlHandler old, ControlHandler next) {
        RelayUnavailableException why = new RelayUnavailableException("moved to relay " + next.address);
        boolean waiting = pendingCircuits.values().stream().anyMatch(p -> p.control == old);
        if (!waiting) {
            old.close(why);
            return;
        }
        retiring.add(old);
        try {
            loop.schedule(() -> old.close(why), config.circuitTimeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            old.close(why); // shutting down
        }
    }

    private void onClosed(ControlHandler h, Throwable cause) {
        boolean wasReady = h.readyAtNanos() != 0;
        retiring.remove(h);
        if (control == h) {
            control = null;
            if (attempt != h && attempt != null && !closed) {
                state = RelayConnectionState.CONNECTING; // lost while moving: the move's attempt goes on
            }
        }
        failPending(h, new RelayUnavailableException("relay connection lost", cause));
        if (h != attempt || closed) {
            return;
        }
        attempt = null;
        if (!wasReady && h.fallbackAllowed && cause instanceof UpgradeRefusedException) {
            log.info("relay {} refused the HTTP upgrade ({}); using WebSocket", h.address, cause.getMessage());
            stickyWebSocket = true;
            dial(h.address, ConnectMode.WEBSOCKET, false);
            return;
        }
        ControlHandler current = control;
        if (current != null && current != h) {
            // A move failed: stay on the connection we have.
            attempt = current;
            lastUri = current.address.uri();
            log.info("could not move to relay {} ({}); staying on {}", h.address, describe(cause), current.address);
            fire(l -> l.moveFailed(h.address.uri(), cause));
            if (current == drainingControl && attempt == current) {
                scheduleRenew(current, backoff.next()); // still on a draining relay: try again, paced
            }
            return;
        }
        long now = System.nanoTime();
        if (wasReady && now - h.readyAtNanos() >= config.stableAfter().toNanos()) {
            backoff.reset();
        }
        RelayUrlSelector.Reason reason;
        Duration delay;
        if (cause instanceof RelayDeniedException denial) {
            lastDenial = denial;
            reason = RelayUrlSelector.Reason.DENIED;
            if (denial.definitive()) {
                delay = Backoff.jitter(config.deniedBackoff(), random);
                state = RelayConnectionState.DENIED;
            } else {
                delay = backoff.next();
                state = RelayConnectionState.BACKING_OFF;
            }
            log.warn("{}; retrying in {} ms", denial.getMessage(), delay.toMillis());
            Duration d = delay;
            fire(l -> l.denied(denial, d));
        } else {
            if (restartPlanned && now < restartReconnectAtNanos) {
                backoff.reset();
                delay = Duration.ofNanos(restartReconnectAtNanos - now);
                reason = RelayUrlSelector.Reason.RESTARTING;
            } else if (restartPlanned && now < restartTryUntilNanos) {
                delay = backoff.next();
                reason = RelayUrlSelector.Reason.RESTARTING;
            } else if (restartPlanned) {
                restartPlanned = false;
                delay = backoff.next();
                reason = RelayUrlSelector.Reason.RESTART_WINDOW_EXPIRED;
            } else {
                delay = backoff.next();
                reason = RelayUrlSelector.Reason.RECONNECT;
            }
            state = RelayConnectionState.BACKING_OFF;
            if (wasReady) {
                log.info("relay connection to {} lost ({}); reconnecting in {} ms", h.address, describe(cause), delay.toMillis());
            } else {
                log.debug("relay connection to {} failed ({}); retrying in {} ms", h.address, describe(cause), delay.toMillis());
            }
            Duration d = delay;
            fire(l -> l.disconnected(cause, d));
        }
        metrics.reconnectScheduled(delay);
        RelayUrlSelector.Reason r = reason;
        reconnectTask = loop.schedule(() -> connect(r), delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    // ------------------------------------------------------------------ frames

    private void onFrame(ControlHandler h, RelayFrame frame) {
        if (h != control && !(frame instanceof RelayFrame.RecvDatagram || frame instanceof RelayFrame.CircuitOffer
                || frame instanceof RelayFrame.CircuitAccepted || frame instanceof RelayFrame.CircuitRejected)) {
            // A connection we moved away from: its presence, health and restart news are about a relay we left.
            log.debug("ignoring {} from relay {} (moved away)", frame.type(), h.address);
            return;
        }
        switch (frame) {
            case RelayFrame.RecvDatagram d -> {
                datagramsReceived.increment();
                metrics.datagramReceived(d.payload().readableBytes());
                DatagramHandler handler = datagramHandler;
                if (handler != null) {
                    try {
                        handler.datagram(d.source(), d.payload());
                    } catch (RuntimeException e) {
                        log.warn("datagram handler failed", e);
                    }
                }
            }
            case RelayFrame.PeerPresent p -> fire(l -> l.peerPresent(p.peer()));
            case RelayFrame.PeerGone g -> fire(l -> l.peerGone(g.peer(), g.reason()));
            case RelayFrame.Health health -> fire(l -> l.health(health.problem()));
            case RelayFrame.RateLimited r -> fire(l -> l.rateLimited(r.bytesPerSecond(), r.burstBytes()));
            case RelayFrame.Restarting r -> {
                long now = System.nanoTime();
                restartPlanned = true;
                drainingControl = h;
                restartReconnectAtNanos = now + TimeUnit.MILLISECONDS.toNanos(r.reconnectInMillis());
                restartTryUntilNanos = restartReconnectAtNanos + TimeUnit.MILLISECONDS.toNanos(r.tryForMillis());
                Duration in = Duration.ofMillis(r.reconnectInMillis());
                Duration tryFor = Duration.ofMillis(r.tryForMillis());
                log.info("relay {} is restarting: reconnecting in {} ms, for up to {} ms", h.address, in.toMillis(), tryFor.toMillis());
                fire(l -> l.restarting(in, tryFor));
                // Unless a listener moved us elsewhere by then, open a new connection to the same URL after
                // reconnectIn (plus jitter to spread the storm), keeping this one until it is up: behind a
                // load balancer it lands on a relay that is not draining, and circuits here keep running.
                long spread = Math.min(r.reconnectInMillis(), MAX_RENEW_SPREAD.toMillis());
                long delay = r.reconnectInMillis() + (spread <= 0 ? 0 : random.nextLong(spread + 1));
                scheduleRenew(h, Duration.ofMillis(delay));
            }
            case RelayFrame.CircuitOffer o -> onOffer(h, o);
            case RelayFrame.CircuitAccepted a -> onCircuitAccepted(h, a);
            case RelayFrame.CircuitRejected r -> onCircuitRejected(h, r);
            case RelayFrame.Published p -> fire(l -> l.published(p.service(), p.port(), p.publicAddress()));
            case RelayFrame.PublishRefused r -> fire(l -> l.publishRefused(r.service(), r.reason(), r.message()));
            case RelayFrame.NameResult r -> onNameResult(h, r);
            default -> log.debug("ignoring {} from relay", frame.type());
        }
    }

    /** Largest random spread added to RESTARTING's {@code reconnectIn} before renewing the connection. */
    static final Duration MAX_RENEW_SPREAD = Duration.ofSeconds(2);

    /** At most one renewal is pending: a relay repeating RESTARTING replaces it rather than piling up tasks. */
    private void scheduleRenew(ControlHandler draining, Duration delay) {
        if (renewTask != null) {
            renewTask.cancel(false);
        }
        try {
            renewTask = loop.schedule(() -> renew(draining), delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            renewTask = null; // shutting down
        }
    }

    /** Re-dials the draining connection's URL, make-before-break, while we are still on it and nothing else is under way. */
    private void renew(ControlHandler draining) {
        if (closed || control != draining || attempt != draining || drainingControl != draining
                || System.nanoTime() - restartTryUntilNanos >= 0) {
            return;
        }
        log.info("renewing the connection to restarting relay {}", draining.address);
        dialUri(draining.address.uri(), draining.address);
    }

    private void fire(Consumer<RelayClientListener> event) {
        for (RelayClientListener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                log.warn("relay client listener failed", e);
            }
        }
    }

    // ------------------------------------------------------------------ name lookups

    private static final class PendingLookup {
        final CompletableFuture<List<NodeKey>> result;
        final ControlHandler control;
        ScheduledFuture<?> timeout;

        PendingLookup(CompletableFuture<List<NodeKey>> result, ControlHandler control) {
            this.result = result;
            this.control = control;
        }
    }

    private void requestLookup(String name, CompletableFuture<List<NodeKey>> result) {
        ControlHandler c = control;
        if (closed || c == null || !c.ready()) {
            result.completeExceptionally(new RelayUnavailableException("not connected to a relay"));
            return;
        }
        if (pendingLookups.size() >= MAX_PENDING_LOOKUPS) {
            result.completeExceptionally(new IllegalStateException("too many name lookups pending (" + MAX_PENDING_LOOKUPS + ")"));
            return;
        }
        long id;
        do {
            id = nextLookupId;
            nextLookupId = (nextLookupId + 1) & 0xFFFF_FFFFL;
        } while (pendingLookups.containsKey(id));
        long requestId = id;
        PendingLookup p = new PendingLookup(result, c);
        pendingLookups.put(requestId, p);
        p.timeout = loop.schedule(() -> {
            if (pendingLookups.remove(requestId, p)) {
                result.completeExceptionally(new RelayTimeoutException("relay did not answer the name lookup within "
                        + LOOKUP_TIMEOUT.toMillis() + " ms"));
            }
        }, LOOKUP_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
        c.channel().writeAndFlush(new ClientFrame.LookupName(requestId, name)).addListener(f -> {
            if (!f.isSuccess() && pendingLookups.remove(requestId, p)) {
                p.timeout.cancel(false);
                result.completeExceptionally(new RelayUnavailableException("relay connection lost", f.cause()));
            }
        });
    }

    private void onNameResult(ControlHandler h, RelayFrame.NameResult r) {
        PendingLookup p = pendingLookups.get(r.requestId());
        if (p == null || p.control != h) {
            log.debug("NAME_RESULT for unknown lookup {}", r.requestId());
            return;
        }
        pendingLookups.remove(r.requestId());
        p.timeout.cancel(false);
        p.result.complete(r.keys());
    }

    // ------------------------------------------------------------------ circuits: dialer

    private static final class PendingCircuit {
        final long requestId;
        final NodeKey destination;
        final String service;
        final CompletableFuture<CircuitConnection> result;
        final ControlHandler control;
        final EventLoop near;
        ScheduledFuture<?> timeout;

        PendingCircuit(long requestId, NodeKey destination, String service, CompletableFuture<CircuitConnection> result,
                       ControlHandler control, EventLoop near) {
            this.near = near;
            this.requestId = requestId;
            this.destination = destination;
            this.service = service;
            this.result = result;
            this.control = control;
        }
    }

    private void requestCircuit(NodeKey destination, String service, CompletableFuture<CircuitConnection> result,
                                EventLoop near) {
        ControlHandler c = control;
        if (closed || c == null || !c.ready()) {
            result.completeExceptionally(new RelayUnavailableException("not connected to a relay"));
            return;
        }
        if (pendingCircuits.size() + dialerAttaching >= config.maxPendingCircuits()) {
            metrics.circuitFailed(CircuitRejectReason.LIMIT_REACHED);
            result.completeExceptionally(new CircuitRejectedException(CircuitRejectReason.LIMIT_REACHED,
                    "too many circuits being opened", true));
            return;
        }
        long id = allocateRequestId();
        PendingCircuit p = new PendingCircuit(id, destination, service, result, c, near);
        pendingCircuits.put(id, p);
        p.timeout = loop.schedule(() -> {
            pendingCircuits.remove(id, p);
            if (result.completeExceptionally(new CircuitRejectedException(CircuitRejectReason.TIMEOUT,
                    "no circuit within " + config.circuitTimeout().toMillis() + " ms", true))) {
                metrics.circuitFailed(CircuitRejectReason.TIMEOUT);
            }
        }, config.circuitTimeout().toNanos(), TimeUnit.NANOSECONDS);
        c.channel().writeAndFlush(new ClientFrame.CircuitRequest(id, destination, service)).addListener(f -> {
            if (!f.isSuccess() && pendingCircuits.remove(id, p)) {
                p.timeout.cancel(false);
                result.completeExceptionally(new RelayUnavailableException("relay connection lost", f.cause()));
            }
        });
    }

    private long allocateRequestId() {
        long id;
        do {
            id = nextRequestId;
            nextRequestId = (nextRequestId + 1) & 0xFFFF_FFFFL;
        } while (pendingCircuits.containsKey(id));
        return id;
    }

    private void onCircuitAccepted(ControlHandler h, RelayFrame.CircuitAccepted a) {
        PendingCircuit p = pendingCircuits.get(a.requestId());
        if (p == null || p.control != h) {
            log.debug("CIRCUIT_ACCEPTED for unknown request {}", a.requestId());
            return;
        }
        pendingCircuits.remove(a.requestId());
        if (p.result.isDone()) {
            p.timeout.cancel(false);
            return; // cancelled by the caller; the relay drops the half-attached circuit after its timeout
        }
        dialerAttaching++;
        attach(h, a.circuitId(), a.token(), p.destination, p.service, true, p.near == null ? loop : p.near).addListener(f -> {
            dialerAttaching--;
            p.timeout.cancel(false);
            if (f.isSuccess()) {
                CircuitConnection conn = (CircuitConnection) f.getNow();
                if (p.result.complete(conn)) {
                    metrics.circuitOpened(true);
                } else {
                    conn.close();
                }
            } else {
                CircuitRejectedException e = asCircuitFailure(f.cause());
                if (p.result.completeExceptionally(e)) {
                    metrics.circuitFailed(e.reason());
                }
            }
        });
    }

    private void onCircuitRejected(ControlHandler h, RelayFrame.CircuitRejected r) {
        PendingCircuit p = pendingCircuits.get(r.requestId());
        if (p == null || p.control != h) {
            return;
        }
        pendingCircuits.remove(r.requestId());
        p.timeout.cancel(false);
        if (p.result.completeExceptionally(new CircuitRejectedException(r.reason(), r.message(), false))) {
            metrics.circuitFailed(r.reason());
        }
    }

    /** Fails requests still waiting for an answer on {@code h} (all when null). Attachments in progress go on. */
    private void failPending(ControlHandler h, IOException cause) {
        List<PendingCircuit> failed = new ArrayList<>();
        pendingCircuits.values().removeIf(p -> {
            if (h == null || p.control == h) {
                failed.add(p);
                return true;
            }
            return false;
        });
        for (PendingCircuit p : failed) {
            p.timeout.cancel(false);
            p.result.completeExceptionally(cause);
        }
        List<PendingLookup> lookups = new ArrayList<>();
        pendingLookups.values().removeIf(p -> {
            if (h == null || p.control == h) {
                lookups.add(p);
                return true;
            }
            return false;
        });
        for (PendingLookup p : lookups) {
            p.timeout.cancel(false);
            p.result.completeExceptionally(cause);
        }
    }

    private static CircuitRejectedException asCircuitFailure(Throwable cause) {
        if (cause instanceof CircuitRejectedException c) {
            return c;
        }
        if (cause instanceof RelayDeniedException d) {
            CircuitRejectReason reason = switch (d.reason()) {
                case TIMEOUT -> CircuitRejectReason.TIMEOUT;
                case RATE_LIMITED, SERVER_FULL -> CircuitRejectReason.LIMIT_REACHED;
                case DRAINING -> CircuitRejectReason.RELAY_DRAINING;
                case AUTH_FAILED, NOT_ALLOWED -> CircuitRejectReason.NOT_ALLOWED;
                default -> CircuitRejectReason.INTERNAL;
            };
            return new CircuitRejectedException(reason, d.relayMessage(), false, d);
        }
        return new CircuitRejectedException(CircuitRejectReason.INTERNAL, "attach failed: " + describe(cause), true, cause);
    }

    // ------------------------------------------------------------------ circuits: listener

    private void onOffer(ControlHandler h, RelayFrame.CircuitOffer offer) {
        IncomingCircuit incoming = new IncomingCircuit(offer.circuitId(), offer.source(), offer.service(), offer.ingress());
        CircuitAcceptor acceptor = circuitAcceptor;
        CircuitDecision decision;
        if (offer.hasUnknownFlags()) {
            decision = CircuitDecision.reject(CircuitRejectReason.BAD_REQUEST, "unknown circuit offer flags");
        } else if (!config.acceptsCircuits() || acceptor == null) {
            decision = CircuitDecision.reject(CircuitRejectReason.SERVICE_UNKNOWN, "this node accepts no circuits");
        } else if (listenerAttaching >= config.maxPendingCircuits() && !evictForFairShare(offer.source())) {
            decision = CircuitDecision.reject(CircuitRejectReason.LIMIT_REACHED, "too many circuits being attached");
        } else {
            try {
                decision = acceptor.decide(incoming);
                if (decision == null) {
                    decision = CircuitDecision.reject(CircuitRejectReason.INTERNAL, "");
                }
            } catch (RuntimeException e) {
                log.warn("circuit acceptor failed", e);
                decision = CircuitDecision.reject(CircuitRejectReason.INTERNAL, "");
            }
        }
        Channel ch = h.channel();
        if (decision instanceof CircuitDecision.Reject r) {
            metrics.circuitFailed(r.reason());
            ch.writeAndFlush(new ClientFrame.CircuitReject(offer.circuitId(), r.reason(), r.message()), ch.voidPromise());
            return;
        }
        ch.writeAndFlush(new ClientFrame.CircuitAccept(offer.circuitId()), ch.voidPromise());
        listenerAttaching++;
        // Incoming circuits spread over the group's loops; the target connection joins the same loop.
        // An ingress circuit carries a public client's plaintext (no end-to-end TLS inside): always
        // with relay TLS, never as a plain circuit connection.
        Future<CircuitConnection> attaching = offer.ingress()
                ? attach(h, offer.circuitId(), offer.token(), offer.source(), offer.service(), false, true, group.next())
                : attach(h, offer.circuitId(), offer.token(), offer.source(), offer.service(), false, group.next());
        attachingBySource.computeIfAbsent(offer.source(), k -> new java.util.ArrayDeque<>()).add(attaching);
        attaching.addListener(f -> {
            listenerAttaching--;
            attachingBySource.computeIfPresent(offer.source(), (k, q) -> {
                q.remove(f);
                return q.isEmpty() ? null : q;
            });
            if (f.isCancelled()) {
                metrics.circuitFailed(CircuitRejectReason.LIMIT_REACHED);
                log.debug("circuit {} from {} gave its attach slot to a dialer holding fewer", offer.circuitId(),
                        offer.source().shortId());
                return;
            }
            if (f.isSuccess()) {
                CircuitConnection conn = (CircuitConnection) f.getNow();
                metrics.circuitOpened(false);
                try {
                    acceptor.attached(incoming, conn);
                } catch (RuntimeException e) {
                    log.warn("circuit acceptor failed", e);
                    conn.close();
                }
            } else {
                CircuitRejectedException e = asCircuitFailure(f.cause());
                metrics.circuitFailed(e.reason());
                try {
                    acceptor.attachFailed(incoming, e);
                } catch (RuntimeException ex) {
                    log.warn("circuit acceptor failed", ex);
                }
            }
        });
    }

    /**
     * The relay's fair share rule, mirrored: when every listener-side attach slot is taken and some
     * dialer holds at least two more of them than {@code source}, that dialer's oldest attach (a
     * circuit its dialer has not joined: CIRCUIT_ATTACHED comes only when both ends are in) is
     * cancelled and its circuit connection closed. The relay evicts the same way, but its close of
     * the old circuit and its offer of the new one travel on different connections; without this
     * the offer could arrive first and be refused here. True if a slot was freed.
     */
    private boolean evictForFairShare(NodeKey source) {
        var mine = attachingBySource.get(source);
        int held = mine == null ? 0 : mine.size();
        java.util.ArrayDeque<Future<CircuitConnection>> top = null;
        for (var q : attachingBySource.values()) {
            if (q.size() >= held + 2 && (top == null || q.size() > top.size())) {
                top = q;
            }
        }
        if (top == null) {
            return false;
        }
        for (Future<CircuitConnection> oldest : List.copyOf(top)) {
            if (oldest.cancel(false)) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ circuits: attaching

    /**
     * Opens a circuit connection to the relay of {@code control} and attaches it: without relay TLS
     * when configured and the relay has not refused that on this control connection, else with it.
     */
    private Future<CircuitConnection> attach(ControlHandler control, CircuitId circuitId, CircuitToken token, NodeKey peer,
                                             String service, boolean dialerSide, EventLoop on) {
        boolean plain = config.plainCircuits() && control.mode == ConnectMode.UPGRADE && !control.plainCircuitsRefused;
        if (!plain) {
            return attach(control, circuitId, token, peer, service, dialerSide, true, on);
        }
        Promise<CircuitConnection> result = loop.newPromise();
        var current = new java.util.concurrent.atomic.AtomicReference<Future<CircuitConnection>>();
        result.addListener(f -> {
            var inner = current.get();
            if (f.isCancelled() && inner != null) {
                inner.cancel(false);
            }
        });
        Future<CircuitConnection> first = attach(control, circuitId, token, peer, service, dialerSide, false, on);
        current.set(first);
        first.addListener(f -> {
            if (result.isCancelled()) {
                if (f.isSuccess()) {
                    ((CircuitConnection) f.getNow()).close();
                }
                return;
            }
            if (f.isSuccess()) {
                result.trySuccess((CircuitConnection) f.getNow());
            } else if (f.cause() instanceof PlainCircuitRefused && !closed) {
                // The relay does not take circuits without TLS (its operator turned them off): the
                // token was not presented, so it is still good. Once per control connection.
                control.plainCircuitsRefused = true;
                log.info("relay {} refuses circuit connections without relay TLS; using TLS for them", control.address);
                Future<CircuitConnection> retry = attach(control, circuitId, token, peer, service, dialerSide, true, on);
                current.set(retry);
                retry.addListener(g -> {
                    if (g.isSuccess()) {
                        if (!result.trySuccess((CircuitConnection) g.getNow())) {
                            ((CircuitConnection) g.getNow()).close();
                        }
                    } else {
                        result.tryFailure(g.cause());
                    }
                });
            } else {
                result.tryFailure(f.cause());
            }
        });
        return result;
    }

    /** A circuit connection without relay TLS ended before the relay switched protocols. */
    private static final class PlainCircuitRefused extends IOException {
        PlainCircuitRefused(Throwable cause) {
            super("relay refused a circuit connection without TLS: " + cause, cause);
        }
    }

    private Future<CircuitConnection> attach(ControlHandler control, CircuitId circuitId, CircuitToken token, NodeKey peer,
                                             String service, boolean dialerSide, boolean relayTls, EventLoop on) {
        Promise<CircuitConnection> result = loop.newPromise();
        if (closed) {
            result.setFailure(new RelayUnavailableException("relay client closed"));
            return result;
        }
        Promise<Channel> attached = loop.newPromise();
        CircuitAttachHandler handler = new CircuitAttachHandler(circuitId, token, attached);
        ChannelFuture cf;
        try {
            // The same relay instance as the control connection (its address, not a new DNS answer):
            // the circuit and its tokens live there.
            cf = dialer.connect(on, control.address, control.remote, control.mode,
                    RelayProtocol.CIRCUIT_PATH, FramePolicy.CLIENT_AWAITING_ATTACHED, null, handler, true, relayTls);
        } catch (RuntimeException e) {
            result.setFailure(e);
            return result;
        }
        ScheduledFuture<?> timeout = loop.schedule(() -> {
            handler.fail(new CircuitRejectedException(CircuitRejectReason.TIMEOUT,
                    "circuit not attached within " + config.handshakeTimeout().toMillis() + " ms", true));
        }, config.handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
        result.addListener(f -> {
            if (f.isCancelled()) {
                // evicted for a fairer share (listener side): the circuit connection goes now
                handler.fail(new java.util.concurrent.CancellationException("circuit attach cancelled"));
                cf.channel().close();
            }
        });
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                handler.fail(f.cause());
            }
        });
        attached.addListener(f -> {
            timeout.cancel(false);
            if (f.isSuccess()) {
                Channel ch = cf.channel();
                CircuitConnection conn = new CircuitConnection(ch, circuitId, peer, service, dialerSide, control.mode);
                if (!result.trySuccess(conn)) {
                    ch.close();
                }
            } else {
                cf.channel().close();
                Throwable cause = f.cause();
                boolean beforeUpgrade = !handler.transportReady() && !(cause instanceof CircuitRejectedException);
                result.tryFailure(!relayTls && beforeUpgrade && cf.isSuccess() ? new PlainCircuitRefused(cause) : cause);
            }
        });
        return result;
    }

    /** Counts violations for stats as well as passing them on. */
    private final class CountingMetrics implements RelayClientMetrics {
        private final RelayClientMetrics delegate;

        CountingMetrics(RelayClientMetrics delegate) {
            this.delegate = delegate;
        }

        @Override public void connectAttempt() { delegate.connectAttempt(); }
        @Override public void connected() { delegate.connected(); }
        @Override public void reconnectScheduled(Duration delay) { delegate.reconnectScheduled(delay); }
        @Override public void denied(DenyReason reason) { delegate.denied(reason); }
        @Override public void deadRelay(DeadCause cause) { delegate.deadRelay(cause); }
        @Override public void rtt(Duration rtt) { delegate.rtt(rtt); }
        @Override public void datagramSent(int bytes) { delegate.datagramSent(bytes); }
        @Override public void datagramReceived(int bytes) { delegate.datagramReceived(bytes); }
        @Override public void datagramDropped(SendResult result) { delegate.datagramDropped(result); }
        @Override public void unknownFrame() { delegate.unknownFrame(); }
        @Override public void circuitOpened(boolean dialer) { delegate.circuitOpened(dialer); }
        @Override public void circuitFailed(CircuitRejectReason reason) { delegate.circuitFailed(reason); }

        @Override
        public void protocolViolation(ProtocolViolation.Kind kind) {
            protocolViolations.increment();
            delegate.protocolViolation(kind);
        }
    }
}
