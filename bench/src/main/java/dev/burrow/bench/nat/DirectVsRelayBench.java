package dev.burrow.bench.nat;

import dev.burrow.agent.direct.DirectManager;
import dev.burrow.agent.relay.CircuitAcceptor;
import dev.burrow.agent.relay.CircuitConnection;
import dev.burrow.agent.relay.CircuitDecision;
import dev.burrow.agent.relay.ConnectMode;
import dev.burrow.agent.relay.IncomingCircuit;
import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientConfig;
import dev.burrow.agent.relay.RelayClientMetrics;
import dev.burrow.agent.relay.RelayTrust;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Throughput of one stream over the direct QUIC path against one relay circuit, on this machine, in
 * one run: two agents' direct-path managers (punching on loopback, QUIC with node certificates) and
 * two relay clients through an in-process relay (TLS to the relay on both legs). One direction, raw
 * path bytes (no end-to-end TLS on either, so the comparison is the paths themselves).
 *
 * <pre>java -cp bench/target/burrow-bench.jar dev.burrow.bench.nat.DirectVsRelayBench [MIB] [ROUNDS]</pre>
 */
public final class DirectVsRelayBench {
    private DirectVsRelayBench() {}

    public static void main(String[] args) throws Exception {
        int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Transport t = Transport.nio();
        EventLoopGroup group = t.newEventLoopGroup(2, new DefaultThreadFactory("bench-nat", true));
        Path tmp = Files.createTempDirectory("burrow-nat-bench");
        RelayServer relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                        "listen",
                        "127.0.0.1:0",
                        "admin-listen",
                        "off",
                        "tls.mode",
                        "dev",
                        "tls.dev-dir",
                        tmp.resolve("relay").toString(),
                        "auth.mode",
                        "open",
                        "transport",
                        "nio")))
                .transport(t)
                .build()
                .start();
        StunServer stun = StunServer.start(
                StunServerConfig.udp(new InetSocketAddress("127.0.0.1", 0)),
                group,
                t.datagramChannel(),
                null,
                StunMetrics.NOOP);
        NodeIdentity a = NodeIdentity.ephemeral("bench-a");
        NodeIdentity b = NodeIdentity.ephemeral("bench-b");
        URI url = URI.create("https://127.0.0.1:" + relay.address().getPort());
        RelayClient ra = client(url, relay.tlsFingerprint(), a, t, group, false);
        RelayClient rb = client(url, relay.tlsFingerprint(), b, t, group, true);
        AtomicLong received = new AtomicLong();
        rb.setCircuitAcceptor(new CircuitAcceptor() {
            @Override
            public CircuitDecision decide(IncomingCircuit offer) {
                return CircuitDecision.accept();
            }

            @Override
            public void attached(IncomingCircuit offer, CircuitConnection c) {
                c.pipeline().addLast(counter(received));
                c.start();
                c.channel().config().setAutoRead(true);
            }
        });
        ra.start();
        rb.start();
        ra.whenConnected().get(30, TimeUnit.SECONDS);
        rb.whenConnected().get(30, TimeUnit.SECONDS);

        NodeVerifier verifier = NodeVerifier.builder().build();
        InetSocketAddress any = new InetSocketAddress("0.0.0.0", 0);
        DirectManager[] m = new DirectManager[2];
        m[0] = new DirectManager(
                a,
                verifier,
                group,
                t.datagramChannel(),
                (p, buf) -> deliver(m[1], a.nodeKey(), buf),
                () -> List.of(stun.udpAddress()),
                k -> true,
                s -> {
                    s.channel().pipeline().addLast(counter(received));
                    s.channel().config().setAutoRead(true);
                },
                any,
                any);
        m[1] = new DirectManager(
                b,
                verifier,
                group,
                t.datagramChannel(),
                (p, buf) -> deliver(m[0], b.nodeKey(), buf),
                () -> List.of(stun.udpAddress()),
                k -> true,
                s -> {
                    s.channel().pipeline().addLast(counter(received));
                    s.channel().config().setAutoRead(true);
                },
                any,
                any);
        m[0].start();
        m[1].start();
        Thread.sleep(1000); // endpoint discovery
        long wantAt = System.nanoTime();
        m[0].want(b.nodeKey());
        while (!m[0].hasDirect(b.nodeKey())) {
            if (System.nanoTime() - wantAt > Duration.ofSeconds(30).toNanos()) {
                throw new IllegalStateException("no direct path on loopback");
            }
            Thread.sleep(5);
        }
        System.out.printf(
                Locale.ROOT,
                "loopback: want -> verified direct path and QUIC up in %.1f ms%n",
                (System.nanoTime() - wantAt) / 1e6);

        long bytes = (long) mib << 20;
        for (int r = 1; r <= rounds; r++) {
            Channel d = m[0].openStream(b.nodeKey(), "bench").get(10, TimeUnit.SECONDS);
            double direct = send(d, bytes, received);
            Channel c = ra.openCircuit(b.nodeKey(), "bench")
                    .get(10, TimeUnit.SECONDS)
                    .channel();
            double viaRelay = send(c, bytes, received);
            System.out.printf(
                    Locale.ROOT,
                    "round %d: %d MiB one way: direct QUIC %.0f MiB/s, relay circuit %.0f MiB/s%n",
                    r,
                    mib,
                    direct,
                    viaRelay);
        }
        m[0].close();
        m[1].close();
        ra.close();
        rb.close();
        stun.close();
        relay.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private static boolean deliver(DirectManager to, NodeKey from, ByteBuf buf) {
        try {
            return to.receiveFromRelay(from, buf);
        } finally {
            buf.release();
        }
    }

    private static RelayClient client(
            URI url, String fp, NodeIdentity id, Transport t, EventLoopGroup g, boolean accepts) {
        return new RelayClient(
                RelayClientConfig.builder(url, RelayTrust.pinned(fp), id)
                        .mode(ConnectMode.UPGRADE)
                        .transport(t)
                        .acceptsCircuits(accepts)
                        .build(),
                RelayClientMetrics.NOOP,
                g);
    }

    private static ChannelInboundHandlerAdapter counter(AtomicLong received) {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf b) {
                    received.addAndGet(b.readableBytes());
                }
                ReferenceCountUtil.release(msg);
            }
        };
    }

    /** Sends {@code bytes} as fast as the channel stays writable; returns MiB/s until all arrived. */
    private static double send(Channel ch, long bytes, AtomicLong received) throws Exception {
        long before = received.get();
        ByteBuf chunk =
                Unpooled.unreleasableBuffer(Unpooled.directBuffer(64 * 1024).writeZero(64 * 1024));
        CompletableFuture<Void> sent = new CompletableFuture<>();
        long start = System.nanoTime();
        long[] left = {bytes};
        Runnable[] pump = new Runnable[1];
        pump[0] = () -> {
            while (left[0] > 0 && ch.isWritable()) {
                int n = (int) Math.min(chunk.capacity(), left[0]);
                left[0] -= n;
                ch.write(chunk.retainedSlice(0, n));
            }
            ch.flush();
            if (left[0] == 0) {
                sent.complete(null);
            } else {
                ch.eventLoop().schedule(pump[0], 50, TimeUnit.MICROSECONDS);
            }
        };
        ch.eventLoop().execute(pump[0]);
        sent.get(10, TimeUnit.MINUTES);
        while (received.get() - before < bytes) {
            Thread.sleep(1);
            if (System.nanoTime() - start > Duration.ofMinutes(10).toNanos()) {
                throw new IllegalStateException("transfer stalled");
            }
        }
        double secs = (System.nanoTime() - start) / 1e9;
        ch.close();
        return (bytes / 1048576.0) / secs;
    }
}
