package dev.burrow.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.e2e.BurrowProcess;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.netlab.NetLabSupport;
import dev.burrow.testing.FreePorts;
import dev.burrow.transport.TransportKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * kill -9 of the dialing agent, of the exposing agent and of the relay in the middle of transfers,
 * every one a separate JVM started through the CLI ({@link BurrowProcess}), on loopback, relay path
 * only ({@code BURROW_DIRECT=off}), on NIO here and on io_uring and epoll in the subclasses (a
 * transport matrix: the relay's transport decides how a reset under backpressure is seen).
 *
 * <p>For each fault: every transfer (bytes echoed back through the tunnel, SHA-256 on both
 * directions) either completes with exactly the right bytes or fails with a clear error (reset, or
 * EOF before the announced length) — never a hang, never silent corruption; the killed process is
 * started again and the agents reconnect by themselves; a new transfer works; the surviving
 * processes return to their file descriptor and thread counts (bounded slack); and no process logged
 * a Netty leak report (children run with paranoid leak detection, and get a GC before the check).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KillNineFaultTest {
    /**
     * The transport every process is asked for ({@code --transport}); subclasses run the same faults
     * on the native transports ({@link KillNineIoUringFaultTest}, {@link KillNineEpollFaultTest}).
     * The agents run NIO whatever is asked (see {@code Agent.agentTransport}), so this is the relay's.
     */
    TransportKind transport() {
        return TransportKind.NIO;
    }

    /** Unique per subclass, so that the transports' process logs do not overwrite each other. */
    String logPrefix() {
        return "fault-" + transport().configName() + "-";
    }

    static final Duration STARTUP = Duration.ofSeconds(240);
    /** Large enough that no bulk transfer finishes before the kill. */
    static final long BULK_BYTES = 1L << 30;

    static final int BULK_TRANSFERS = 3;
    static final long SMALL_BYTES = 256 * 1024;
    /** Bytes that must have gone round before the kill, so the kill lands mid-transfer. */
    static final long KILL_AFTER_BYTES = 2L << 20;
    /**
     * Slack for the leak check: a JVM may start a compiler or GC thread, and pooled connections to
     * the relay come and go; a leak per transfer would exceed this after a few dozen transfers.
     */
    static final long FD_SLACK = 24;

    static final long THREAD_SLACK = 12;
    /** Paranoid leak detection in the children too (through the environment, so every child JVM gets it). */
    static final Map<String, String> LEAK_DETECTION = Map.of(
            "JAVA_TOOL_OPTIONS", "-Dio.netty.leakDetection.level=paranoid -Dio.netty.leakDetection.targetRecords=4");

    Path tmp;
    EchoTarget target;
    int relayPort;
    int adminPort;
    int forwardPort;
    String fingerprint;
    NodeIdentity alice;
    NodeIdentity bob;
    Path aliceYaml;
    Path bobYaml;
    BurrowProcess relay;
    BurrowProcess aliceAgent;
    BurrowProcess bobAgent;
    final List<BurrowProcess> all = new ArrayList<>();
    int generation;
    final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fault-client");
        t.setDaemon(true);
        return t;
    });

    @BeforeAll
    void startEverything() throws Exception {
        var selected = new dev.burrow.transport.TransportSelector().select(transport());
        NetLabSupport.requireFeature(
                selected.kind() == transport(),
                transport().configName() + " is not available here: " + selected.reason(),
                true);
        tmp = Files.createTempDirectory("burrow-fault-");
        target = new EchoTarget();
        relayPort = freePort();
        adminPort = freePort();
        forwardPort = freePort();
        relay = startRelay();
        alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"), "alice", Clock.systemUTC());
        bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
        String relayYaml = "relay:\n  url: https://127.0.0.1:" + relayPort + "\n  fingerprint: " + fingerprint + "\n";
        aliceYaml = tmp.resolve("alice.yaml");
        Files.writeString(
                aliceYaml,
                relayYaml + "expose:\n  - {name: echo, target: 127.0.0.1:" + target.port() + ", allow: [node:"
                        + bob.nodeKey().nodeId() + "]}\n");
        bobYaml = tmp.resolve("bob.yaml");
        Files.writeString(
                bobYaml,
                relayYaml + "peers:\n  alice: " + alice.nodeKey().nodeId() + "\n"
                        + "forward:\n  - {peer: alice, service: echo, listen: " + forwardPort + "}\n");
        aliceAgent = startAgent("alice", aliceYaml);
        bobAgent = startAgent("bob", bobYaml);
        awaitReady("alice");
        awaitReady("bob");
        awaitTransferWorks();
    }

    @AfterAll
    void stopEverything() throws Exception {
        pool.shutdownNow();
        for (BurrowProcess p : all) {
            if (p.isAlive()) {
                p.kill9();
            }
        }
        if (target != null) {
            target.close();
        }
        if (tmp != null) {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    @AfterEach
    void noLeakReports() {
        for (BurrowProcess p : all) {
            assertThat(p.leakReports())
                    .as("Netty leak reports in %s (%s)", p.name, p.log)
                    .isEmpty();
        }
    }

    // ------------------------------------------------------------------ the faults

    @Test
    @Order(1)
    void killingTheDialingAgentMidTransferFailsCleanlyAndLeaksNothingElsewhere() throws Exception {
        Baseline before = baseline(relay, aliceAgent);
        faultDuringTransfers(bobAgent);
        bobAgent = startAgent("bob", bobYaml);
        awaitReady("bob");
        settleAndCheck(before);
    }

    @Test
    @Order(2)
    void killingTheExposingAgentMidTransferFailsCleanlyAndItComesBack() throws Exception {
        Baseline before = baseline(relay, bobAgent);
        faultDuringTransfers(aliceAgent);
        aliceAgent = startAgent("alice", aliceYaml);
        awaitReady("alice");
        settleAndCheck(before);
    }

    @Test
    @Order(3)
    void killingTheRelayMidTransferFailsCleanlyAndAgentsReconnectByThemselves() throws Exception {
        Baseline before = baseline(aliceAgent, bobAgent);
        faultDuringTransfers(relay);
        await("bob notices the relay is gone").atMost(Duration.ofSeconds(60)).until(() -> !ready("bob"));
        relay = startRelay(); // same port and development certificate: the agents' configuration is unchanged
        awaitReady("alice");
        awaitReady("bob");
        settleAndCheck(before);
    }

    /**
     * Starts bulk transfers and a loop of small ones, kills {@code victim} once bytes are flowing,
     * and checks every outcome: complete and intact, or a clear failure.
     */
    void faultDuringTransfers(BurrowProcess victim) throws Exception {
        List<Transfer> bulk = new ArrayList<>();
        List<Future<Transfer.Outcome>> bulkResults = new ArrayList<>();
        for (int i = 0; i < BULK_TRANSFERS; i++) {
            Transfer t = new Transfer(forwardPort, BULK_BYTES, 1000L * generation + i);
            bulk.add(t);
            bulkResults.add(pool.submit(t::run));
        }
        AtomicBoolean stopSmall = new AtomicBoolean();
        ConcurrentLinkedQueue<Transfer.Outcome> small = new ConcurrentLinkedQueue<>();
        List<Future<?>> smallLoops = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int loop = i;
            smallLoops.add(pool.submit(() -> {
                for (int n = 0; !stopSmall.get() && n < 10_000; n++) {
                    small.add(new Transfer(forwardPort, SMALL_BYTES, 7_000_000L * (loop + 1) + n).run());
                }
            }));
        }
        await("bytes flow before the kill")
                .atMost(Duration.ofSeconds(120))
                .until(() -> bulk.stream().mapToLong(Transfer::received).sum() >= KILL_AFTER_BYTES);
        victim.kill9();
        List<Transfer.Outcome> outcomes = new ArrayList<>();
        for (Future<Transfer.Outcome> f : bulkResults) {
            outcomes.add(f.get(Transfer.TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS));
        }
        stopSmall.set(true);
        for (Future<?> f : smallLoops) {
            f.get(Transfer.TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS);
        }
        outcomes.addAll(small);
        if (outcomes.stream().anyMatch(o -> o.kind() == Transfer.Kind.HUNG)) {
            System.out.println("a transfer hung after killing " + victim.name + "; agents now: alice "
                    + statusJson("alice") + "\nbob " + statusJson("bob"));
        }
        for (Transfer.Outcome o : outcomes) {
            assertThat(o.kind())
                    .as("transfer outcome %s after killing %s", o, victim.name)
                    .isIn(Transfer.Kind.COMPLETE, Transfer.Kind.FAILED_CLEANLY);
        }
        System.out.printf(
                "kill -9 %s: %d transfers, %d complete, %d failed cleanly; bulk: %s%n",
                victim.name,
                outcomes.size(),
                outcomes.stream()
                        .filter(o -> o.kind() == Transfer.Kind.COMPLETE)
                        .count(),
                outcomes.stream()
                        .filter(o -> o.kind() == Transfer.Kind.FAILED_CLEANLY)
                        .count(),
                outcomes.subList(0, BULK_TRANSFERS));
        // the bulk transfers cannot have finished: they saw the kill, and reported it
        assertThat(outcomes.subList(0, BULK_TRANSFERS))
                .allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.FAILED_CLEANLY));
        generation++;
    }

    // ------------------------------------------------------------------ processes

    BurrowProcess startRelay() throws Exception {
        BurrowProcess p = BurrowProcess.start(
                logPrefix() + "relay-" + generation,
                LEAK_DETECTION,
                "relay",
                "--dev",
                "--listen",
                "127.0.0.1:" + relayPort,
                "--admin-listen",
                "127.0.0.1:" + adminPort,
                "--relay-id",
                "fault-relay",
                "--transport",
                transport().configName(),
                "--drain-grace",
                "1s",
                "--set",
                "tls.dev-dir=" + tmp.resolve("relay-tls"),
                // every circuit is a new TCP connection from 127.0.0.1: lift the per-IP connect rate
                "--set",
                "limits.ip-connect-rate=100000",
                "--set",
                "limits.ip-connect-burst=100000");
        all.add(p);
        Pattern fp = Pattern.compile("development certificate (\\S+)");
        String[] found = new String[1];
        await("relay up").atMost(STARTUP).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!p.isAlive()) {
                throw new AssertionError("relay exited: " + p.logText());
            }
            Matcher m = fp.matcher(p.logText());
            if (m.find()) {
                found[0] = m.group(1);
                return true;
            }
            return false;
        });
        if (fingerprint != null) {
            assertThat(found[0])
                    .as("restarted relay keeps its development certificate")
                    .isEqualTo(fingerprint);
        }
        fingerprint = found[0];
        return p;
    }

    BurrowProcess startAgent(String who, Path yaml) throws IOException {
        BurrowProcess p = BurrowProcess.start(
                logPrefix() + who + "-" + generation,
                withLeakDetection(Map.of("BURROW_DIRECT", "off")),
                "agent",
                "--config",
                yaml.toString(),
                "--state",
                tmp.resolve(who).toString(),
                "--transport",
                transport().configName());
        all.add(p);
        return p;
    }

    String statusJson(String who) {
        try {
            return String.valueOf(ControlApiClient.forStateDir(tmp.resolve(who))
                    .get("/v1/status")
                    .body());
        } catch (IOException | RuntimeException e) {
            return "(no status: " + e + ")";
        }
    }

    static Map<String, String> withLeakDetection(Map<String, String> env) {
        Map<String, String> all = new java.util.HashMap<>(env);
        all.putAll(LEAK_DETECTION);
        return all;
    }

    boolean ready(String who) {
        try {
            return ControlApiClient.forStateDir(tmp.resolve(who)).ready().status() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    void awaitReady(String who) {
        await(who + " ready")
                .atMost(STARTUP)
                .pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    for (BurrowProcess p : List.of(relay, aliceAgent, bobAgent)) {
                        if (p != null && !p.isAlive()) {
                            throw new AssertionError(p.name + " exited: " + p.logText());
                        }
                    }
                    return ready(who);
                });
    }

    /** A fresh transfer through the tunnel completes intact (retrying while paths come back). */
    void awaitTransferWorks() {
        await("a new transfer works")
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> new Transfer(forwardPort, 4L << 20, System.nanoTime())
                                .run()
                                .kind()
                        == Transfer.Kind.COMPLETE);
    }

    /** GC in every child (so leaked buffers get reported), a transfer (wakes the leak detector), then the counts. */
    void settleAndCheck(Baseline before) {
        for (BurrowProcess p : List.of(relay, aliceAgent, bobAgent)) {
            gc(p);
        }
        awaitTransferWorks();
        before.assertSettled();
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }

    // ------------------------------------------------------------------ leak check

    /** File descriptor and thread counts of the processes that survive a fault, taken while idle. */
    Baseline baseline(BurrowProcess... survivors) throws Exception {
        // a few transfers first, so that lazily started threads and pooled resources exist already
        for (int i = 0; i < 3; i++) {
            assertThat(new Transfer(forwardPort, 1L << 20, 99 + i).run().kind()).isEqualTo(Transfer.Kind.COMPLETE);
        }
        Thread.sleep(500); // closes travel through the relay asynchronously; the check below has slack anyway
        List<long[]> counts = new ArrayList<>();
        for (BurrowProcess p : survivors) {
            counts.add(new long[] {p.openFileDescriptors(), p.threads()});
        }
        return new Baseline(List.of(survivors), counts);
    }

    record Baseline(List<BurrowProcess> processes, List<long[]> counts) {
        void assertSettled() {
            for (int i = 0; i < processes.size(); i++) {
                BurrowProcess p = processes.get(i);
                long fds = counts.get(i)[0];
                long threads = counts.get(i)[1];
                if (fds < 0) {
                    continue; // no /proc: nothing to compare
                }
                System.out.printf(
                        "%s before: %d fds, %d threads; after the fault: %d fds, %d threads%n",
                        p.name, fds, threads, p.openFileDescriptors(), p.threads());
                await(p.name + " returns to its fd and thread counts")
                        .atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500))
                        .untilAsserted(() -> {
                            assertThat(p.openFileDescriptors())
                                    .as("%s fds (before: %d)", p.name, fds)
                                    .isLessThanOrEqualTo(fds + FD_SLACK);
                            assertThat(p.threads())
                                    .as("%s threads (before: %d)", p.name, threads)
                                    .isLessThanOrEqualTo(threads + THREAD_SLACK);
                        });
            }
        }
    }

    /** A full GC in the child, so that leaked buffers become unreachable and the leak detector can report them. */
    static void gc(BurrowProcess p) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd)) {
            return;
        }
        try {
            Process gc = new ProcessBuilder(jcmd.toString(), String.valueOf(p.pid()), "GC.run")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!gc.waitFor(30, TimeUnit.SECONDS)) {
                gc.destroyForcibly();
            }
        } catch (IOException e) {
            // best effort: without the GC, leaks are still reported on a later collection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
