package dev.burrow.bench.stun;

import dev.burrow.protocol.HostPort;
import dev.burrow.transport.Transport;
import dev.burrow.transport.TransportKind;
import dev.burrow.transport.TransportSelector;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * STUN Binding load generator: several UDP sockets, each keeping a fixed number of requests
 * outstanding against one server for a fixed time. Every answer is validated (success class, a
 * transaction ID we have outstanding, XOR-MAPPED-ADDRESS equal to the socket's own address) and
 * only valid answers count. A request unanswered after {@link #LOSS_TIMEOUT_MS} is counted lost
 * and replaced, so losses never shrink the window.
 *
 * <pre>
 * java -cp ... dev.burrow.bench.stun.StunLoadGenerator --target 127.0.0.1:3478 --sockets 4 \
 *      --outstanding 64 --warmup 5 --duration 15 [--transport epoll] [--threads 1]
 * </pre>
 * Prints one {@code RESULT} line: answered requests per second over the measured interval.
 */
public final class StunLoadGenerator {
    private static final int COOKIE = 0x2112A442;
    private static final int BINDING_REQUEST = 0x0001;
    private static final int BINDING_SUCCESS = 0x0101;
    /** A request without an answer for this long is counted lost and replaced. */
    static final long LOSS_TIMEOUT_MS = 250;

    private static final int LATE = -2;

    final AtomicLong answered = new AtomicLong();
    final AtomicLong invalid = new AtomicLong();
    final AtomicLong lost = new AtomicLong();
    final AtomicLong late = new AtomicLong();
    final AtomicLong sent = new AtomicLong();
    /** When set, the server's CPU time (utime + stime from /proc) is sampled around the measurement. */
    long serverPid = -1;

    int clkTck = 100;

    /** CPU seconds the process has used, or -1 when unknown. */
    double cpuSeconds(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // after the command: state(0) ... utime is field 14 overall, i.e. index 11 here; stime index 12
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) clkTck;
        } catch (Exception e) {
            return -1;
        }
    }

    public static void main(String[] args) throws Exception {
        String target = "127.0.0.1:3478";
        int sockets = 4;
        int outstanding = 64;
        int warmup = 5;
        int duration = 15;
        int threads = 1;
        String transport = "auto";
        String label = "server";
        long serverPid = -1;
        int clkTck = 100;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--target" -> {
                    target = v;
                    i++;
                }
                case "--sockets" -> {
                    sockets = Integer.parseInt(v);
                    i++;
                }
                case "--outstanding" -> {
                    outstanding = Integer.parseInt(v);
                    i++;
                }
                case "--warmup" -> {
                    warmup = Integer.parseInt(v);
                    i++;
                }
                case "--duration" -> {
                    duration = Integer.parseInt(v);
                    i++;
                }
                case "--threads" -> {
                    threads = Integer.parseInt(v);
                    i++;
                }
                case "--transport" -> {
                    transport = v;
                    i++;
                }
                case "--label" -> {
                    label = v;
                    i++;
                }
                case "--server-pid" -> {
                    serverPid = Long.parseLong(v);
                    i++;
                }
                case "--clk-tck" -> {
                    clkTck = Integer.parseInt(v);
                    i++;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        HostPort hp = HostPort.parse(target, HostPort.PORT_REQUIRED);
        InetSocketAddress server = new InetSocketAddress(InetAddress.getByName(hp.host()), hp.port());
        Transport t = new TransportSelector().select(TransportKind.parse(transport));
        StunLoadGenerator g = new StunLoadGenerator();
        g.serverPid = serverPid;
        g.clkTck = clkTck;
        g.run(t, server, sockets, outstanding, threads, warmup, duration, label);
    }

    void run(
            Transport t,
            InetSocketAddress server,
            int sockets,
            int window,
            int threads,
            int warmup,
            int duration,
            String label)
            throws Exception {
        EventLoopGroup group = t.newEventLoopGroup(threads, new DefaultThreadFactory("stun-load"));
        List<Channel> channels = new ArrayList<>();
        try {
            for (int s = 0; s < sockets; s++) {
                LoadSocket handler = new LoadSocket(s, server, window);
                Channel ch = new Bootstrap()
                        .group(group)
                        .channel(t.datagramChannel())
                        .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(2048))
                        .option(ChannelOption.SO_RCVBUF, 4 << 20)
                        .option(ChannelOption.SO_SNDBUF, 4 << 20)
                        .handler(handler)
                        .bind(new InetSocketAddress(server.getAddress(), 0))
                        .sync()
                        .channel();
                channels.add(ch);
            }
            Thread.sleep(warmup * 1000L);
            long a0 = answered.get();
            long l0 = lost.get();
            long i0 = invalid.get();
            long late0 = late.get();
            long s0 = sent.get();
            double cpu0 = cpuSeconds(serverPid);
            long t0 = System.nanoTime();
            Thread.sleep(duration * 1000L);
            long elapsed = System.nanoTime() - t0;
            long a = answered.get() - a0;
            double cpu = cpuSeconds(serverPid) - cpu0;
            long perCpuSecond = cpu0 < 0 || cpu <= 0 ? -1 : Math.round(a / cpu);
            long rate = Math.round(a / (elapsed / 1e9));
            System.out.printf(
                    Locale.ROOT,
                    "RESULT label=%s rate=%d per_cpu_second=%d server_cpu=%.2f answered=%d sent=%d lost=%d late=%d invalid=%d seconds=%.1f transport=%s sockets=%d outstanding=%d%n",
                    label,
                    rate,
                    perCpuSecond,
                    cpu,
                    a,
                    sent.get() - s0,
                    lost.get() - l0,
                    late.get() - late0,
                    invalid.get() - i0,
                    elapsed / 1e9,
                    t.kind().configName(),
                    sockets,
                    window);
        } finally {
            for (Channel c : channels) {
                c.close().awaitUninterruptibly();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /**
     * One socket: {@code window} slots, each with one request in flight. The transaction ID is
     * (socket, slot, generation), so an answer is matched with array lookups and no allocation.
     */
    final class LoadSocket extends ChannelInboundHandlerAdapter {
        private final int socketId;
        private final InetSocketAddress server;
        private final int window;
        private final int[] generation;
        private final long[] sentAt;
        private InetSocketAddress local;
        private int localIp;
        private boolean flush;
        private ScheduledFuture<?> sweeper;

        LoadSocket(int socketId, InetSocketAddress server, int window) {
            this.socketId = socketId;
            this.server = server;
            this.window = window;
            this.generation = new int[window];
            this.sentAt = new long[window];
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            local = (InetSocketAddress) ctx.channel().localAddress();
            byte[] ip = local.getAddress().getAddress();
            localIp = ip.length == 4
                    ? ((ip[0] & 0xFF) << 24) | ((ip[1] & 0xFF) << 16) | ((ip[2] & 0xFF) << 8) | (ip[3] & 0xFF)
                    : 0;
            for (int slot = 0; slot < window; slot++) {
                send(ctx, slot);
            }
            ctx.flush();
            sweeper = ctx.executor()
                    .scheduleAtFixedRate(() -> sweep(ctx), LOSS_TIMEOUT_MS, LOSS_TIMEOUT_MS / 2, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (sweeper != null) {
                sweeper.cancel(false);
            }
            ctx.fireChannelInactive();
        }

        private void sweep(ChannelHandlerContext ctx) {
            long now = System.nanoTime();
            long limit = TimeUnit.MILLISECONDS.toNanos(LOSS_TIMEOUT_MS);
            boolean any = false;
            for (int slot = 0; slot < window; slot++) {
                if (now - sentAt[slot] > limit) {
                    lost.incrementAndGet();
                    send(ctx, slot);
                    any = true;
                }
            }
            if (any) {
                ctx.flush();
            }
        }

        private void send(ChannelHandlerContext ctx, int slot) {
            int gen = ++generation[slot];
            sentAt[slot] = System.nanoTime();
            ByteBuf b = ctx.alloc().directBuffer(20);
            b.writeShort(BINDING_REQUEST).writeShort(0).writeInt(COOKIE);
            b.writeInt(socketId).writeInt(slot).writeInt(gen);
            ctx.write(new DatagramPacket(b, server), ctx.voidPromise());
            sent.incrementAndGet();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket p = (DatagramPacket) msg;
            try {
                int slot = validate(p.content());
                if (slot == LATE) {
                    late.incrementAndGet();
                    return;
                }
                if (slot < 0) {
                    invalid.incrementAndGet();
                    return;
                }
                answered.incrementAndGet();
                send(ctx, slot);
                flush = true;
            } finally {
                p.release();
            }
        }

        /** The slot this valid answer frees, or -1. */
        private int validate(ByteBuf b) {
            int n = b.readableBytes();
            int i = b.readerIndex();
            if (n < 20
                    || b.getUnsignedShort(i) != BINDING_SUCCESS
                    || b.getInt(i + 4) != COOKIE
                    || b.getUnsignedShort(i + 2) != n - 20
                    || b.getInt(i + 8) != socketId) {
                return -1;
            }
            int slot = b.getInt(i + 12);
            if (slot < 0 || slot >= window) {
                return -1;
            }
            if (b.getInt(i + 16) != generation[slot]) {
                return LATE; // answered after we counted it lost and replaced it, or a duplicate
            }
            int pos = i + 20;
            int end = i + n;
            while (pos + 4 <= end) {
                int type = b.getUnsignedShort(pos);
                int len = b.getUnsignedShort(pos + 2);
                if (pos + 4 + len > end) {
                    return -1;
                }
                if (type == 0x0020) {
                    if (len != 8 || b.getByte(pos + 5) != 1) {
                        return -1;
                    }
                    int port = b.getUnsignedShort(pos + 6) ^ (COOKIE >>> 16);
                    int ip = b.getInt(pos + 8) ^ COOKIE;
                    return port == local.getPort() && ip == localIp ? slot : -1;
                }
                pos += 4 + ((len + 3) & ~3);
            }
            return -1;
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (flush) {
                flush = false;
                ctx.flush();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP port unreachable while a server starts or stops: keep going
        }
    }
}
