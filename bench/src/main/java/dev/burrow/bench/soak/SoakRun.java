package dev.burrow.bench.soak;

import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientConfig;
import dev.burrow.agent.relay.RelayClientMetrics;
import dev.burrow.agent.relay.RelayTrust;
import dev.burrow.agent.relay.SendResult;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.transport.Transport;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bounded soak (issue 8): one relay process, {@code agents} agent processes (half expose an echo
 * service, half forward to them, one pair each) and {@code datagramClients} relay clients in this
 * JVM exchanging keyed datagrams, all on loopback, for {@code minutes}. Mixed traffic: datagrams at a
 * fixed rate, short connections (1 KiB echoed, then closed) and bulk streams (8 MiB echoed, SHA-256
 * checked) in rotation over the pairs. Every {@code sample} seconds one CSV row: relay heap after a
 * full GC (jcmd), relay and agent fds, threads and RSS (/proc), the relay's clients, circuits and
 * drops (/metrics), and the traffic counters. At the end the first and last quarter of the samples
 * are compared and the verdict ("flat" or what grew) printed and written beside the CSV.
 *
 * <p>Usage: {@code SoakRun JAR OUT_DIR [minutes agents datagramClients sampleSeconds]}; see bench/soak.sh.
 */
public final class SoakRun {
    static final int SHORT_BYTES = 1024;
    static final long BULK_BYTES = 8L << 20;
    static final int DATAGRAM_BYTES = 512;

    final Path jar;
    final Path out;
    final Duration duration;
    final int agentCount;
    final int datagramClients;
    final int sampleSeconds;
    final int datagramsPerSecond;
    final int bulkStreams;
    final Path work;
    final List<Process> processes = new ArrayList<>();
    final List<Long> agentPids = new ArrayList<>();
    final List<Integer> forwardPorts = new ArrayList<>();
    final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Process relay;
    int relayPort;
    int adminPort;
    String fingerprint;
    ServerSocket echo;

    final AtomicLong shortOk = new AtomicLong();
    final AtomicLong shortErr = new AtomicLong();
    final AtomicLong bulkOk = new AtomicLong();
    final AtomicLong bulkErr = new AtomicLong();
    final AtomicLong corrupt = new AtomicLong();
    final AtomicLong dgramSent = new AtomicLong();
    final AtomicLong dgramNotSent = new AtomicLong();
    final AtomicLong dgramRecv = new AtomicLong();
    final AtomicBoolean running = new AtomicBoolean(true);

    SoakRun(String[] a) throws IOException {
        jar = Path.of(a[0]);
        out = Path.of(a[1]);
        duration = Duration.ofSeconds((long) (Double.parseDouble(arg(a, 2, "10")) * 60));
        agentCount = Math.max(2, Integer.parseInt(arg(a, 3, "20")) / 2 * 2);
        datagramClients = Math.max(2, Integer.parseInt(arg(a, 4, "20")) / 2 * 2);
        sampleSeconds = Integer.parseInt(arg(a, 5, "15"));
        datagramsPerSecond = Integer.parseInt(System.getProperty("soak.datagramsPerSecond", "200"));
        bulkStreams = Integer.parseInt(System.getProperty("soak.bulkStreams", "2"));
        Files.createDirectories(out);
        work = Files.createTempDirectory("burrow-soak-");
    }

