package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoCodec;
import dev.burrow.agent.endpoint.EndpointDiscovery;
import dev.burrow.agent.portmap.PortMapCounters;
import dev.burrow.agent.portmap.PortMapping;
import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.client.StunDemuxHandler;
import dev.burrow.stun.metrics.StunMetrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One direct-path UDP socket: STUN (attached, so it sees this socket's own NAT mapping), then disco
 * (passed to a {@link Receiver}), then the QUIC codec of the socket's role. Its own candidates come
 * from its {@link CandidateSource}s.
 */
final class DirectSocket {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    /** Gets the disco datagrams that arrive on a socket (on the event loop; the buffer is released after return). */
    @FunctionalInterface
    interface Receiver {
        void receive(DirectSocket socket, ByteBuf content, InetSocketAddress from);
    }

    // Final after construction.
    /** The QUIC server socket (else the client one). */
    final boolean serverRole;

    // Set by bind() and startDiscovery() before the manager runs; read on the event loop afterwards.
    private Channel channel;
    /** Bound to the IPv6 wildcard: one dual-stack socket sends and receives IPv4 and IPv6. */
    private boolean dualStack;
    /** The TCP twin of a port-0 socket's number, held until {@link #releaseTcpPort()}; null otherwise. */
    private TcpPortReservation tcpPort;

    private StunClient stun;
    private final List<CandidateSource> sources = new ArrayList<>();
    private final PortMapCounters portMapCounters = new PortMapCounters();
    private EndpointDiscovery discovery;
    private PortMapping portMapping;

    DirectSocket(boolean serverRole) {
        this.serverRole = serverRole;
    }

    Channel channel() {
        return channel;
    }

    InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Whether this socket carries IPv6 too (bound dual-stack), so IPv6 candidates are worth announcing and pinging. */
    boolean ipv6() {
        return dualStack;
    }

    /** Whether this socket can send to {@code to}: IPv4 always, IPv6 only when dual-stack. */
    boolean canReach(InetSocketAddress to) {
        return dualStack || to.getAddress() instanceof Inet4Address;
    }

    /** Tests: replaces the candidate sources (closing the old ones). */
    void replaceSources(CandidateSource only) {
        for (CandidateSource s : sources) {
            s.close();
        }
        sources.clear();
        sources.add(only);
    }

    /** Our candidates on this socket, from every source in order. */
    List<InetSocketAddress> endpoints() {
        List<InetSocketAddress> all = new ArrayList<>();
        for (CandidateSource s : sources) {
            all.addAll(s.candidates());
        }
        return all;
    }

    /**
     * Binds the socket at {@code at}. An IPv6 wildcard ({@code [::]:port}) makes one dual-stack
     * socket for both families (the same port, so the same 5-tuple logic and QUIC role for IPv4 and
     * IPv6 peers); where the JVM or the host has no IPv6 ({@code java.net.preferIPv4Stack}, IPv6
     * disabled in the kernel) that bind fails and the socket falls back to IPv4 at {@code
     * 0.0.0.0:port}, as before. {@code codec} makes the QUIC codec of the socket's role (once per
     * attempt).
     *
     * <p>A wildcard at port 0 takes a number free for TCP too and holds it ({@link
     * TcpPortReservation}): the agent's direct TCP sessions listen on the UDP sockets' numbers.
     */
    void bind(
            EventLoop loop,
            Class<? extends DatagramChannel> channelType,
            InetSocketAddress at,
            Supplier<ChannelHandler> codec,
            Receiver disco)
            throws IOException {
        Binding how = new Binding(loop, channelType, codec, disco);
        if (at.getPort() == 0 && at.getAddress().isAnyLocalAddress() && bindWithTcpTwin(how, at)) {
            return;
        }
        bindFamilies(how, at);
    }

    /** What a bind attempt needs besides the address: the loop, the channel type, the role's codec, the disco receiver. */
    private record Binding(
            EventLoop loop,
            Class<? extends DatagramChannel> channelType,
            Supplier<ChannelHandler> codec,
            Receiver disco) {}

    /** Binds at a number held for TCP too ({@link TcpPortReservation}); false when none was found. */
    private boolean bindWithTcpTwin(Binding how, InetSocketAddress at) {
        String role = serverRole ? "server" : "client";
        for (int i = 0; i < TcpPortReservation.ATTEMPTS; i++) {
            TcpPortReservation r;
            try {
                r = TcpPortReservation.reserve(at.getAddress());
            } catch (IOException | RuntimeException e) { // never worth losing direct paths over
                log.info(
                        "{} socket: cannot hold a TCP port number ({}); direct TCP sessions may not listen",
                        role,
                        e.toString());
                return false;
            }
            try {
                bindFamilies(how, new InetSocketAddress(at.getAddress(), r.port()));
                tcpPort = r;
                return true;
            } catch (IOException takenForUdp) {
                r.close();
            }
        }
        log.info(
                "{} socket: no port number free for both UDP and TCP after {} tries; direct TCP sessions may not listen",
                role,
                TcpPortReservation.ATTEMPTS);
        return false;
    }

    /** Gives back the TCP number held beside this socket (the listener bound it, or none will). */
    void releaseTcpPort() {
        if (tcpPort != null) {
            tcpPort.close();
        }
    }

    private void bindFamilies(Binding how, InetSocketAddress at) throws IOException {
        boolean v6Wildcard =
                at.getAddress() instanceof Inet6Address && at.getAddress().isAnyLocalAddress();
        if (v6Wildcard) {
            try {
                channel = bindAt(how, at);
                dualStack = true;
                return;
            } catch (IOException e) {
                log.info(
                        "{} socket: no IPv6 here ({}); direct paths use IPv4 only",
                        serverRole ? "server" : "client",
                        e.getCause() != null ? e.getCause().toString() : e.getMessage());
            }
        }
        channel = bindAt(how, v6Wildcard ? new InetSocketAddress("0.0.0.0", at.getPort()) : at);
    }

    /** The receive buffer for a GRO read: the kernel coalesces at most 64 KiB. */
    private static final int GRO_READ_BUFFER = 65536;
    /** UDP GRO on epoll direct sockets ({@code BURROW_DIRECT_GRO=off} turns it off). */
    private static final boolean EPOLL_GRO = !"off".equalsIgnoreCase(System.getenv("BURROW_DIRECT_GRO"));

    private Channel bindAt(Binding how, InetSocketAddress at) throws IOException {
        Bootstrap b = new Bootstrap()
                .group(how.loop())
                .channel(how.channelType())
                .option(ChannelOption.SO_RCVBUF, 1 << 21)
                .option(ChannelOption.SO_SNDBUF, 1 << 21);
        if (how.channelType() == EpollDatagramChannel.class && EPOLL_GRO) {
            // The kernel hands over up to 64 KiB of one sender's datagrams per read; Netty splits
            // them back into packets: one syscall for many QUIC packets on receive, as GSO on send.
            b.option(EpollChannelOption.UDP_GRO, true)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(GRO_READ_BUFFER));
        }
        b.handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                stun = StunClient.attach(
                        ch, RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(3)), StunMetrics.NOOP);
                ch.pipeline().addLast(new StunDemuxHandler(stun));
                ch.pipeline().addLast(new DiscoDemux(how.disco()));
                ch.pipeline().addLast(how.codec().get()); // a fresh codec per attempt: codecs are not sharable
            }
        });
        var f = b.bind(at).awaitUninterruptibly();
        if (!f.isSuccess()) {
            if (stun != null) {
                stun.close();
                stun = null;
            }
            throw new IOException(
                    "cannot bind direct-path UDP socket " + at + ": "
                            + f.cause().getMessage(),
                    f.cause());
        }
        return f.channel();
    }

    /** Starts endpoint discovery on this socket (its interface addresses and STUN mappings). */
    void startDiscovery(Supplier<List<InetSocketAddress>> stunServers, EventLoop loop) {
        startDiscovery(stunServers, loop, true);
    }

    /** As above; {@code portMapping}: agent.yaml's {@code direct.port-mapping} ({@code BURROW_PORTMAP} overrides it). */
    void startDiscovery(Supplier<List<InetSocketAddress>> stunServers, EventLoop loop, boolean mapPorts) {
        EndpointDiscovery discovery = new EndpointDiscovery(
                stun,
                localAddress().getPort(),
                stunServers,
                loop,
                eps -> log.info("{} socket endpoints: {}", serverRole ? "server" : "client", eps),
                dualStack);
        sources.add(CandidateSource.of(discovery));
        this.discovery = discovery;
        discovery.start();
        // A mapping on the gateway (PCP, NAT-PMP, UPnP) makes the socket reachable even behind a NAT
        // whose own mappings are per destination; its address is one more candidate.
        PortMapping.forDefaultGateway(
                        localAddress().getPort(), serverRole ? "server" : "client", portMapCounters, mapPorts)
                .ifPresent(m -> {
                    portMapping = m;
                    sources.add(CandidateSource.of(m));
                    m.start();
                });
    }

    /** Endpoint discovery on this socket (its NAT's mapping behaviour), or null before discovery started. */
    EndpointDiscovery discovery() {
        return discovery;
    }

    /** The gateway port mapping of this socket (PCP, NAT-PMP, UPnP), or null when port mapping is off. */
    PortMapping portMapping() {
        return portMapping;
    }

    /**
     * On the event loop: binds a spray socket ({@link HardNatSpray}) without waiting: disco only, no
     * STUN or discovery; the QUIC codec is added by {@link #addCodec} if the socket wins.
     */
    io.netty.channel.ChannelFuture bindSpray(
            EventLoop loop, Class<? extends DatagramChannel> channelType, InetSocketAddress at, Receiver disco) {
        var f = new Bootstrap()
                .group(loop)
                .channel(channelType)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new DiscoDemux(disco));
                    }
                })
                .bind(at);
        channel = f.channel();
        return f;
    }

    /** On the event loop: the QUIC codec of this socket's role, added once a spray socket carries the path. */
    void addCodec(ChannelHandler codec) {
        channel.pipeline().addLast(codec);
    }

    /** On the event loop. */
    void close() {
        for (CandidateSource s : sources) {
            s.close();
        }
        if (stun != null) {
            stun.close();
        }
        if (channel != null) {
            channel.close();
        }
        releaseTcpPort();
    }

    /** Passes disco datagrams to the receiver; everything else on to QUIC. */
    private final class DiscoDemux extends ChannelInboundHandlerAdapter {
        private final Receiver disco;

        DiscoDemux(Receiver disco) {
            this.disco = disco;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket p && DiscoCodec.looksLikeDisco(p.content())) {
                try {
                    disco.receive(DirectSocket.this, p.content(), p.sender());
                } catch (RuntimeException e) {
                    log.debug("disco datagram failed", e);
                } finally {
                    p.release();
                }
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }
}
