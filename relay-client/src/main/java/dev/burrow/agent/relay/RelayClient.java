package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.NodeNames;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.ServiceNames;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
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
 * <p>A facade over one part per state machine: {@link RelayLink} (the control connection: dialling,
 * backoff, moves between relays, RESTARTING), {@link RelayDatagrams}, {@link OutboundCircuits}
 * (CIRCUIT_REQUEST until attached), {@link InboundOffers} (CIRCUIT_OFFER until attached, with the
 * fair-share rule), {@link NameLookups}, and the {@link CircuitAttacher} both circuit sides share.
 * The link hands each frame to the part it belongs to ({@link #route}).
 *
 * <p>All connections of one client live on one event loop; callbacks run there. Public methods are
 * thread-safe.
 */
public final class RelayClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    /**
     * Name lookups waiting for NAME_RESULT at once. Forwards cache answers and share one lookup per
     * name, so even a burst of local connections needs few; beyond this a lookup fails at once instead
     * of queueing without bound. Kept below the relay's per-client control queue (32 by default) so a
     * full set of answers arriving together is never dropped there.
     */
    public static final int MAX_PENDING_LOOKUPS = 16;
    /** How long the relay may take to answer a LOOKUP_NAME (an index lookup: anything slower is a dead relay). */
    public static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(5);

    // Final after construction: the parts are thread-safe or confine their state to the loop.
    private final RelayClientConfig config;
    private final CountingMetrics metrics;
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final EventLoop loop;
    private final RelayClientListeners listeners = new RelayClientListeners();
    private final RelayLink link;
    private final RelayDatagrams datagrams;
    private final OutboundCircuits outbound;
    private final InboundOffers inbound;
    private final NameLookups lookups;

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
        this.link = new RelayLink(config, this.metrics, loop, ThreadLocalRandom.current(), listeners, new Traffic());
        CircuitAttacher attacher = new CircuitAttacher(config, link);
        this.datagrams = new RelayDatagrams(config, this.metrics, link);
        this.outbound = new OutboundCircuits(config, this.metrics, link, attacher);
        this.inbound = new InboundOffers(config, this.metrics, attacher, group);
        this.lookups = new NameLookups(link);
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
        datagrams.setHandler(handler);
    }

    /** Sets the listener-side circuit acceptor; offers are rejected while none is set or {@code acceptsCircuits} is off. */
    public void setCircuitAcceptor(CircuitAcceptor acceptor) {
        inbound.setAcceptor(acceptor);
    }

    /**
     * Starts connecting (in the background; watch the listener or {@link #whenConnected()}).
     *
     * @throws IOException when the TLS trust material cannot be loaded
     */
    public void start() throws IOException {
        link.start();
    }

    /** Closes the connection, fails pending circuits and stops reconnecting. Idempotent; circuits already handed out stay open. */
    @Override
    public void close() {
        if (!link.markClosed()) {
            return;
        }
        Future<?> done = loop.isShuttingDown() ? loop.newSucceededFuture(null) : loop.submit(link::shutdown);
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
        return link.state();
    }

    /** The current connection, if authenticated. */
    public Optional<RelayConnectionInfo> connection() {
        return Optional.ofNullable(link.connectionInfo());
    }

    /** The last DENY received (kept after reconnecting, for status output), or null. */
    public RelayDeniedException lastDenial() {
        return link.lastDenial();
    }

    /** Completes with the connection info when (next) connected; fails when the client closes. */
    public CompletableFuture<RelayConnectionInfo> whenConnected() {
        CompletableFuture<RelayConnectionInfo> result = new CompletableFuture<>();
        onLoop(result, () -> link.whenConnected(result));
        return result;
    }

    /** True when a datagram sent now would not be dropped for backpressure. */
    public boolean isWritable() {
        return datagrams.isWritable();
    }

    public RelayClientStats stats() {
        ByteCounter bytes = link.byteCounter();
        return new RelayClientStats(
                link.state(),
                link.connectionInfo(),
                link.connectedSince(),
                link.lastRtt(),
                bytes.in.sum(),
                bytes.out.sum(),
                datagrams.sent(),
                datagrams.received(),
                datagrams.dropped(),
                link.connectAttempts(),
                link.reconnects(),
                metrics.protocolViolations());
    }

    /**
     * Sends a datagram to {@code destination} through the relay. Never blocks. Takes ownership of
     * {@code payload} (released when dropped or written).
     */
    public SendResult send(NodeKey destination, ByteBuf payload) {
        return datagrams.send(destination, payload);
    }

    /** Bytes waiting to be written to the relay: our queue plus the channel's outbound buffer (tests, status). */
    CompletableFuture<Long> pendingOutboundBytes() {
        CompletableFuture<Long> result = new CompletableFuture<>();
        loop.execute(() -> datagrams.pendingOutboundBytes(result));
        return result;
    }

    /**
     * Asks the relay which connected nodes carry {@code name} in a certificate it verified as issued by
     * its fleet CA. Completes with their keys (empty when none; at most
     * {@link FrameLimits#MAX_NAME_RESULT_KEYS}), or fails with
     * {@link RelayUnavailableException} (not connected, connection lost), {@link RelayTimeoutException}
     * (no answer within {@link #LOOKUP_TIMEOUT}) or {@link IllegalStateException} (too many lookups
     * pending). The answer is a hint: the caller must check the name in the peer's certificate end to end.
     */
    public CompletableFuture<List<NodeKey>> lookupName(String name) {
        CompletableFuture<List<NodeKey>> result = new CompletableFuture<>();
        if (!NodeNames.isValid(name)) {
            result.completeExceptionally(new IllegalArgumentException("invalid node name '" + name + "'"));
            return result;
        }
        if (link.closed()) {
            result.completeExceptionally(new RelayUnavailableException("relay client closed"));
            return result;
        }
        onLoop(result, () -> lookups.request(name, result));
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
        if (link.closed()) {
            result.completeExceptionally(new RelayUnavailableException("relay client closed"));
            return result;
        }
        onLoop(result, () -> outbound.request(destination, service, result, near));
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
        ControlHandler c = link.current();
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
        link.runOnLoopQuietly(() -> link.move(target));
    }

    /** The loop every callback of this client runs on (a fleet selector schedules its work there). */
    EventLoop loop() {
        return loop;
    }

    /** Runs {@code task} on the client's loop, or fails {@code result} when the loop is gone (client closed). */
    private void onLoop(CompletableFuture<?> result, Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new RelayUnavailableException("relay client closed"));
        }
    }

    // ------------------------------------------------------------------ frames

    /** Hands each frame that rides on the control connection to the part it belongs to. On the loop. */
    private void route(ControlHandler h, RelayFrame frame) {
        switch (frame) {
            case RelayFrame.RecvDatagram d -> datagrams.received(d);
            case RelayFrame.PeerPresent p -> listeners.fire(l -> l.peerPresent(p.peer()));
            case RelayFrame.PeerGone g -> listeners.fire(l -> l.peerGone(g.peer(), g.reason()));
            case RelayFrame.Health health -> listeners.fire(l -> l.health(health.problem()));
            case RelayFrame.RateLimited r -> listeners.fire(l -> l.rateLimited(r.bytesPerSecond(), r.burstBytes()));
            case RelayFrame.CircuitOffer o -> inbound.offer(h, o);
            case RelayFrame.CircuitAccepted a -> outbound.accepted(h, a);
            case RelayFrame.CircuitRejected r -> outbound.rejected(h, r);
            case RelayFrame.Published p -> listeners.fire(l -> l.published(p.service(), p.port(), p.publicAddress()));
            case RelayFrame.PublishRefused r ->
                listeners.fire(l -> l.publishRefused(r.service(), r.reason(), r.message()));
            case RelayFrame.NameResult r -> lookups.result(h, r);
            default -> log.debug("ignoring {} from relay", frame.type());
        }
    }

    /** What the link needs from the parts that use its connection. */
    private final class Traffic implements RelayLink.Traffic {
        @Override
        public void frame(ControlHandler h, RelayFrame frame) {
            route(h, frame);
        }

        @Override
        public void connectionLost(ControlHandler h, IOException cause) {
            outbound.connectionLost(h, cause);
            lookups.connectionLost(h, cause);
        }

        @Override
        public boolean awaitsAnswerOn(ControlHandler h) {
            return outbound.awaitsAnswerOn(h);
        }
    }
}