    static String arg(String[] a, int i, String dflt) {
        return a.length > i && !a[i].isBlank() ? a[i] : dflt;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: SoakRun JAR OUT_DIR [minutes agents datagramClients sampleSeconds]");
            System.exit(2);
        }
        SoakRun run = new SoakRun(args);
        Runtime.getRuntime().addShutdownHook(new Thread(run::stopProcesses, "soak-cleanup"));
        boolean flat = run.run();
        System.exit(flat ? 0 : 1);
    }

    boolean run() throws Exception {
        echo = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("soak-echo").start(this::echoLoop);
        startRelay();
        startAgents();
        EventLoopGroup group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("soak-dgram", true));
        List<RelayClient> dgram = startDatagramClients(group);
        log(
                "traffic for %s: %d agents (%d pairs), %d datagram clients at %d/s total, %d bulk streams",
                duration, agentCount, agentCount / 2, datagramClients, datagramsPerSecond, bulkStreams);

        ExecutorService traffic = Executors.newVirtualThreadPerTaskExecutor();
        ScheduledExecutorService ticks = Executors.newScheduledThreadPool(2);
        // datagrams: every client sends to its partner, the total rate spread over the clients
        long periodMicros = Math.max(1, 1_000_000L * datagramClients / Math.max(1, datagramsPerSecond));
        for (int i = 0; i < datagramClients; i++) {
            RelayClient from = dgram.get(i);
            RelayClient to = dgram.get(i ^ 1);
            ticks.scheduleAtFixedRate(
                    () -> {
                        byte[] b = new byte[DATAGRAM_BYTES];
                        ByteBuffer.wrap(b).putLong(System.nanoTime());
                        if (from.send(to.nodeKey(), Unpooled.wrappedBuffer(b)) == SendResult.QUEUED) {
                            dgramSent.incrementAndGet();
                        } else {
                            dgramNotSent.incrementAndGet();
                        }
                    },
                    i * periodMicros / datagramClients,
                    periodMicros,
                    TimeUnit.MICROSECONDS);
        }
        // short connections: one per pair per second
        for (int p = 0; p < forwardPorts.size(); p++) {
            int port = forwardPorts.get(p);
            ticks.scheduleAtFixedRate(
                    () -> traffic.submit(() -> shortConnection(port)),
                    p * 1000L / forwardPorts.size(),
                    1000,
                    TimeUnit.MILLISECONDS);
        }
        // bulk streams: back to back, rotating over the pairs
        AtomicLong next = new AtomicLong();
        for (int b = 0; b < bulkStreams; b++) {
            traffic.submit(() -> {
                while (running.get()) {
                    bulk(forwardPorts.get((int) (next.getAndIncrement() % forwardPorts.size())), next.get());
                }
            });
        }

        List<long[]> rows = new ArrayList<>();
        Path csv = out.resolve("soak.csv");
        Instant start = Instant.now();
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(csv))) {
            w.println(String.join(",", COLUMNS));
            while (Duration.between(start, Instant.now()).compareTo(duration) < 0) {
                Thread.sleep(sampleSeconds * 1000L);
                long[] row = sample(Duration.between(start, Instant.now()).toSeconds());
                rows.add(row);
                w.println(Arrays.stream(row)
                        .mapToObj(Long::toString)
                        .reduce((x, y) -> x + "," + y)
                        .orElseThrow());
                w.flush();
                log(
                        "t=%ds relayHeap=%dMiB relayFds=%d relayThreads=%d agentFds=%d agentThreads=%d short=%d/%d bulk=%d/%d "
                                + "corrupt=%d dgram=%d/%d drops=%d",
                        row[0],
                        row[1] >> 20,
                        row[3],
                        row[4],
                        row[6],
                        row[7],
                        row[11],
                        row[12],
                        row[13],
                        row[14],
                        row[15],
                        row[17],
                        row[16],
                        row[19]);
            }
        }
        running.set(false);
        ticks.shutdownNow();
        traffic.shutdownNow();
        for (RelayClient c : dgram) {
            c.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        String verdict = SoakVerdict.verdict(rows, agentCount) + "; relay drops by reason: "
                + SoakProbes.byTag(scrape(), "burrow_relay_drops_total", "reason") + "; circuit events: "
                + SoakProbes.byTag(scrape(), "burrow_relay_circuits_events_total", "event");
        Files.writeString(out.resolve("verdict.txt"), verdict + "\n");
        log("verdict: %s (CSV: %s)", verdict, csv);
        stopProcesses();
        return verdict.startsWith("flat");
    }

    // ------------------------------------------------------------------ processes

    void startRelay() throws Exception {
        relayPort = SoakProbes.freePort();
        adminPort = SoakProbes.freePort();
        relay = start(
                "relay",
                List.of(
                        "relay",
                        "--dev",
                        "--listen",
                        "127.0.0.1:" + relayPort,
                        "--admin-listen",
                        "127.0.0.1:" + adminPort,
                        "--relay-id",
                        "soak-relay",
                        "--drain-grace",
                        "1s",
                        "--set",
                        "tls.dev-dir=" + work.resolve("relay-tls"),
                        "--set",
                        "limits.ip-connect-rate=100000",
                        "--set",
                        "limits.ip-connect-burst=100000"),
                "256m");
        Pattern fp = Pattern.compile("development certificate (\\S+)");
        Path log = work.resolve("relay.log");
        for (int i = 0; i < 600 && fingerprint == null; i++) {
            Thread.sleep(200);
            Matcher m = fp.matcher(Files.exists(log) ? Files.readString(log) : "");
            if (m.find()) {
                fingerprint = m.group(1);
            }
            if (!relay.isAlive()) {
                throw new IllegalStateException("relay exited: " + Files.readString(log));
            }
        }
        if (fingerprint == null) {
            throw new IllegalStateException("relay did not start");
        }
        log("relay pid %d on 127.0.0.1:%d, admin %d", relay.pid(), relayPort, adminPort);
    }

    void startAgents() throws Exception {
        String relayYaml = "relay:\n  url: https://127.0.0.1:" + relayPort + "\n  fingerprint: " + fingerprint + "\n";
        List<String> readyDirs = new ArrayList<>();
        for (int p = 0; p < agentCount / 2; p++) {
            NodeIdentity exp = NodeIdentity.loadOrCreate(work.resolve("exp-" + p), "exp-" + p, Clock.systemUTC());
            NodeIdentity dial = NodeIdentity.loadOrCreate(work.resolve("dial-" + p), "dial-" + p, Clock.systemUTC());
            Path ey = work.resolve("exp-" + p + ".yaml");
            Files.writeString(
                    ey,
                    relayYaml + "expose:\n  - {name: echo, target: 127.0.0.1:" + echo.getLocalPort() + ", allow: [node:"
                            + dial.nodeKey().nodeId() + "], max-connections: 64}\n");
            int port = SoakProbes.freePort();
            Path dy = work.resolve("dial-" + p + ".yaml");
            Files.writeString(
                    dy,
                    relayYaml + "peers:\n  exp: " + exp.nodeKey().nodeId() + "\n"
                            + "forward:\n  - {peer: exp, service: echo, listen: " + port + "}\n");
            forwardPorts.add(port);
            for (String[] who :
                    List.of(new String[] {"exp-" + p, ey.toString()}, new String[] {"dial-" + p, dy.toString()})) {
                Process proc = start(
                        who[0],
                        List.of(
                                "agent",
                                "--config",
                                who[1],
                                "--state",
                                work.resolve(who[0]).toString(),
                                "--transport",
                                "nio"),
                        "64m");
                agentPids.add(proc.pid());
                readyDirs.add(who[0]);
            }
        }
        Instant deadline = Instant.now().plus(Duration.ofMinutes(5));
        for (String dir : readyDirs) {
            while (!ready(work.resolve(dir))) {
                if (Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException(dir + " not ready after 5 minutes");
                }
                Thread.sleep(250);
            }
        }
        log("%d agents ready", readyDirs.size());
    }

    static boolean ready(Path stateDir) {
        try {
            return ControlApiClient.forStateDir(stateDir).ready().status() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    Process start(String name, List<String> args, String heap) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap,
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED",
                "-jar",
                jar.toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve(name + ".log").toFile());
        pb.environment().put("BURROW_DIRECT", "off"); // the relay is what this soak is about
        pb.environment().remove("BURROW_STATE");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    void stopProcesses() {
        running.set(false);
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
        processes.clear();
        try {
            for (String n : List.of("relay.log")) {
                Path l = work.resolve(n);
                if (Files.exists(l)) {
                    Files.copy(l, out.resolve(n), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            try (var files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        } catch (IOException ignored) {
            // best effort
        }
    }

    List<RelayClient> startDatagramClients(EventLoopGroup group) throws Exception {
        List<RelayClient> clients = new ArrayList<>();
        List<CompletableFuture<?>> up = new ArrayList<>();
        for (int i = 0; i < datagramClients; i++) {
            RelayClientConfig cfg = RelayClientConfig.builder(
                            URI.create("https://127.0.0.1:" + relayPort),
                            RelayTrust.pinned(fingerprint),
                            NodeIdentity.ephemeral("dgram-" + i))
                    .transport(Transport.nio())
                    .software("burrow-soak")
                    .build();
            RelayClient c = new RelayClient(cfg, RelayClientMetrics.NOOP, group);
            c.setDatagramHandler((src, buf) -> dgramRecv.incrementAndGet());
            c.start();
            clients.add(c);
            up.add(c.whenConnected());
        }
        CompletableFuture.allOf(up.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        return clients;
    }

    // ------------------------------------------------------------------ traffic

    void echoLoop() {
        while (!echo.isClosed()) {
            try {
                Socket s = echo.accept();
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        byte[] buf = new byte[32 * 1024];
                        InputStream in = s.getInputStream();
                        OutputStream o = s.getOutputStream();
                        int n;
                        while ((n = in.read(buf)) >= 0) {
                            o.write(buf, 0, n);
                        }
                        s.shutdownOutput();
                    } catch (IOException ignored) {
                        // counted on the client side
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    void shortConnection(int port) {
        byte[] msg = new byte[SHORT_BYTES];
        new Random(port ^ System.nanoTime()).nextBytes(msg);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(msg);
            s.shutdownOutput();
            byte[] back = s.getInputStream().readAllBytes();
            if (Arrays.equals(back, msg)) {
                shortOk.incrementAndGet();
            } else if (back.length == msg.length) {
                corrupt.incrementAndGet();
            } else {
                shortErr.incrementAndGet();
            }
        } catch (IOException e) {
            shortErr.incrementAndGet();
        }
    }

    void bulk(int port, long seed) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            MessageDigest sent = MessageDigest.getInstance("SHA-256");
            MessageDigest got = MessageDigest.getInstance("SHA-256");
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    byte[] chunk = new byte[32 * 1024];
                    Random r = new Random(seed);
                    OutputStream o = s.getOutputStream();
                    for (long done = 0; done < BULK_BYTES; done += chunk.length) {
                        r.nextBytes(chunk);
                        sent.update(chunk);
                        o.write(chunk);
                    }
                    s.shutdownOutput();
                } catch (IOException ignored) {
                    // the reader sees it
                }
            });
            InputStream in = s.getInputStream();
            byte[] buf = new byte[32 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                got.update(buf, 0, n);
                total += n;
            }
            writer.join(60_000);
            if (total != BULK_BYTES) {
                bulkErr.incrementAndGet();
            } else if (MessageDigest.isEqual(sent.digest(), got.digest())) {
                bulkOk.incrementAndGet();
            } else {
                corrupt.incrementAndGet();
            }
        } catch (Exception e) {
            bulkErr.incrementAndGet();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------------ sampling

    static final String[] COLUMNS = {
        "seconds",
        "relay_heap_after_gc_bytes",
        "relay_rss_bytes",
        "relay_fds",
        "relay_threads",
        "agents_rss_bytes",
        "agents_fds",
        "agents_threads",
        "relay_clients",
        "relay_circuits_active",
        "relay_circuits_pending",
        "short_ok",
        "short_errors",
        "bulk_ok",
        "bulk_errors",
        "corrupt",
        "datagrams_sent",
        "datagrams_received",
        "datagrams_not_sent",
        "relay_drops",
        "relay_protocol_violations"
    };

    long[] sample(long seconds) {
        long relayPid = relay.pid();
        String metrics = scrape();
        long agentsRss = 0;
        long agentsFds = 0;
        long agentsThreads = 0;
        for (long pid : agentPids) {
            agentsRss += Math.max(0, SoakProbes.rss(pid));
            agentsFds += Math.max(0, SoakProbes.count(pid, "fd"));
            agentsThreads += Math.max(0, SoakProbes.count(pid, "task"));
        }
        return new long[] {
            seconds,
            SoakProbes.heapAfterGc(relayPid),
            SoakProbes.rss(relayPid),
            SoakProbes.count(relayPid, "fd"),
            SoakProbes.count(relayPid, "task"),
            agentsRss,
            agentsFds,
            agentsThreads,
            (long) SoakProbes.metric(metrics, "burrow_relay_clients"),
            (long) SoakProbes.metric(metrics, "burrow_relay_circuits_active"),
            (long) SoakProbes.metric(metrics, "burrow_relay_circuits_pending"),
            shortOk.get(),
            shortErr.get(),
            bulkOk.get(),
            bulkErr.get(),
            corrupt.get(),
            dgramSent.get(),
            dgramRecv.get(),
            dgramNotSent.get(),
            (long) SoakProbes.metric(metrics, "burrow_relay_drops_total"),
            (long) SoakProbes.metric(metrics, "burrow_relay_protocol_violations_total")
        };
    }

    String scrape() {
        try {
            return http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics"))
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
        } catch (Exception e) {
            return "";
        }
    }

    static void log(String fmt, Object... args) {
        System.out.printf(
                Locale.ROOT,
                "soak %s " + fmt + "%n",
                concat(Instant.now().toString().substring(11, 19), args));
    }

    private static Object[] concat(Object first, Object[] rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
