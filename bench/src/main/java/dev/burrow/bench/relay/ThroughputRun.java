package dev.burrow.bench.relay;

import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.SendResult;
import dev.burrow.identity.NodeKey;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keyed datagram throughput: {@code pairs} sender clients each send {@code size}-byte datagrams as
 * fast as their relay connection stays writable to their own receiver client, through the relay
 * (TLS on both legs). Counts what the receivers get over {@code duration} seconds after
 * {@code warmup}; reads the relay's CPU time from {@code /proc/<relay-pid>/stat} and its drop
 * counters from {@code /metrics} over the same interval.
 *
 * <p>Senders never block and never queue on their own: each sender's pump runs on the client event
 * loop and sends while {@link RelayClient#isWritable()} (the client's own bounded queue and the
 * socket's water mark), then yields the loop; when not writable it retries after {@link #RETRY_MICROS}.
 */
final class ThroughputRun {
    /** Datagrams one pump sends before letting the event loop do I/O. */
    static final int BATCH = 64;
    /** Retry delay when the relay connection is not writable. */
    static final long RETRY_MICROS = 50;

    /** One relay under test: a label, its public port, its process ID (for CPU time) and admin address (for drops). */
    record Target(String label, URI url, long pid, RelayScrape scrape) {
        static Target parse(String spec) {
            String[] f = spec.split(":");
            return new Target(
                    f[0],
                    URI.create("https://127.0.0.1:" + f[1]),
                    Long.parseLong(f[2]),
                    new RelayScrape("127.0.0.1:" + f[3]));
        }
    }

    static void run(Args a) throws Exception {
        List<Target> targets = new ArrayList<>();
        for (String spec : a.required("relays").split(",")) {
            targets.add(Target.parse(spec));
        }
        String fp = a.required("fingerprint");
        List<Integer> pairCounts = new ArrayList<>();
        for (String p : a.string("pairs", "1,4").split(",")) {
            pairCounts.add(Integer.parseInt(p.strip()));
        }
        int size = a.integer("size", 1400);
        int warm = a.integer("warm", 20);
        int warmup = a.integer("warmup", 5);
        int duration = a.integer("duration", 10);
        int rounds = a.integer("rounds", 3);
        int threads = a.integer("threads", 1);
        int window = a.integer("window", 128);
        Transport t = BenchClients.transport(a.string("transport", "epoll"));
        a.done();

        // Senders and receivers on separate event loops: a sender's pump must never delay a receiver's reads.
        EventLoopGroup sendGroup = BenchClients.group(t, 1);
        EventLoopGroup recvGroup = BenchClients.group(t, threads);
        int most = pairCounts.stream().mapToInt(Integer::intValue).max().orElse(1);
        for (Target target : targets) { // JIT warm-up of the relay and of this JVM, not recorded
            once(target, fp, t, sendGroup, recvGroup, most, size, warm, 1, window, 0);
        }
        for (int round = 1; round <= rounds; round++) {
            List<Target> order = new ArrayList<>(targets);
            if (round % 2 == 0) {
                Collections.reverse(order);
            }
            for (Target target : order) {
                for (int pairs : pairCounts) {
                    String line =
                            once(target, fp, t, sendGroup, recvGroup, pairs, size, warmup, duration, window, round);
                    System.out.println(line);
                    System.out.flush();
                }
            }
        }
        sendGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        recvGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Connects {@code pairs} fresh sender/receiver pairs, pumps for warmup + duration seconds, and returns the RESULT line. */
    static String once(
            Target target,
            String fp,
            Transport t,
            EventLoopGroup sendGroup,
            EventLoopGroup recvGroup,
            int pairs,
            int size,
            int warmup,
            int duration,
            int window,
            int round)
            throws Exception {
        List<RelayClient> senders = new ArrayList<>();
        List<RelayClient> receivers = new ArrayList<>();
        LongAdder delivered = new LongAdder();
        LongAdder deliveredBytes = new LongAdder();
        List<AtomicLong> perPair = new ArrayList<>();
        for (int i = 0; i < pairs; i++) {
            AtomicLong got = new AtomicLong();
            perPair.add(got);
            senders.add(BenchClients.client(target.url(), fp, "send-" + i, t, sendGroup));
            RelayClient r = BenchClients.client(target.url(), fp, "recv-" + i, t, recvGroup);
            r.setDatagramHandler((src, buf) -> {
                got.incrementAndGet();
                delivered.increment();
                deliveredBytes.add(buf.readableBytes());
            });
            receivers.add(r);
        }
        List<RelayClient> all = new ArrayList<>(senders);
        all.addAll(receivers);
        BenchClients.connectAll(all, 60);

        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) i;
        }
        ByteBuf raw = Unpooled.directBuffer(size).writeBytes(bytes);
        ByteBuf template = Unpooled.unreleasableBuffer(raw);
        List<Pump> pumps = new ArrayList<>();
        for (int i = 0; i < pairs; i++) {
            Pump p = new Pump(
                    senders.get(i), receivers.get(i).nodeKey(), template, sendGroup.next(), perPair.get(i), window);
            pumps.add(p);
            p.loop.execute(p::pump);
        }

        Thread.sleep(warmup * 1000L);
        Snapshot s0 = Snapshot.take(delivered, deliveredBytes, pumps, target.pid(), target.scrape());
        long t0 = System.nanoTime();
        Thread.sleep(duration * 1000L);
        Snapshot s1 = Snapshot.take(delivered, deliveredBytes, pumps, target.pid(), target.scrape());
        double secs = (System.nanoTime() - t0) / 1e9;
        for (Pump p : pumps) {
            p.running = false;
        }

        long frames = s1.delivered - s0.delivered;
        long bytesMoved = s1.bytes - s0.bytes;
        double relayCpu = s1.relayCpu - s0.relayCpu;
        double selfCpu = s1.selfCpu - s0.selfCpu;
        double gib = bytesMoved / (double) (1L << 30);
        RelayScrape.Counters c = s1.relay.minus(s0.relay);
        String line = String.format(
                Locale.ROOT,
                "RESULT round=%d label=%s transport=%s pairs=%d size=%d window=%d frames_per_s=%.0f "
                        + "gbit_per_s=%.3f sent=%d delivered=%d send_refused=%d relay_drops=%.0f relay_queue_full=%.0f "
                        + "relay_cpu_s=%.2f relay_cpu_util=%.2f relay_cpu_s_per_gib=%.2f relay_cpu_us_per_frame_in=%.2f "
                        + "load_cpu_util=%.2f seconds=%.2f",
                round,
                target.label(),
                c.transport(),
                pairs,
                size,
                window,
                frames / secs,
                bytesMoved * 8 / secs / 1e9,
                s1.sent - s0.sent,
                frames,
                s1.refused - s0.refused,
                c.drops(),
                c.queueFull(),
                relayCpu,
                relayCpu / secs,
                gib == 0 ? Double.NaN : relayCpu / gib,
                relayCpu * 1e6 / Math.max(1, s1.sent - s0.sent),
                selfCpu / secs,
                secs);
        Thread.sleep(200);
        BenchClients.closeAll(all);
        raw.release();
        return line;
    }

    /** One sender's send loop, on an event loop of the shared group. */
    static final class Pump {
        final RelayClient client;
        final NodeKey destination;
        final ByteBuf template;
        final EventLoop loop;
        final AtomicLong delivered;
        final int window;
        long sentTotal; // event loop only
        volatile boolean running = true;
        final LongAdder sent = new LongAdder();
        final LongAdder refused = new LongAdder();

        Pump(
                RelayClient client,
                NodeKey destination,
                ByteBuf template,
                EventLoop loop,
                AtomicLong delivered,
                int window) {
            this.delivered = delivered;
            this.window = window;
            this.client = client;
            this.destination = destination;
            this.template = template;
            this.loop = loop;
        }

        void pump() {
            if (!running) {
                return;
            }
            int n = 0;
            while (n < BATCH && client.isWritable() && (window <= 0 || sentTotal - delivered.get() < window)) {
                SendResult r = client.send(destination, template.retainedDuplicate());
                if (!r.accepted()) {
                    refused.increment();
                    break;
                }
                n++;
                sentTotal++;
            }
            sent.add(n);
            // Scheduled, never re-executed at once: a task that re-queues itself forever would keep the loop in its
            // task phase (Netty runs tasks for up to a second before polling I/O) and starve the sender's own reads.
            loop.schedule(this::pump, n == BATCH ? 1 : RETRY_MICROS, TimeUnit.MICROSECONDS);
        }
    }

    record Snapshot(
            long delivered,
            long bytes,
            long sent,
            long refused,
            double relayCpu,
            double selfCpu,
            RelayScrape.Counters relay) {
        static Snapshot take(
                LongAdder delivered, LongAdder bytes, List<Pump> pumps, long relayPid, RelayScrape scrape) {
            long sent = 0;
            long refused = 0;
            for (Pump p : pumps) {
                sent += p.sent.sum();
                refused += p.refused.sum();
            }
            return new Snapshot(
                    delivered.sum(),
                    bytes.sum(),
                    sent,
                    refused,
                    ProcStats.cpuSeconds(relayPid),
                    ProcStats.cpuSeconds(ProcStats.self()),
                    scrape.read());
        }
    }
}
