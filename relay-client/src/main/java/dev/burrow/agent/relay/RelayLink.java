package dev.burrow.agent.relay;

import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's control connection and its lifecycle: dials (one deadline for DNS, TCP, TLS, HTTP
 * and authentication; HTTP Upgrade falling back to WebSocket once refused), reconnects with
 * jittered exponential backoff, moves between relays make-before-break, and renews the connection
 * to a relay that announced RESTARTING. What rides on the connection (datagrams, circuits, name
 * lookups) is the {@link Traffic}'s: the link hands it every frame that is not about the
 * connection itself and tells it when a connection is lost.
 *
 * <p>At most one connection is in use ({@link #current()}); while a move or renewal is under way a
 * second one is being set up ({@code attempt}); connections moved away from stay open in
 * {@code retiring} until the circuit requests sent on them have had their time.
 */
final class RelayLink {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    /** Largest random spread added to RESTARTING's {@code reconnectIn} before renewing the connection. */
    static final Duration MAX_RENEW_SPREAD = Duration.ofSeconds(2);

    /** What uses the connection. Called on the event loop. */
    interface Traffic {
        /** A frame for what rides on the connection (datagrams, presence, circuits, publications, names). */
        void frame(ControlHandler h, RelayFrame frame);

        /** Requests still waiting for an answer on {@code h} (all when null) fail with {@code cause}. */
        void connectionLost(ControlHandler h, IOException cause);

        /** True while a request sent on {@code h} still waits for its answer (which comes on {@code h}). */
        boolean awaitsAnswerOn(ControlHandler h);
    }

    // Final after construction.
    private final RelayClientConfig config;
    private final RelayClientMetrics metrics;
    private final EventLoop loop;
    private final RandomGenerator random;
    private final RelayClientListeners listeners;
    private final ByteCounter byteCounter = new ByteCounter();
    private final ReconnectSchedule schedule;
    private final Traffic traffic;

    // Read from any thread, written on the event loop (closed: under this lock).
    private volatile RelayConnectionState state = RelayConnectionState.NEW;
    private volatile ControlHandler control; // ready connection, or null
    private volatile RelayConnectionInfo connectionInfo;
    private volatile Instant connectedSince;
    private volatile Duration lastRtt;
    private volatile RelayDeniedException lastDenial;
    private volatile boolean closed;
    private final LongAdder connectAttempts = new LongAdder();
    private final LongAdder reconnects = new LongAdder();

    // Set once by start() under this lock (with the closed check); read on the event loop afterwards.
    private volatile RelayDialer dialer;

    // Owned by the event loop.
    private ControlHandler attempt;
    private URI lastUri;
    private boolean stickyWebSocket;
    private boolean everConnected;
    /** The connection whose relay announced RESTARTING and that we still use (renewed make-before-break), or null. */
    private ControlHandler drainingControl;

    private ScheduledFuture<?> renewTask;
    private ScheduledFuture<?> reconnectTask;
    private CompletableFuture<RelayConnectionInfo> nextConnection = new CompletableFuture<>();
    /** Connections we moved away from, closed once their circuit requests had their time (at most one per move). */
    private final Set<ControlHandler> retiring = new LinkedHashSet<>();

    RelayLink(
            RelayClientConfig config,
            RelayClientMetrics metrics,
            EventLoop loop,
            RandomGenerator random,
            RelayClientListeners listeners,
            Traffic traffic) {
        this.config = config;
        this.metrics = metrics;
        this.loop = loop;
        this.random = random;
        this.listeners = listeners;
        this.traffic = traffic;
        this.schedule = new ReconnectSchedule(config, random);
    }

    // ------------------------------------------------------------------ for the client and its parts

    EventLoop loop() {
        return loop;
    }

    boolean closed() {
        return closed;
    }

    /** The authenticated connection in use, or null. Safe from any thread. */
    ControlHandler current() {
        return control;
    }

    /** The dialer (null before start); circuits dial the relay of their control connection with it. */
    RelayDialer dialer() {
        return dialer;
    }

    RelayConnectionState state() {
        return state;
    }

    RelayConnectionInfo connectionInfo() {
        return control != null ? connectionInfo : null;
    }

    Instant connectedSince() {
        return control != null ? connectedSince : null;
    }

    Duration lastRtt() {
        return lastRtt;
    }

    RelayDeniedException lastDenial() {
        return lastDenial;
    }

    ByteCounter byteCounter() {
        return byteCounter;
    }

    long connectAttempts() {
        return connectAttempts.sum();
    }

    long reconnects() {
        return reconnects.sum();
    }

    /** @see RelayClient#start() */
    synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("client is closed");
        }
        if (dialer != null) {
            return;
        }
        SslContext ssl = config.trust().sslContext();
        dialer = new RelayDialer(
                config.transport().socketChannel(), ssl, config.connectTimeout(), config.handshakeTimeout());
        loop.execute(() -> connect(RelayUrlSelector.Reason.INITIAL));
    }

    /** Marks the link closed; false when it already was. The caller then runs {@link #shutdown} on the loop. */
    boolean markClosed() {
        synchronized (this) {
            if (closed) {
                return false;
            }
            closed = true;
        }
        state = RelayConnectionState.CLOSED;
        return true;
    }

    /** On the loop, after {@link #markClosed}: stops reconnecting, fails what waits and closes every connection. */
    void shutdown() {
        if (reconnectTask != null) {
            reconnectTask.cancel(false);
        }
        RelayUnavailableException e = new RelayUnavailableException("relay client closed");
        traffic.connectionLost(null, e);
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
    }

    /** On the loop: completes {@code result} with the current connection, or when the next one is up. */
    void whenConnected(CompletableFuture<RelayConnectionInfo> result) {
        RelayConnectionInfo info = connectionInfo();
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

    /** On the loop: @see RelayClient#moveTo(URI) */
    void move(URI target) {
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
            state =
                    RelayConnectionState
                            .CONNECTING; // a move keeps the current connection (and CONNECTED) until it is done
        }
        connectAttempts.increment();
        metrics.connectAttempt();
        ControlHandler h = new ControlHandler(
                config.identity(),
                config.acceptsCircuits(),
                config.software(),
                config.pingInterval(),
                config.pingTimeout(),
                metrics,
                controlEvents,
                System::nanoTime);
        h.address = address;
        h.mode = mode;
        h.fallbackAllowed = fallbackAllowed;
        attempt = h;
        log.debug("connecting to relay {} ({})", address, mode);
        // One deadline for the whole attempt: DNS, TCP, TLS, HTTP, authentication.
        ScheduledFuture<?> timeout = loop.schedule(
                () -> {
                    if (!h.ready()) {
                        h.close(new RelayTimeoutException("relay handshake not done within "
                                + config.handshakeTimeout().toMillis() + " ms"));
                    }
                },
                config.handshakeTimeout().toNanos(),
                TimeUnit.NANOSECONDS);
        RelayDialer.resolve(address)
                .whenComplete((remote, err) -> runOnLoopQuietly(() -> {
                    if (h.phase() == ControlHandler.Phase.CLOSED) {
                        return; // timed out or client closed while resolving
                    }
                    if (err != null) {
                        timeout.cancel(false);
                        h.connectFailed(
                                err instanceof CompletionException && err.getCause() != null ? err.getCause() : err);
                        return;
                    }
                    h.remote = remote;
                    ChannelFuture cf;
                    try {
                        cf = dialer.connect(
                                loop,
                                address,
                                remote,
                                mode,
                                RelayProtocol.CONTROL_PATH,
                                FramePolicy.CLIENT_CONTROL,
                                byteCounter,
                                h,
                                false,
                                true);
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

    /** Runs {@code task} on the client's loop; dropped when the loop is gone (the client is closed). */
    void runOnLoopQuietly(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: nothing left to do
        }
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
            listeners.fire(l -> l.rtt(rtt));
        }

        @Override
        public void writabilityChanged(ControlHandler h, boolean writable) {
            listeners.fire(l -> l.writabilityChanged(writable));
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
        RelayConnectionInfo info = new RelayConnectionInfo(
                h.address.uri(),
                h.mode,
                hello.relayId(),
                hello.version(),
                Duration.ofMillis(accept.keepaliveMillis()),
                h.maxDatagram(),
                accept.observedAddress(),
                accept.stunPort());
        connectionInfo = info;
        connectedSince = Instant.now();
        ControlHandler previous = control;
        control = h;
        if (previous != null && previous != h) {
            retire(previous, h);
        }
        state = RelayConnectionState.CONNECTED;
        schedule.connected();
        drainingControl = null;
        if (everConnected) {
            reconnects.increment();
        }
        everConnected = true;
        metrics.connected();
        log.info(
                "connected to relay {} ({}, {}) as {}",
                hello.relayId(),
                h.address,
                h.mode,
                config.identity().nodeKey().shortId());
        CompletableFuture<RelayConnectionInfo> waiting = nextConnection;
        nextConnection = new CompletableFuture<>();
        waiting.complete(info);
        listeners.fire(l -> l.connected(info));
    }

    /**
     * Closes the connection we moved away from: at once when no circuit request is waiting on it,
     * else once those requests had their time (a request's answer comes on the connection it was
     * sent on). Attached circuits are separate connections and are not touched.
     */
    private void retire(ControlHandler old, ControlHandler next) {
        RelayUnavailableException why = new RelayUnavailableException("moved to relay " + next.address);
        if (!traffic.awaitsAnswerOn(old)) {
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
        traffic.connectionLost(h, new RelayUnavailableException("relay connection lost", cause));
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
            listeners.fire(l -> l.moveFailed(h.address.uri(), cause));
            if (current == drainingControl && attempt == current) {
                scheduleRenew(current, schedule.nextBackoff()); // still on a draining relay: try again, paced
            }
            return;
        }
        ReconnectSchedule.Plan plan = schedule.afterLoss(cause, wasReady, h.readyAtNanos(), System.nanoTime());
        Duration delay = plan.delay();
        state = plan.state();
        if (cause instanceof RelayDeniedException denial) {
            lastDenial = denial;
            log.warn("{}; retrying in {} ms", denial.getMessage(), delay.toMillis());
            listeners.fire(l -> l.denied(denial, delay));
        } else {
            if (wasReady) {
                log.info(
                        "relay connection to {} lost ({}); reconnecting in {} ms",
                        h.address,
                        describe(cause),
                        delay.toMillis());
            } else {
                log.debug(
                        "relay connection to {} failed ({}); retrying in {} ms",
                        h.address,
                        describe(cause),
                        delay.toMillis());
            }
            listeners.fire(l -> l.disconnected(cause, delay));
        }
        metrics.reconnectScheduled(delay);
        reconnectTask = loop.schedule(() -> connect(plan.reason()), delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    // ------------------------------------------------------------------ frames

    private void onFrame(ControlHandler h, RelayFrame frame) {
        if (h != control
                && !(frame instanceof RelayFrame.RecvDatagram
                        || frame instanceof RelayFrame.CircuitOffer
                        || frame instanceof RelayFrame.CircuitAccepted
                        || frame instanceof RelayFrame.CircuitRejected)) {
            // A connection we moved away from: its presence, health and restart news are about a relay we left.
            log.debug("ignoring {} from relay {} (moved away)", frame.type(), h.address);
            return;
        }
        if (frame instanceof RelayFrame.Restarting r) {
            onRestarting(h, r);
        } else {
            traffic.frame(h, frame);
        }
    }

    private void onRestarting(ControlHandler h, RelayFrame.Restarting r) {
        schedule.restarting(System.nanoTime(), r.reconnectInMillis(), r.tryForMillis());
        drainingControl = h;
        Duration in = Duration.ofMillis(r.reconnectInMillis());
        Duration tryFor = Duration.ofMillis(r.tryForMillis());
        log.info(
                "relay {} is restarting: reconnecting in {} ms, for up to {} ms",
                h.address,
                in.toMillis(),
                tryFor.toMillis());
        listeners.fire(l -> l.restarting(in, tryFor));
        // Unless a listener moved us elsewhere by then, open a new connection to the same URL after
        // reconnectIn (plus jitter to spread the storm), keeping this one until it is up: behind a
        // load balancer it lands on a relay that is not draining, and circuits here keep running.
        long spread = Math.min(r.reconnectInMillis(), MAX_RENEW_SPREAD.toMillis());
        long delay = r.reconnectInMillis() + (spread <= 0 ? 0 : random.nextLong(spread + 1));
        scheduleRenew(h, Duration.ofMillis(delay));
    }

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
        if (closed
                || control != draining
                || attempt != draining
                || drainingControl != draining
                || !schedule.inRestartWindow(System.nanoTime())) {
            return;
        }
        log.info("renewing the connection to restarting relay {}", draining.address);
        dialUri(draining.address.uri(), draining.address);
    }
}
