package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.circuit.CircuitManager;
import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.forward.MeshRouter;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.Denials;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Forwarding: a datagram or circuit request whose destination is not connected here goes to a sibling
 * that has it (the most recently announced one, {@link MeshPresence#route}). The sibling delivers
 * locally or drops: a forwarded message is never forwarded again.
 *
 * <p>Cross-relay circuits: the listener's relay offers the circuit and returns the dialer end's token
 * (and keeps it for the bind); the dialer attaches here; this relay takes an idle circuit connection
 * to the listener's relay from its {@link MeshCircuitPool} (or opens one), proves the token with
 * CIRCUIT_BIND, and joins the two connections once the listener's relay answers. The agents'
 * end-to-end encryption is untouched, which is why those connections may be plain TCP.
 */
final class MeshForwarding implements MeshRouter, MeshCircuits, MeshCircuitEnds.BindTokens {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Circuit requests awaiting a sibling's answer, over all clients: bounds the table. */
    static final int MAX_PENDING_CIRCUITS = 65_536;
    /** Accepted cross-relay circuits awaiting the dialer's attach: bounds the table. */
    static final int MAX_BRIDGES = 65_536;

    private record PendingCircuit(ClientSession dialer, long requestId, MeshLink link) {}

    // Final after construction.
    private final MeshPresence presence;
    private final MeshConnections connections;
    private final ClientRegistry registry;
    private final CircuitManager circuits;
    private final RelayMetrics metrics;
    private final EventLoop loop;
    private final int pendingPerClient;
    /** Twice the circuit token TTL: how long a sibling's answer, and then the dialer's attach, may take. */
    private final long answerWaitMillis;

    // Concurrent (any event loop): requests awaiting a sibling's answer and accepted circuits awaiting
    // the dialer's attach. Each entry is removed exactly once (remove(key, value) decides the race).
    private final AtomicLong nextRequestId = new AtomicLong(RANDOM.nextLong() & Long.MAX_VALUE);
    private final ConcurrentHashMap<Long, PendingCircuit> pendingCircuits = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<ClientSession, AtomicInteger> pendingPerDialer = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<CircuitId, InetSocketAddress> bridges = new ConcurrentHashMap<>();
    /** Listener's relay: dialer-end tokens of circuits accepted for siblings, until bound or expired. */
    private final ConcurrentHashMap<CircuitId, CircuitToken> bindTokens = new ConcurrentHashMap<>();
    /** Listener's relay: accepted pooled connections waiting for their CIRCUIT_BIND. */
    private final Set<Channel> waitingPooled = ConcurrentHashMap.newKeySet();

    private final MeshNode node;
    private final MeshCircuitPool pool;

    MeshForwarding(
            MeshNode node,
            MeshPresence presence,
            MeshConnections connections,
            ClientRegistry registry,
            CircuitManager circuits,
            RelayMetrics metrics,
            EventLoop loop,
            int pendingPerClient,
            Duration circuitTokenTtl,
            boolean circuitTls,
            int poolIdlePerSibling) {
        this.node = node;
        this.presence = presence;
        this.connections = connections;
        this.registry = registry;
        this.circuits = circuits;
        this.metrics = metrics;
        this.loop = loop;
        this.pendingPerClient = pendingPerClient;
        this.answerWaitMillis = 2 * circuitTokenTtl.toMillis();
        this.pool =
                new MeshCircuitPool(loop, this::openPooled, metrics, connections.tls(), circuitTls, poolIdlePerSibling);
    }

    // ---------------------------------------------------------------- datagrams

    @Override
    public boolean forwardDatagram(NodeKey source, NodeKey destination, ByteBuf payload) {
        MeshLink link = presence.route(destination);
        if (link == null) {
            return false;
        }
        link.enqueueDatagram(new MeshFrame.Datagram(source, destination, payload));
        return true;
    }

    /** A datagram from a sibling: delivered to a local client or dropped, never forwarded again. */
    void deliver(MeshFrame.Datagram d) {
        ClientSession s = registry.lookup(d.destination());
        if (s == null) {
            d.release();
            metrics.meshEvent(MeshEvent.DATAGRAM_NOT_HERE);
            return;
        }
        metrics.meshEvent(MeshEvent.DATAGRAM_DELIVERED);
        s.enqueueDatagram(new RelayFrame.RecvDatagram(d.source(), d.payload()));
    }

    // ---------------------------------------------------------------- circuits, dialer's relay

    @Override
    public boolean request(ClientSession dialer, ClientFrame.CircuitRequest req) {
        MeshLink link = presence.route(req.destination());
        if (link == null) {
            return false;
        }
        AtomicInteger mine = pendingPerDialer.computeIfAbsent(dialer, k -> new AtomicInteger());
        if (pendingCircuits.size() >= MAX_PENDING_CIRCUITS || mine.incrementAndGet() > pendingPerClient) {
            if (mine.decrementAndGet() <= 0) {
                pendingPerDialer.remove(dialer, mine);
            }
            metrics.circuitEvent(RelayMetrics.CircuitEvent.LIMIT_REACHED);
            dialer.enqueueControl(new RelayFrame.CircuitRejected(
                    req.requestId(), CircuitRejectReason.LIMIT_REACHED, "circuit limit reached"));
            return true;
        }
        long id = nextRequestId.getAndIncrement();
        PendingCircuit pc = new PendingCircuit(dialer, req.requestId(), link);
        pendingCircuits.put(id, pc);
        metrics.meshEvent(MeshEvent.CIRCUIT_REQUESTED);
        dialer.channel()
                .eventLoop()
                .schedule(
                        () -> {
                            if (pendingCircuits.remove(id, pc)) {
                                finishPending(pc);
                                metrics.meshEvent(MeshEvent.CIRCUIT_FAILED);
                                dialer.enqueueControl(new RelayFrame.CircuitRejected(
                                        req.requestId(),
                                        CircuitRejectReason.TIMEOUT,
                                        "no answer from the destination's relay"));
                            }
                        },
                        answerWaitMillis,
                        TimeUnit.MILLISECONDS);
        if (!link.enqueueControl(new MeshFrame.CircuitRequest(id, dialer.key(), req.destination(), req.service()))
                && pendingCircuits.remove(id, pc)) {
            finishPending(pc);
            dialer.enqueueControl(new RelayFrame.CircuitRejected(
                    req.requestId(), CircuitRejectReason.INTERNAL, "relay link to the destination is busy"));
        }
        return true;
    }

    private void finishPending(PendingCircuit pc) {
        AtomicInteger n = pendingPerDialer.get(pc.dialer());
        if (n != null && n.decrementAndGet() <= 0) {
            pendingPerDialer.remove(pc.dialer(), n);
        }
    }

    void circuitAccepted(MeshLink link, MeshFrame.CircuitAccepted a) {
        PendingCircuit pc = pendingCircuits.get(a.meshRequestId());
        if (pc == null || pc.link() != link || !pendingCircuits.remove(a.meshRequestId(), pc)) {
            return; // late (timed out) or not ours
        }
        finishPending(pc);
        if (bridges.size() >= MAX_BRIDGES) {
            metrics.circuitEvent(RelayMetrics.CircuitEvent.LIMIT_REACHED);
            pc.dialer()
                    .enqueueControl(new RelayFrame.CircuitRejected(
                            pc.requestId(), CircuitRejectReason.LIMIT_REACHED, "circuit limit reached"));
            return;
        }
        metrics.meshEvent(MeshEvent.CIRCUIT_ACCEPTED);
        bridges.put(a.circuitId(), link.peerAddress);
        // The listener's relay forgets the circuit after its token TTL; forget it here a little later.
        loop.schedule(() -> bridges.remove(a.circuitId(), link.peerAddress), answerWaitMillis, TimeUnit.MILLISECONDS);
        pc.dialer().enqueueControl(new RelayFrame.CircuitAccepted(pc.requestId(), a.circuitId(), a.token()));
    }

    void circuitRejected(MeshLink link, MeshFrame.CircuitRejected r) {
        PendingCircuit pc = pendingCircuits.get(r.meshRequestId());
        if (pc == null || pc.link() != link || !pendingCircuits.remove(r.meshRequestId(), pc)) {
            return;
        }
        finishPending(pc);
        metrics.meshEvent(MeshEvent.CIRCUIT_REJECTED);
        pc.dialer().enqueueControl(new RelayFrame.CircuitRejected(pc.requestId(), r.reason(), r.message()));
    }

    /** A link we dialled broke: every request still waiting on it is refused. */
    void linkDown(MeshLink link) {
        if (!link.outbound) {
            return;
        }
        if (link.peerAddress != null) {
            pool.linkDown(link.peerAddress, link);
        }
        for (Map.Entry<Long, PendingCircuit> e : pendingCircuits.entrySet()) {
            if (e.getValue().link() == link && pendingCircuits.remove(e.getKey(), e.getValue())) {
                finishPending(e.getValue());
                e.getValue()
                        .dialer()
                        .enqueueControl(new RelayFrame.CircuitRejected(
                                e.getValue().requestId(),
                                CircuitRejectReason.PEER_NOT_FOUND,
                                "relay link to the destination broke"));
            }
        }
    }

    /**
     * The dialer attached a bridged circuit here: take an idle pooled connection to the listener's
     * relay and bind it at once (no handshake in the way), or open one when none is idle (pool
     * exhausted, or not filled yet), or, for a sibling that takes no pooled connections, one TLS
     * connection with CIRCUIT_ATTACH as before. A pooled connection that turns out dead before its
     * answer is replaced once by a fresh one.
     */
    @Override
    public boolean attach(Channel clientEnd, ClientFrame.CircuitAttach a) {
        InetSocketAddress target = bridges.remove(a.circuitId());
        if (target == null) {
            return false;
        }
        pool.take(target, (taken, mode) -> {
            if (!clientEnd.isActive()) {
                if (taken != null) {
                    taken.channel().close();
                }
                return;
            }
            if (taken != null) {
                bind(clientEnd, a, taken, target, mode);
            } else if (mode == MeshCircuitPool.Mode.NONE) {
                attachLegacy(clientEnd, a, target);
            } else {
                openAndBind(clientEnd, a, target, mode);
            }
        });
        return true;
    }

    /** Sends CIRCUIT_BIND on an authenticated circuit connection and joins it on CIRCUIT_ATTACHED; mesh loop. */
    private void bind(
            Channel clientEnd,
            ClientFrame.CircuitAttach a,
            MeshCircuitPool.Taken t,
            InetSocketAddress target,
            MeshCircuitPool.Mode retryModeOrNull) {
        Channel meshEnd = t.channel();
        ChannelPipeline p = meshEnd.pipeline();
        p.addLast(
                "mesh-circuit",
                new MeshCircuitEnds.Dialer(
                        new MeshCircuitEnds.Dialer.Outcome() {
                            @Override
                            public void attached(ChannelHandlerContext c) {
                                metrics.meshEvent(MeshEvent.CIRCUIT_BRIDGED);
                                meshEnd.closeFuture().addListener(x -> clientEnd.close());
                                circuits.joinBridged(clientEnd, meshEnd);
                            }

                            @Override
                            public void failed(boolean refused) {
                                if (!refused && retryModeOrNull != null && clientEnd.isActive()) {
                                    // a pooled connection that died unseen: one fresh connection instead
                                    metrics.meshEvent(MeshEvent.CIRCUIT_POOL_EMPTY);
                                    openAndBind(clientEnd, a, target, retryModeOrNull);
                                    return;
                                }
                                metrics.meshEvent(MeshEvent.CIRCUIT_FAILED);
                                Denials.denyAndClose(
                                        clientEnd,
                                        DenyReason.AUTH_FAILED,
                                        "the destination's relay refused the circuit");
                            }
                        },
                        Duration.ofMillis(answerWaitMillis)));
        byte[] mac =
                MeshAuth.bindMac(node.key(), t.hellos().dialer(), t.hellos().acceptor(), a.circuitId(), a.token());
        meshEnd.writeAndFlush(new MeshFrame.CircuitBind(a.circuitId(), mac));
        if (p.get(MeshFrameDecoder.class) != null) {
            p.remove(MeshFrameDecoder.class); // the answer is a relay-protocol frame, then raw bytes
        }
        clientEnd.closeFuture().addListener(x -> meshEnd.close());
    }

    /** No idle pooled connection: opens one for this circuit alone and binds it once authenticated. */
    private void openAndBind(
            Channel clientEnd, ClientFrame.CircuitAttach a, InetSocketAddress target, MeshCircuitPool.Mode mode) {
        ChannelFuture f = connections.connect(
                target, MeshProtocol.Purpose.POOLED_CIRCUIT, pool.tls(mode), new MeshHandshake.Done() {
                    @Override
                    public void authenticated(
                            ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                        MeshHandshake.Hellos hellos = ((MeshHandshake) ctx.handler()).hellos();
                        ctx.pipeline().remove(ctx.handler());
                        bind(clientEnd, a, new MeshCircuitPool.Taken(ctx.channel(), hellos), target, null);
                    }

                    @Override
                    public void failed(boolean self) {
                        metrics.meshEvent(MeshEvent.CIRCUIT_FAILED);
                        clientEnd.close();
                    }
                });
        Channel meshEnd = f.channel();
        f.addListener(x -> {
            if (!x.isSuccess()) {
                metrics.meshEvent(MeshEvent.CIRCUIT_FAILED);
                clientEnd.close();
            }
        });
        clientEnd.closeFuture().addListener(x -> meshEnd.close());
    }

    /** A sibling without pooled connections: one TLS connection per circuit with CIRCUIT_ATTACH (the token). */
    private void attachLegacy(Channel clientEnd, ClientFrame.CircuitAttach a, InetSocketAddress target) {
        ChannelFuture f = connections.connect(target, MeshProtocol.Purpose.CIRCUIT, new MeshHandshake.Done() {
            @Override
            public void authenticated(ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                Channel meshEnd = ctx.channel();
                ctx.pipeline()
                        .replace(
                                ctx.handler(),
                                "mesh-circuit",
                                new MeshCircuitEnds.Dialer(
                                        new MeshCircuitEnds.Dialer.Outcome() {
                                            @Override
                                            public void attached(ChannelHandlerContext c) {
                                                metrics.meshEvent(MeshEvent.CIRCUIT_BRIDGED);
                                                circuits.joinBridged(clientEnd, meshEnd);
                                            }

                                            @Override
                                            public void failed(boolean refused) {
                                                metrics.meshEvent(MeshEvent.CIRCUIT_FAILED);
                                                Denials.denyAndClose(
                                                        clientEnd,
                                                        DenyReason.AUTH_FAILED,
                                                        "the destination's relay refused the circuit");
                                            }
                                        },
                                        Duration.ofMillis(answerWaitMillis)));
                ctx.writeAndFlush(new MeshFrame.CircuitAttach(a.circuitId(), a.token()));
                var p = ctx.pipeline();
                if (p.get(MeshFrameDecoder.class) != null) {
                    p.remove(MeshFrameDecoder.class); // the answer is a relay-protocol frame, then raw bytes
                }
            }

            @Override
            public void failed(boolean self) {
                metrics.meshEvent(MeshEvent.CIRCUIT_FAILED);
                clientEnd.close();
            }
        });
        Channel meshEnd = f.channel();
        f.addListener(x -> {
            if (!x.isSuccess()) {
                metrics.meshEvent(MeshEvent.CIRCUIT_FAILED);
                clientEnd.close();
            }
        });
        clientEnd.closeFuture().addListener(x -> meshEnd.close());
        meshEnd.closeFuture().addListener(x -> clientEnd.close());
    }

    /** Opens one pooled circuit connection for {@link MeshCircuitPool}: authenticated, then idle. */
    void openPooled(InetSocketAddress address, boolean tls, Consumer<MeshCircuitPool.Taken> done) {
        AtomicBoolean authenticated = new AtomicBoolean();
        ChannelFuture f =
                connections.connect(address, MeshProtocol.Purpose.POOLED_CIRCUIT, tls, new MeshHandshake.Done() {
                    @Override
                    public void authenticated(
                            ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer) {
                        MeshHandshake.Hellos hellos = ((MeshHandshake) ctx.handler()).hellos();
                        authenticated.set(true);
                        ctx.pipeline().replace(ctx.handler(), "mesh-pooled", new MeshCircuitPool.Idle());
                        done.accept(new MeshCircuitPool.Taken(ctx.channel(), hellos));
                    }
                });
        f.channel().closeFuture().addListener(x -> {
            if (!authenticated.get()) {
                done.accept(null);
            }
        });
    }

    void linkUp(MeshLink link) {
        if (link.outbound && link.peerAddress != null) {
            pool.linkUp(link.peerAddress, link);
        }
    }

    void keyReloaded() {
        pool.keyReloaded();
    }

    void close() {
        pool.close();
    }

    MeshCircuitPool pool() {
        return pool;
    }

    /** Pooled circuit connections accepted here that wait for their bind (over all siblings). */
    Set<Channel> waitingPooled() {
        return waitingPooled;
    }

    // ---------------------------------------------------------------- CIRCUIT_BIND tokens, listener's relay

    @Override
    public CircuitToken peek(CircuitId id) {
        return bindTokens.get(id);
    }

    @Override
    public boolean consume(CircuitId id, CircuitToken token) {
        return bindTokens.remove(id, token);
    }

    // ---------------------------------------------------------------- circuits, listener's relay

    void circuitRequested(MeshLink link, MeshFrame.CircuitRequest r) {
        circuits.requestFromMesh(
                new RemoteDialer() {
                    @Override
                    public NodeKey key() {
                        return r.dialer();
                    }

                    @Override
                    public boolean accepted(CircuitId circuitId, CircuitToken token) {
                        // Kept for the sibling's CIRCUIT_BIND, which proves the token without sending it.
                        if (bindTokens.size() < MAX_BRIDGES && bindTokens.putIfAbsent(circuitId, token) == null) {
                            loop.schedule(
                                    () -> bindTokens.remove(circuitId, token), answerWaitMillis, TimeUnit.MILLISECONDS);
                        }
                        return link.enqueueControl(new MeshFrame.CircuitAccepted(r.meshRequestId(), circuitId, token));
                    }

                    @Override
                    public void rejected(CircuitRejectReason reason, String message) {
                        link.enqueueControl(new MeshFrame.CircuitRejected(r.meshRequestId(), reason, message));
                    }
                },
                r.listener(),
                r.service());
    }
}
