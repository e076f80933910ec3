package dev.burrow.bench.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A userspace TCP "link" with a one-way delay, for setup-latency benchmarks on a kernel without netem
 * ({@code bench/setup-bench.sh}, issue 15). Every connection accepted on a listen port is forwarded to its
 * target port on loopback; each byte is delivered {@code D} after it was read, in each direction, in order.
 *
 * <p>The TCP handshake is emulated: the connection to the target is opened {@code 3·D} after the accept
 * (SYN, SYN-ACK, ACK each cross the link once, so a target's {@code accept()} returns when it would on a
 * real link), and bytes the client sends before that are held until then. So a server-first target's
 * first byte reaches the client after 2 RTT and a client-first request/response takes 2 RTT, as over a
 * real link with RTT = 2·D.
 *
 * <p>Backpressure: each direction holds at most {@code --max-inflight} bytes (read but not yet written to
 * the other socket); above that it stops reading from its source until half of it drained, so the
 * buffering is bounded whatever the delay. Half-close (FIN) is propagated after the bytes before it; a
 * close or reset closes the other side after the pending bytes, also delayed.
 *
 * <p>The delay can be changed while running (existing connections too: a long-lived agent-relay or
 * ssh connection keeps going) over a control port: a line {@code delay MS} answers {@code OK}. A lower
 * delay never reorders bytes: a byte is never due before the one read before it.
 *
 * <pre>
 * DelayProxy --delay-ms D [--control PORT] [--max-inflight BYTES] LISTEN:TARGET [LISTEN:TARGET ...]
 * </pre>
 * Prints {@code READY} once every port listens.
 */
public final class DelayProxy {
    private static final AtomicLong delayNanos = new AtomicLong();
    private static volatile int maxInflight = 32 << 20;

    private DelayProxy() {}

