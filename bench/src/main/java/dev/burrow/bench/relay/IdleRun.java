package dev.burrow.bench.relay;

import dev.burrow.agent.relay.RelayClient;
import dev.burrow.transport.Transport;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Idle clients per GiB of relay heap: connects authenticated clients that then only keep their
 * connection alive (the client's default ping interval), in steps, and after each step measures
 * the relay JVM's heap in use after a full GC ({@code jcmd GC.run}, then {@code GC.heap_info}) and
 * its resident set size. Bytes per client = (used at step - used with none) / clients.
 */
final class IdleRun {
    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    static void run(Args a) throws Exception {
        URI relay = URI.create(a.required("relay"));
        String fp = a.required("fingerprint");
        long relayPid = a.longValue("relay-pid", -1);
        String jcmd = a.string("jcmd", "jcmd");
        String[] steps = a.string("steps", "2000,5000,10000").split(",");
        int batch = a.integer("batch", 250);
        int threads = a.integer("threads", 2);
        RelayScrape scrape = new RelayScrape(a.string("admin", null));
        Transport t = BenchClients.transport(a.string("transport", "epoll"));
        a.done();

        EventLoopGroup group = BenchClients.group(t, threads);
        List<RelayClient> clients = new ArrayList<>();
        Thread.sleep(2000);
        long heap0 = heapUsedAfterGc(jcmd, relayPid);
        long rss0 = ProcStats.rssBytes(relayPid);
        System.out.printf(
                Locale.ROOT,
                "RESULT label=idle clients=0 relay_clients=%.0f heap_used_mib=%.1f rss_mib=%.1f%n",
                scrape.sum("burrow_relay_clients"),
                heap0 / 1048576.0,
                rss0 / 1048576.0);
        for (String step : steps) {
            int target = Integer.parseInt(step.strip());
            long start = System.nanoTime();
            int before = clients.size();
            while (clients.size() < target) {
                int n = Math.min(batch, target - clients.size());
                List<RelayClient> wave = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    wave.add(BenchClients.client(relay, fp, "idle-" + (clients.size() + i), t, group));
                }
                clients.addAll(wave);
                BenchClients.connectAll(wave, 120);
            }
            double connectSecs = (System.nanoTime() - start) / 1e9;
            Thread.sleep(3000);
            double relayClients = scrape.sum("burrow_relay_clients");
            long heap = heapUsedAfterGc(jcmd, relayPid);
            long rss = ProcStats.rssBytes(relayPid);
            double perClient = (heap - heap0) / (double) target;
            System.out.printf(
                    Locale.ROOT,
                    "RESULT label=idle clients=%d relay_clients=%.0f heap_used_mib=%.1f rss_mib=%.1f "
                            + "heap_bytes_per_client=%.0f clients_per_gib_heap=%.0f rss_bytes_per_client=%.0f connect_per_s=%.0f%n",
                    target,
                    relayClients,
                    heap / 1048576.0,
                    rss / 1048576.0,
                    perClient,
                    (1L << 30) / perClient,
                    (rss - rss0) / (double) target,
                    (target - before) / connectSecs);
            System.out.flush();
        }
        BenchClients.closeAll(clients);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    /** The relay's heap in use right after a full GC, in bytes (the smaller of two tries, to skip allocation noise). */
    static long heapUsedAfterGc(String jcmd, long pid) throws IOException, InterruptedException {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 2; i++) {
            exec(jcmd, String.valueOf(pid), "GC.run");
            String info = exec(jcmd, String.valueOf(pid), "GC.heap_info");
            // G1: one "garbage-first heap ... used NK" line; Serial/Parallel: one per generation. Metaspace is not
            // heap.
            long used = 0;
            boolean found = false;
            for (String line : info.split("\n")) {
                Matcher m = USED.matcher(line);
                if (!line.contains("Metaspace") && !line.contains("class space") && m.find()) {
                    used += Long.parseLong(m.group(1)) * 1024;
                    found = true;
                }
            }
            if (!found) {
                throw new IllegalStateException("cannot read heap use from jcmd GC.heap_info: " + info);
            }
            best = Math.min(best, used);
        }
        return best;
    }

    private static String exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }
}
