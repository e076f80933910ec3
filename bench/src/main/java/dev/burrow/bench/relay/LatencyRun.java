package dev.burrow.bench.relay;

import dev.burrow.agent.relay.RelayClient;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.tls.RelayTls;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * 64-byte ping-pong, one exchange in flight: client A sends a datagram to client B through the
 * relay, B sends it back, A records the round trip and sends the next. Alternated, in the same JVM
 * and run, with the same ping-pong over one direct TLS connection to {@link TlsEcho} (the floor), so
 * "latency added by the relay" is the difference of the two. A lost exchange (no answer within
 * {@link #LOSS_TIMEOUT_MS}) is counted and retried, never recorded.
 */
final class LatencyRun {
    static final long LOSS_TIMEOUT_MS = 1000;

    static void run(Args a) throws Exception {
        URI relay = URI.create(a.required("relay"));
        String fp = a.required("fingerprint");
        int echoPort = a.integer("echo-port", -1);
        String echoFp = a.string("echo-fingerprint", null);
        int size = a.integer("size", 64);
        int warmup = a.integer("warmup", 5000);
        int count = a.integer("count", 20000);
        int rounds = a.integer("rounds", 3);
        Transport t = BenchClients.transport(a.string("transport", "epoll"));
        a.done();

        EventLoopGroup group = BenchClients.group(t, 1);
        RelayClient alice = BenchClients.client(relay, fp, "ping", t, group);
        RelayClient bob = BenchClients.client(relay, fp, "pong", t, group);
        bob.setDatagramHandler((src, buf) -> bob.send(src, buf.retain()));
        BenchClients.connectAll(List.of(alice, bob), 60);

        Channel direct = null;
        if (echoPort > 0) {
            direct = connectDirect(group, t, echoPort, echoFp);
        }
        // One path object each for all rounds: a DirectPath adds its handler to the channel's pipeline.
        RelayedPath relayedPath = new RelayedPath(alice, bob.nodeKey());
        DirectPath directPath = direct == null ? null : new DirectPath(direct);
        for (int r = 1; r <= rounds; r++) {
            LatencySamples relayed = pingPong(relayedPath, size, warmup, count);
            System.out.println("RESULT label=relay round=" + r + " " + relayed.summary());
            if (directPath != null) {
                LatencySamples floor = pingPong(directPath, size, warmup, count);
                System.out.println("RESULT label=direct-tls round=" + r + " " + floor.summary());
            }
            System.out.flush();
        }
        if (direct != null) {
            direct.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        BenchClients.closeAll(List.of(alice, bob));
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** A path that carries one message out and back; the answer arrives through {@link #onAnswer}. */
    abstract static class PingPath {
        volatile Runnable onAnswer = () -> {};

        abstract void send(ByteBuf payload);
    }

    static final class RelayedPath extends PingPath {
        final RelayClient client;
        final NodeKey peer;

        RelayedPath(RelayClient client, NodeKey peer) {
            this.client = client;
            this.peer = peer;
            client.setDatagramHandler((src, buf) -> onAnswer.run());
        }

        @Override
        void send(ByteBuf payload) {
            if (!client.send(peer, payload).accepted()) {
                throw new IllegalStateException("relay client refused a ping datagram");
            }
        }
    }

    static final class DirectPath extends PingPath {
        final Channel channel;
        int pending; // bytes still expected of the current answer (event loop only)
        int expected;

        DirectPath(Channel channel) {
            this.channel = channel;
            channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf b = (ByteBuf) msg;
                    pending -= b.readableBytes();
                    b.release();
                    if (pending <= 0) {
                        pending = expected;
                        onAnswer.run();
                    }
                }
            });
        }

        @Override
        void send(ByteBuf payload) {
            expected = payload.readableBytes();
            if (pending <= 0) {
                pending = expected;
            }
            channel.writeAndFlush(payload);
        }
    }

    /** Runs {@code warmup + count} exchanges one at a time on the path's event loop; records the last {@code count}. */
    static LatencySamples pingPong(PingPath path, int size, int warmup, int count) throws Exception {
        LatencySamples samples = new LatencySamples(count);
        CompletableFuture<Void> done = new CompletableFuture<>();
        byte[] data = new byte[size];
        long[] sentAt = new long[1];
        int[] n = new int[1];
        long[] lost = new long[1];
        Runnable sendNext = () -> {
            sentAt[0] = System.nanoTime();
            path.send(Unpooled.wrappedBuffer(data));
        };
        path.onAnswer = () -> {
            long rtt = System.nanoTime() - sentAt[0];
            n[0]++;
            if (n[0] > warmup) {
                samples.record(rtt);
            }
            if (n[0] >= warmup + count) {
                done.complete(null);
            } else {
                sendNext.run();
            }
        };
        sendNext.run();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        int lastN = -1;
        while (!done.isDone()) {
            try {
                done.get(LOSS_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (n[0] == lastN) { // no progress for a whole timeout: the exchange was lost
                    lost[0]++;
                    samples.lost++;
                    System.err.println("latency: exchange lost, resending (" + lost[0] + ")");
                    sendNext.run();
                }
                lastN = n[0];
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("ping-pong did not finish in 300 s");
                }
            }
        }
        return samples;
    }

    static Channel connectDirect(EventLoopGroup group, Transport t, int port, String fingerprint) throws Exception {
        var ssl = RelayTls.clientPinned(fingerprint);
        Channel ch = new Bootstrap()
                .group(group)
                .channel(t.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(ssl.newHandler(c.alloc(), "127.0.0.1", port));
                    }
                })
                .connect("127.0.0.1", port)
                .sync()
                .channel();
        ch.pipeline().get(SslHandler.class).handshakeFuture().sync();
        return ch;
    }
}
