package dev.burrow.stun.server;

import dev.burrow.stun.limit.SourceRateLimiter;
import dev.burrow.stun.metrics.DropReason;
import dev.burrow.stun.metrics.StunMetrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embeddable STUN server (RFC 8489 Binding over UDP and TCP, RFC 5780 when configured).
 * The caller owns the event loop group and picks the channel classes (so the relay can run it on
 * its own io_uring/epoll/NIO transport); {@link #close()} closes only the server's sockets.
 *
 * <pre>{@code
 * StunServer stun = StunServer.start(StunServerConfig.udp(new InetSocketAddress(3478)),
 *         group, EpollDatagramChannel.class, EpollServerSocketChannel.class, metrics);
 * InetSocketAddress bound = stun.udpAddress();
 * ...
 * stun.close();
 * }</pre>
 */
public final class StunServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StunServer.class);

    /**
     * Outbound buffer bounds per socket: above the high mark responses are dropped (UDP) or reading
     * pauses (TCP). Netty's defaults; a STUN response is at most a few dozen bytes.
     */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    /**
     * Kernel receive buffer per UDP socket: 1 MiB (about 10 000 small requests) absorbs bursts
     * and GC pauses instead of dropping; the kernel caps it at net.core.rmem_max.
     */
    static final int UDP_RECEIVE_BUFFER_BYTES = 1 << 20;

    private final StunServerConfig config;
    private final UdpSockets udp;
    private final Channel tcp;
    private final ChannelGroup tcpConnections;
    private final BindingResponder responder;

    private StunServer(
            StunServerConfig config,
            UdpSockets udp,
            Channel tcp,
            ChannelGroup tcpConnections,
            BindingResponder responder) {
        this.config = config;
        this.udp = udp;
        this.tcp = tcp;
        this.tcpConnections = tcpConnections;
        this.responder = responder;
    }

    /**
     * Binds every configured socket and starts answering.
     *
     * @param datagramType channel class for UDP (e.g. {@code NioDatagramChannel.class})
     * @param serverType   channel class for TCP (e.g. {@code NioServerSocketChannel.class}); may be
     *                     null when the config has no TCP address
     * @throws IOException when a socket cannot be bound; nothing stays open then
     */
    public static StunServer start(
            StunServerConfig config,
            EventLoopGroup group,
            Class<? extends DatagramChannel> datagramType,
            Class<? extends ServerChannel> serverType,
            StunMetrics metrics)
            throws IOException {
        return start(config, group, datagramType, serverType, metrics, Map.of());
    }

    /**
     * As {@link #start(StunServerConfig, EventLoopGroup, Class, Class, StunMetrics)}, with extra
     * options for the UDP channels, set after ours: a caller that knows its transport can batch
     * reads, e.g. {@code EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE = 2048} with a
     * {@code FixedRecvByteBufAllocator} of 16 × 2048 (recvmmsg). The payload size must stay
     * {@value StunUdpHandler#READ_BUFFER_BYTES}: a datagram that fills it is dropped as truncated.
     */
    public static StunServer start(
            StunServerConfig config,
            EventLoopGroup group,
            Class<? extends DatagramChannel> datagramType,
            Class<? extends ServerChannel> serverType,
            StunMetrics metrics,
            Map<ChannelOption<?>, Object> datagramOptions)
            throws IOException {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(metrics, "metrics");
        UdpSockets udp = new UdpSockets(config.rfc5780() ? 4 : 1);
        SourceRateLimiter limiter =
                config.rateLimit() == null ? null : config.rateLimit().newLimiter();
        BindingResponder responder = new BindingResponder(config, limiter, udp, metrics);
        List<Channel> opened = new ArrayList<>();
        ChannelGroup tcpConnections = new DefaultChannelGroup("stun-tcp", GlobalEventExecutor.INSTANCE);
        try {
            Channel tcp = null;
            if (config.udp() != null) {
                bindUdp(config, group, datagramType, datagramOptions, metrics, udp, responder, opened);
            }
            if (config.tcp() != null) {
                Objects.requireNonNull(serverType, "serverType (the config has a TCP address)");
                tcp = bindTcp(config, group, serverType, metrics, responder, tcpConnections);
                opened.add(tcp);
            }
            StunServer server = new StunServer(config, udp, tcp, tcpConnections, responder);
            log.info(
                    "STUN server listening: udp {}{}{}",
                    server.udpAddresses(),
                    server.tcpAddress() == null ? "" : ", tcp " + server.tcpAddress(),
                    config.rfc5780() ? " (RFC 5780 behaviour discovery on)" : "");
            return server;
        } catch (Throwable t) {
            for (Channel c : opened) {
                c.close().awaitUninterruptibly();
            }
            if (t instanceof IOException io) {
                throw io;
            }
            throw new IOException("cannot start STUN server: " + t.getMessage(), t);
        }
    }

    private static void bindUdp(
            StunServerConfig config,
            EventLoopGroup group,
            Class<? extends DatagramChannel> type,
            Map<ChannelOption<?>, Object> options,
            StunMetrics metrics,
            UdpSockets udp,
            BindingResponder responder,
            List<Channel> opened)
            throws IOException {
        InetSocketAddress primary = config.udp();
        Channel first = bindDatagram(group, type, options, primary, 0, udp, responder, metrics);
        opened.add(first);
        udp.set(UdpSockets.PRIMARY, first);
        if (!config.rfc5780()) {
            return;
        }
        int primaryPort = ((InetSocketAddress) first.localAddress()).getPort();
        InetSocketAddress alt = config.rfc5780Alternate();
        Channel portOnly = bindDatagram(
                group,
                type,
                options,
                new InetSocketAddress(primary.getAddress(), alt.getPort()),
                UdpSockets.CHANGE_PORT,
                udp,
                responder,
                metrics);
        opened.add(portOnly);
        udp.set(UdpSockets.CHANGE_PORT, portOnly);
        int altPort = ((InetSocketAddress) portOnly.localAddress()).getPort();
        Channel ipOnly = bindDatagram(
                group,
                type,
                options,
                new InetSocketAddress(alt.getAddress(), primaryPort),
                UdpSockets.CHANGE_IP,
                udp,
                responder,
                metrics);
        opened.add(ipOnly);
        udp.set(UdpSockets.CHANGE_IP, ipOnly);
        Channel other = bindDatagram(
                group,
                type,
                options,
                new InetSocketAddress(alt.getAddress(), altPort),
                UdpSockets.OTHER,
                udp,
                responder,
                metrics);
        opened.add(other);
        udp.set(UdpSockets.OTHER, other);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Channel bindDatagram(
            EventLoopGroup group,
            Class<? extends DatagramChannel> type,
            Map<ChannelOption<?>, Object> options,
            InetSocketAddress address,
            int index,
            UdpSockets udp,
            BindingResponder responder,
            StunMetrics metrics)
            throws IOException {
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(type)
                .option(
                        ChannelOption.RECVBUF_ALLOCATOR,
                        new FixedRecvByteBufAllocator(StunUdpHandler.READ_BUFFER_BYTES))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .option(ChannelOption.SO_RCVBUF, UDP_RECEIVE_BUFFER_BYTES)
                .handler(new StunUdpHandler(responder, index, udp, metrics, StunUdpHandler.READ_BUFFER_BYTES));
        for (Map.Entry<ChannelOption<?>, Object> e : options.entrySet()) {
            b.option((ChannelOption) e.getKey(), e.getValue());
        }
        return bind(b.bind(address), "UDP", address);
    }

    private static Channel bindTcp(
            StunServerConfig config,
            EventLoopGroup group,
            Class<? extends ServerChannel> type,
            StunMetrics metrics,
            BindingResponder responder,
            ChannelGroup children)
            throws IOException {
        AtomicInteger connections = new AtomicInteger();
        long idleMillis = config.tcpIdleTimeout().toMillis();
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(type)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (connections.incrementAndGet() > config.maxTcpConnections()) {
                            connections.decrementAndGet();
                            metrics.dropped(DropReason.TCP_CONNECTION_LIMIT);
                            ch.close();
                            return;
                        }
                        ch.closeFuture().addListener(f -> connections.decrementAndGet());
                        children.add(ch);
                        ch.pipeline()
                                .addLast(
                                        new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS),
                                        new StunTcpFrameDecoder(metrics),
                                        new StunTcpHandler(responder, metrics));
                    }
                });
        return bind(b.bind(config.tcp()), "TCP", config.tcp());
    }

    private static Channel bind(ChannelFuture future, String what, InetSocketAddress address) throws IOException {
        future.awaitUninterruptibly();
        if (!future.isSuccess()) {
            future.channel().close();
            Throwable cause = future.cause();
            throw new IOException("cannot bind STUN " + what + " on " + address + ": " + cause.getMessage(), cause);
        }
        return future.channel();
    }

    public StunServerConfig config() {
        return config;
    }

    /** The bound primary UDP address, or null when UDP is off. */
    public InetSocketAddress udpAddress() {
        return udp.address(UdpSockets.PRIMARY);
    }

    /**
     * Every bound UDP address: the primary first; in RFC 5780 mode then (primary IP, alternate port),
     * (alternate IP, primary port), (alternate IP, alternate port).
     */
    public List<InetSocketAddress> udpAddresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (int i = 0; i < udp.count(); i++) {
            InetSocketAddress a = udp.address(i);
            if (a != null) {
                out.add(a);
            }
        }
        return List.copyOf(out);
    }

    /** The bound TCP address, or null when TCP is off. */
    public InetSocketAddress tcpAddress() {
        return tcp == null ? null : (InetSocketAddress) tcp.localAddress();
    }

    /** Sources the rate limiter tracks (0 without a limiter); bounded by {@link RateLimit#maxTrackedSources()}. */
    public long trackedSources() {
        return responder.limiter() == null ? 0 : responder.limiter().trackedSources();
    }

    /** Closes the server's sockets (not the event loop group) and waits for them to close. */
    @Override
    public void close() {
        for (int i = 0; i < udp.count(); i++) {
            Channel c = udp.get(i);
            if (c != null) {
                c.close().awaitUninterruptibly();
            }
        }
        if (tcp != null) {
            tcp.close().awaitUninterruptibly();
            tcpConnections.close().awaitUninterruptibly();
        }
    }
}
