package dev.burrow.agent.session;

import dev.burrow.agent.direct.DirectPath;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.AgentMetrics.DirectSessionError;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening side of {@link DirectSessions}: the TCP listeners, the unauthenticated connections
 * held while TLS runs ({@link DirectSessions#MAX_PENDING_HANDSHAKES}, {@link
 * DirectSessions#MAX_PENDING_PER_ADDRESS} per source address), and the sessions peers dialled,
 * admitted by the verified certificate and counted against the session limits.
 *
 * <p>Thread-safe.
 */
final class DirectSessionListener {
    private static final Logger log = LoggerFactory.getLogger(DirectSessions.class);

    // Final after construction.
    private final DirectSessions sessions;
    private final NodeVerifier verifier;
    private final AgentMetrics metrics;
    private final EventLoopGroup group;
    private final Transport transport;
    private final SslContext serverContext;

    // Any thread.
    private final List<Channel> listeners = new CopyOnWriteArrayList<>();
    private final Set<RelaySession> inbound = ConcurrentHashMap.newKeySet();
    private final Map<NodeKey, AtomicInteger> inboundPerPeer = new ConcurrentHashMap<>();
    private final AtomicInteger inboundTotal = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private final Map<InetAddress, AtomicInteger> pendingPerAddress = new ConcurrentHashMap<>();

    DirectSessionListener(
            DirectSessions sessions,
            NodeVerifier verifier,
            AgentMetrics metrics,
            EventLoopGroup group,
            Transport transport,
            SslContext serverContext) {
        this.sessions = sessions;
        this.verifier = verifier;
        this.metrics = metrics;
        this.group = group;
        this.transport = transport;
        this.serverContext = serverContext;
    }

    /**
     * Listens on TCP at {@code at} (the address and port of a direct UDP socket). False, logged,
     * when the port is taken for TCP: peers then reach us over QUIC only.
     */
    boolean listen(InetSocketAddress at) {
        try {
            Channel ch = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverSocketChannel())
                    .option(ChannelOption.SO_BACKLOG, DirectSessions.MAX_PENDING_HANDSHAKES)
                    // beside the bound, not listening socket that held the number (TcpPortReservation)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted(ch);
                        }
                    })
                    .bind(at)
                    .syncUninterruptibly()
                    .channel();
            listeners.add(ch);
            log.info("direct TCP sessions: listening on {}", ch.localAddress());
            return true;
        } catch (RuntimeException e) {
            log.info("direct TCP sessions: cannot listen on {} ({}); peers reach us over QUIC", at, e.getMessage());
            return false;
        }
    }

    /** The addresses listened on. */
    List<InetSocketAddress> listening() {
        return listeners.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
    }

    private void accepted(Channel ch) {
        Consumer<InboundStream> g = sessions.gate();
        if (sessions.isClosed() || g == null) {
            ch.close();
            return;
        }
        InetAddress from = ((InetSocketAddress) ch.remoteAddress()).getAddress();
        AtomicInteger perAddress = pendingPerAddress.computeIfAbsent(from, a -> new AtomicInteger());
        boolean overTotal = pending.incrementAndGet() > DirectSessions.MAX_PENDING_HANDSHAKES;
        boolean overAddress = perAddress.incrementAndGet() > DirectSessions.MAX_PENDING_PER_ADDRESS;
        AtomicBoolean pendingHeld = new AtomicBoolean(true);
        Runnable releasePending = () -> {
            if (pendingHeld.compareAndSet(true, false)) {
                pending.decrementAndGet();
                if (perAddress.decrementAndGet() <= 0) {
                    pendingPerAddress.remove(from, perAddress);
                }
            }
        };
        ch.closeFuture().addListener(x -> releasePending.run());
        if (overTotal || overAddress) {
            metrics.directSessionError(DirectSessionError.HANDSHAKE_LIMIT);
            ch.close();
            return;
        }
        ch.pipeline().addLast(new ReadClock());
        SessionChannels.accept(
                ch,
                null,
                serverContext,
                verifier,
                sessions.admits(),
                g,
                metrics,
                DirectPath.NAME,
                session -> {
                    releasePending.run();
                    admitted(session);
                },
                cause -> {
                    releasePending.run();
                    metrics.directSessionError(DirectSessionError.SETUP_FAILED);
                    log.debug("direct TCP session from {} failed: {}", ch.remoteAddress(), cause.toString());
                });
    }

    /** TLS done and the peer admitted: count it against the session limits or close it. */
    private void admitted(RelaySession session) {
        NodeKey source = session.peer();
        Channel ch = session.channel();
        AtomicInteger perPeer = inboundPerPeer.computeIfAbsent(source, k -> new AtomicInteger());
        boolean over = inboundTotal.incrementAndGet() > DirectSessions.MAX_INBOUND_SESSIONS
                | perPeer.incrementAndGet() > DirectSessions.MAX_INBOUND_SESSIONS_PER_PEER;
        ch.closeFuture().addListener(x -> {
            inboundTotal.decrementAndGet();
            if (perPeer.decrementAndGet() <= 0) {
                inboundPerPeer.remove(source, perPeer);
            }
        });
        if (over || sessions.isClosed()) {
            metrics.directSessionError(DirectSessionError.LIMIT);
            ch.close();
            return;
        }
        inbound.add(session);
        metrics.directSessionOpened(false);
        log.info("direct TCP session from {} at {} up", source.shortId(), ch.remoteAddress());
        ch.closeFuture().addListener(x -> {
            inbound.remove(session);
            metrics.directSessionClosed(false);
            log.info("direct TCP session from {} closed after {} streams", source.shortId(), session.streamsOpened());
        });
    }

    /** Closes inbound sessions silent for longer than {@code silenceNanos}. */
    void closeSilent(long now, long silenceNanos) {
        for (RelaySession s : inbound) {
            if (now - ReadClock.lastRead(s) > silenceNanos) {
                metrics.directSessionError(DirectSessionError.SILENT);
                s.close();
            }
        }
    }

    /** The inbound sessions up now. */
    Set<RelaySession> inbound() {
        return Set.copyOf(inbound);
    }

    int inboundCount() {
        return inbound.size();
    }

    void close() {
        for (Channel l : listeners) {
            l.close();
        }
        for (RelaySession s : inbound) {
            s.close();
        }
    }
}
