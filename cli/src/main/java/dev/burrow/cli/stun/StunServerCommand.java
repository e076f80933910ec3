package dev.burrow.cli.stun;

import dev.burrow.cli.common.Addresses;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.cli.common.UsageException;
import dev.burrow.cli.common.VersionProvider;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.RateLimit;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import dev.burrow.transport.Transport;
import dev.burrow.transport.TransportKind;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code burrow stun-server}: a standalone STUN server (RFC 8489 Binding), until SIGINT/SIGTERM. */
@Command(
        name = "stun-server",
        mixinStandardHelpOptions = true,
        description = {
            "Run a STUN server (RFC 8489 Binding over UDP, optionally TCP and RFC 5780) until interrupted.",
            "Responses are minimal by default: no SOFTWARE, no reason phrases, no RFC 5780 addresses."
        })
public final class StunServerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    TransportOption transport;

    @Option(
            names = "--listen",
            paramLabel = "HOST:PORT",
            defaultValue = "0.0.0.0:" + StunServerConfig.DEFAULT_PORT,
            description = "UDP address to answer on. Default: ${DEFAULT-VALUE}.")
    String listen;

    @Option(
            names = "--tcp-listen",
            paramLabel = "HOST:PORT",
            description = "Also answer over TCP (RFC 8489 framing) here.")
    String tcpListen;

    @Option(
            names = "--rfc5780-alt",
            paramLabel = "HOST:PORT",
            description =
                    "Enable RFC 5780 behaviour discovery with this alternate IP and port (both must differ from --listen, "
                            + "which must then be a concrete IP). Off by default: it adds sockets and amplification surface.")
    String rfc5780Alt;

    @Option(names = "--software", description = "Add a SOFTWARE attribute (burrow and its version) to responses.")
    boolean software;

    @Option(names = "--fingerprint", description = "Add FINGERPRINT to responses.")
    boolean fingerprint;

    @Option(
            names = "--rate-limit",
            paramLabel = "N/s",
            description = "Answer at most N requests per second per source IP (IPv6: per /64); excess is dropped.")
    String rateLimit;

    @Option(
            names = "--recv-batch",
            paramLabel = "N",
            defaultValue = "16",
            description =
                    "Datagrams read per system call with the epoll transport (recvmmsg); 1 turns batching off. Default: ${DEFAULT-VALUE}.")
    int recvBatch;

    @Option(
            names = "--threads",
            paramLabel = "N",
            defaultValue = "2",
            description = "Event loop threads. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() throws Exception {
        StunServerConfig config = config();
        if (recvBatch < 1 || recvBatch > 64) {
            throw new UsageException("--recv-batch: must be 1..64");
        }
        if (threads < 1 || threads > 256) {
            throw new UsageException("--threads: must be 1..256");
        }
        Transport t = transport.select();
        EventLoopGroup group = t.newEventLoopGroup(threads, new DefaultThreadFactory("burrow-stun"));
        StunServer server;
        try {
            server = StunServer.start(
                    config, group, t.datagramChannel(), t.serverSocketChannel(), StunMetrics.NOOP, udpOptions(t));
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("stun-server: udp " + Addresses.text(server.udpAddresses())
                + (server.tcpAddress() == null ? "" : ", tcp " + Addresses.text(server.tcpAddress()))
                + " (" + t.kind().configName() + "); Ctrl-C to stop");
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            // SIGINT/SIGTERM: close the sockets, then the event loops, then let main return.
                            server.close();
                            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
                            out.println("stun-server: stopped");
                            out.flush();
                            stopped.countDown();
                        },
                        "burrow-stun-shutdown"));
        stopped.await();
        return 0;
    }

    /** Batched reads (recvmmsg) on epoll; each datagram still gets a 2048-byte slot, so the truncation check holds. */
    private Map<ChannelOption<?>, Object> udpOptions(Transport t) {
        if (t.kind() != TransportKind.EPOLL || recvBatch == 1) {
            return Map.of();
        }
        return Map.of(
                EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE,
                UDP_SLOT_BYTES,
                ChannelOption.RECVBUF_ALLOCATOR,
                new FixedRecvByteBufAllocator(UDP_SLOT_BYTES * recvBatch));
    }

    /** Must equal the server's per-datagram read buffer (2048): see StunServer.start. */
    private static final int UDP_SLOT_BYTES = 2048;

    StunServerConfig config() {
        InetSocketAddress udp = StunOptions.hostPort("--listen", listen, StunServerConfig.DEFAULT_PORT, true, true);
        StunServerConfig config = StunServerConfig.udp(udp);
        if (tcpListen != null) {
            config = config.withTcp(
                    StunOptions.hostPort("--tcp-listen", tcpListen, StunServerConfig.DEFAULT_PORT, true, true));
        }
        if (software) {
            config = config.withSoftware("burrow " + VersionProvider.version());
        }
        if (fingerprint) {
            config = config.withFingerprint(true);
        }
        if (rateLimit != null) {
            config = config.withRateLimit(RateLimit.perSecond(StunOptions.rate("--rate-limit", rateLimit)));
        }
        if (rfc5780Alt != null) {
            try {
                config = config.withRfc5780Alternate(StunOptions.hostPort("--rfc5780-alt", rfc5780Alt, -1, true, true));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--rfc5780-alt: " + e.getMessage());
            }
        }
        return config;
    }
}