    public static void main(String[] args) throws Exception {
        int control = 0;
        int i = 0;
        List<int[]> maps = new ArrayList<>();
        while (i < args.length) {
            switch (args[i]) {
                case "--delay-ms" -> setDelayMs(Double.parseDouble(args[++i]));
                case "--control" -> control = Integer.parseInt(args[++i]);
                case "--max-inflight" -> maxInflight = Integer.parseInt(args[++i]);
                default -> {
                    String[] lt = args[i].split(":");
                    maps.add(new int[] {Integer.parseInt(lt[0]), Integer.parseInt(lt[1])});
                }
            }
            i++;
        }
        if (maps.isEmpty()) {
            System.err.println("usage: DelayProxy --delay-ms D [--control PORT] LISTEN:TARGET ...");
            System.exit(2);
        }
        try {
            start(maps);
        } catch (Exception e) { // a port in use: exit, the event loop thread would keep the JVM alive
            System.err.println("DelayProxy: " + e);
            System.exit(1);
        }
        if (control > 0) {
            ServerSocket cs = new ServerSocket(control, 16, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon().start(() -> controlLoop(cs));
        }
        System.out.println("READY");
        System.out.flush();
        Thread.currentThread().join();
    }

    /** A running proxy: its listen ports (in the order of the maps; 0 in a map picks a free one) and its event loops. */
    record Running(EventLoopGroup group, List<Integer> ports) implements AutoCloseable {
        @Override
        public void close() {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** Listens on every {@code {listen, target}} loopback port pair. */
    static Running start(List<int[]> maps) throws InterruptedException {
        List<Integer> ports = new ArrayList<>();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        InetAddress lo = InetAddress.getLoopbackAddress();
        for (int[] m : maps) {
            InetSocketAddress target = new InetSocketAddress(lo, m[1]);
            ChannelFuture f = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new Connection(ch, target));
                        }
                    })
                    .bind(lo, m[0])
                    .sync();
            ports.add(((InetSocketAddress) f.channel().localAddress()).getPort());
        }
        return new Running(group, ports);
    }

    /** The one-way delay for bytes read from now on (never reordering bytes already read). */
    static void setDelayMs(double ms) {
        delayNanos.set(Math.round(ms * 1e6));
    }

    static void setMaxInflight(int bytes) {
        maxInflight = bytes;
    }

    private static void controlLoop(ServerSocket cs) {
        while (true) {
            try (Socket s = cs.accept();
                    BufferedReader in =
                            new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                    PrintWriter out = new PrintWriter(s.getOutputStream(), true, StandardCharsets.US_ASCII)) {
                String line;
                while ((line = in.readLine()) != null) {
                    String[] w = line.trim().split("\\s+");
                    if (w.length == 2 && w[0].equals("delay")) {
                        setDelayMs(Double.parseDouble(w[1]));
                        out.println("OK");
                    } else {
                        out.println("ERR usage: delay MS");
                    }
                }
            } catch (Exception e) {
                // next control connection
            }
        }
    }

    /** One direction of one connection: delays reads from {@code source} and writes them to {@code dest}. */
    private static final class Direction extends ChannelInboundHandlerAdapter {
        private final Channel source;
        private Channel dest;
        private final ArrayDeque<Object> beforeConnect = new ArrayDeque<>();
        private final ArrayDeque<Pending> queue = new ArrayDeque<>();
        private boolean drainScheduled;
        private boolean connected;
        private long lastDue;
        private long inflight;
        private ChannelFuture lastWrite;
        private boolean ended;
        private boolean finSent;
        private Direction other;

        Direction(Channel source) {
            this.source = source;
        }

        private long due() {
            long d = Math.max(System.nanoTime() + delayNanos.get(), lastDue);
            lastDue = d;
            return d;
        }

        /**
         * Queues a buffer, FIN or close to be passed on at its due time. One queue and one timer per direction, so
         * items leave strictly in order (separately scheduled timers could swap items due at the same time).
         */
        private void enqueue(Object what) {
            queue.add(new Pending(due(), what));
            if (!drainScheduled) {
                drainScheduled = true;
                long wait = queue.peek().due() - System.nanoTime();
                if (wait <= 0) {
                    drain();
                } else {
                    source.eventLoop().schedule(this::drain, wait, TimeUnit.NANOSECONDS);
                }
            }
        }

        private void drain() {
            long now = System.nanoTime();
            while (!queue.isEmpty() && queue.peek().due() <= now) {
                deliver(queue.poll().what());
            }
            if (queue.isEmpty()) {
                drainScheduled = false;
            } else {
                source.eventLoop()
                        .schedule(
                                this::drain, Math.max(0, queue.peek().due() - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        }

        /** Writes a buffer or passes a FIN or close on now if the target is connected, else once it is (in order). */
        private void deliver(Object what) {
            if (!connected) {
                beforeConnect.add(what);
                return;
            }
            if (what instanceof ByteBuf buf) {
                int n = buf.readableBytes();
                lastWrite = dest.writeAndFlush(buf).addListener(f -> {
                    drained(n);
                    if (!f.isSuccess()) {
                        source.close();
                    }
                });
            } else if (what == Signal.FIN) {
                afterWrites(() -> {
                    if (dest instanceof SocketChannel sc && sc.isActive()) {
                        sc.shutdownOutput().addListener(f -> finSent());
                    } else {
                        finSent();
                    }
                });
            } else {
                afterWrites(() -> {
                    dest.close();
                    source.close();
                });
            }
        }

        private void afterWrites(Runnable r) {
            if (lastWrite == null || lastWrite.isDone()) {
                r.run();
            } else {
                lastWrite.addListener(f -> r.run());
            }
        }

        void connected(Channel dest) {
            this.dest = dest;
            connected = true;
            while (!beforeConnect.isEmpty()) {
                deliver(beforeConnect.poll());
            }
        }

        void connectFailed() {
            for (Object o : beforeConnect) {
                ReferenceCountUtil.release(o);
            }
            beforeConnect.clear();
            source.close();
        }

        private void drained(int n) {
            inflight -= n;
            if (inflight <= maxInflight / 2 && !source.config().isAutoRead() && source.isActive()) {
                source.config().setAutoRead(true);
            }
        }

        /** This direction's FIN went out after all its bytes; once both have, close both sockets. */
        private void finSent() {
            finSent = true;
            if (other != null && other.finSent) {
                source.close();
                dest.close();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            inflight += buf.readableBytes();
            if (inflight > maxInflight) {
                source.config().setAutoRead(false);
            }
            enqueue(buf);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent && !ended) {
                ended = true;
                enqueue(Signal.FIN);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ended = true;
            enqueue(Signal.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private enum Signal {
        FIN,
        CLOSE
    }

    private record Pending(long due, Object what) {}

    /** The accepted side: opens the target connection 3·D later and wires both directions. */
    private static final class Connection extends ChannelInboundHandlerAdapter {
        private final SocketChannel client;
        private final InetSocketAddress target;

        Connection(SocketChannel client, InetSocketAddress target) {
            this.client = client;
            this.target = target;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            Direction up = new Direction(client);
            ctx.pipeline().replace(this, "up", up);
            long handshake = 3 * delayNanos.get();
            up.lastDue = System.nanoTime() + handshake; // nothing reaches the target before it accepted
            Runnable connect = () -> new Bootstrap()
                    .group(client.eventLoop())
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            Direction down = new Direction(ch);
                            down.other = up;
                            up.other = down;
                            down.dest = client;
                            down.connected = true;
                            ch.pipeline().addLast(down);
                        }
                    })
                    .connect(target)
                    .addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            up.connected(f.channel());
                        } else {
                            up.connectFailed();
                        }
                    });
            if (handshake == 0) {
                connect.run();
            } else {
                client.eventLoop().schedule(connect, handshake, TimeUnit.NANOSECONDS);
            }
        }
    }
}
