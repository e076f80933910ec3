package dev.burrow.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.e2e.BurrowProcess;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.netlab.NetLabSupport;
import dev.burrow.testing.FreePorts;
import dev.burrow.transport.TransportKind;
import dev.burrow.transport.TransportSelector;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A reset or FIN from one end of a forwarded stream reaches the other end as the same signal while
 * the stream is backed up (the receiving application reads slowly), on one relay transport
 * (subclasses: io_uring, epoll, NIO). Real processes: a relay and two
 * agents started through the CLI, a scripted target behind alice's expose, the test's socket on
 * bob's forward.
 *
 * <p>Each case asserts that the other end sees the reset (or the EOF) within {@link #LIVENESS} of
 * it being sent (a liveness bound, not a performance figure: before the fix the client waited
 * forever on io_uring), and that every byte it got is the sent stream's prefix, none beyond the
 * point where the stream ended.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ResetPropagationFaultCases {
    static final Duration STARTUP = Duration.ofSeconds(240);
    /** How long the far end may take to learn that the stream ended. */
    static final long LIVENESS_SECONDS = 30;

    static final Duration LIVENESS = Duration.ofSeconds(LIVENESS_SECONDS);
    /** Bytes the ending side sends before it ends: far more than every buffer on the way holds when the reader is slow. */
    static final long END_AT = 8L << 20;
    /** The slow reader: this many bytes, then a pause. */
    static final int SLOW_CHUNK = 8 * 1024;

    static final long SLOW_PAUSE_MILLIS = 2;

    /** The relay's transport; the agents get the same request (they run NIO whatever is asked). */
    abstract TransportKind transport();

    Path tmp;
    ScriptedTarget target;
    int relayPort;
    int forwardPort;
    String fingerprint;
    final List<BurrowProcess> all = new ArrayList<>();
    String aliceId;

    @BeforeAll
    void startEverything() throws Exception {
        TransportKind kind = transport();
        var selected = new TransportSelector().select(kind);
        NetLabSupport.requireFeature(
                selected.kind() == kind, kind.configName() + " is not available here: " + selected.reason(), true);
        tmp = Files.createTempDirectory("burrow-reset-");
        target = new ScriptedTarget();
        relayPort = freePort();
        forwardPort = freePort();
        String name = getClass().getSimpleName();
        BurrowProcess relay = BurrowProcess.start(
                name + "-relay",
                Map.of(),
                "relay",
                "--dev",
                "--listen",
                "127.0.0.1:" + relayPort,
                "--admin-listen",
                "127.0.0.1:" + freePort(),
                "--relay-id",
                "reset-relay",
                "--transport",
                kind.configName(),
                "--set",
                "tls.dev-dir=" + tmp.resolve("relay-tls"),
                "--set",
                "limits.ip-connect-rate=100000",
                "--set",
                "limits.ip-connect-burst=100000");
        all.add(relay);
        Pattern fp = Pattern.compile("development certificate (\\S+)");
        await("relay up").atMost(STARTUP).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(relay.isAlive()).as("relay alive: %s", relay.log).isTrue();
            Matcher m = fp.matcher(relay.logText());
            if (m.find()) {
                fingerprint = m.group(1);
                return true;
            }
            return false;
        });
        assertThat(relay.logText()).contains("transport: using " + kind.configName());
        NodeIdentity alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"), "alice", Clock.systemUTC());
        NodeIdentity bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
        aliceId = alice.nodeKey().nodeId();
        String relayYaml = "relay:\n  url: https://127.0.0.1:" + relayPort + "\n  fingerprint: " + fingerprint + "\n";
        Path aliceYaml = tmp.resolve("alice.yaml");
        Files.writeString(
                aliceYaml,
                relayYaml + "expose:\n  - {name: t, target: 127.0.0.1:" + target.port() + ", allow: [node:"
                        + bob.nodeKey().nodeId() + "]}\n");
        Path bobYaml = tmp.resolve("bob.yaml");
        Files.writeString(
                bobYaml,
                relayYaml + "peers:\n  alice: " + aliceId + "\n" + "forward:\n  - {peer: alice, service: t, listen: "
                        + forwardPort + "}\n");
        // The relayed path only: on plain loopback no agent announces an endpoint the other can
        // reach, so the direct (QUIC) variant of these cases runs in the NAT lab (DirectResetNatTest).
        Map<String, String> env = Map.of("BURROW_DIRECT", "off");
        for (String who : List.of("alice", "bob")) {
            all.add(BurrowProcess.start(
                    name + "-" + who,
                    env,
                    "agent",
                    "--config",
                    tmp.resolve(who + ".yaml").toString(),
                    "--state",
                    tmp.resolve(who).toString(),
                    "--transport",
                    kind.configName()));
        }
        for (String who : List.of("alice", "bob")) {
            await(who + " ready")
                    .atMost(STARTUP)
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        for (BurrowProcess p : all) {
                            assertThat(p.isAlive())
                                    .as("%s alive: %s", p.name, p.log)
                                    .isTrue();
                        }
                        return ready(who);
                    });
        }
        await("a stream through the forward works")
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(500))
                .until(this::smallStreamWorks);
    }

    @AfterAll
    void stopEverything() throws Exception {
        for (BurrowProcess p : all) {
            p.close();
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

    // ------------------------------------------------------------------ the cases

    @Test
    void targetResetReachesASlowClient() throws Exception {
        StreamBytes down = new StreamBytes(1);
        CompletableFuture<Long> resetAt = new CompletableFuture<>();
        target.onConnection(s -> resetAt.complete(StreamProbe.writeThenEnd(s, down, END_AT, true)));
        try (Socket client = connect()) {
            StreamProbe.Reading r = StreamProbe.startReading(client, down, SLOW_CHUNK, SLOW_PAUSE_MILLIS);
            assertEndReached(r, resetAt, StreamProbe.End.RESET, "target reset, client reading slowly");
        }
    }

    @Test
    void clientResetReachesASlowTarget() throws Exception {
        StreamBytes up = new StreamBytes(2);
        CompletableFuture<StreamProbe.Reading> atTarget = new CompletableFuture<>();
        target.onConnection(s -> atTarget.complete(StreamProbe.startReading(s, up, SLOW_CHUNK, SLOW_PAUSE_MILLIS)));
        Socket client = connect();
        long resetAt = StreamProbe.writeThenEnd(client, up, END_AT, true);
        assertEndReached(
                atTarget.get(LIVENESS_SECONDS, TimeUnit.SECONDS),
                CompletableFuture.completedFuture(resetAt),
                StreamProbe.End.RESET,
                "client reset, target reading slowly");
    }

    @Test
    void targetResetReachesASlowClientWhileTheClientUploads() throws Exception {
        StreamBytes down = new StreamBytes(3);
        StreamBytes up = new StreamBytes(4);
        CompletableFuture<Long> resetAt = new CompletableFuture<>();
        // the target reads the upload between its own writes (writeThenEnd), then resets
        target.onConnection(s -> resetAt.complete(StreamProbe.writeThenEnd(s, down, END_AT, true)));
        try (Socket client = connect()) {
            StreamProbe.Writing upload = StreamProbe.startWritingUntilError(client, up);
            StreamProbe.Reading r = StreamProbe.startReading(client, down, SLOW_CHUNK, SLOW_PAUSE_MILLIS);
            assertEndReached(
                    r, upload, resetAt, StreamProbe.End.RESET, "target reset during an upload, client reading slowly");
        }
    }

    @Test
    void clientResetReachesASlowTargetWhileTheTargetDownloads() throws Exception {
        StreamBytes up = new StreamBytes(5);
        StreamBytes down = new StreamBytes(6);
        CompletableFuture<StreamProbe.Reading> atTarget = new CompletableFuture<>();
        CompletableFuture<StreamProbe.Writing> download = new CompletableFuture<>();
        target.onConnection(s -> {
            download.complete(StreamProbe.startWritingUntilError(s, down));
            atTarget.complete(StreamProbe.startReading(s, up, SLOW_CHUNK, SLOW_PAUSE_MILLIS));
        });
        Socket client = connect();
        // the client reads the download between its own writes (writeThenEnd), then resets
        long resetAt = StreamProbe.writeThenEnd(client, up, END_AT, true);
        assertEndReached(
                atTarget.get(LIVENESS_SECONDS, TimeUnit.SECONDS),
                download.get(LIVENESS_SECONDS, TimeUnit.SECONDS),
                CompletableFuture.completedFuture(resetAt),
                StreamProbe.End.RESET,
                "client reset during a download, target reading slowly");
    }

    @Test
    void targetFinReachesASlowClientWithEveryByte() throws Exception {
        StreamBytes down = new StreamBytes(7);
        CompletableFuture<Long> finAt = new CompletableFuture<>();
        target.onConnection(s -> {
            finAt.complete(StreamProbe.writeThenEnd(s, down, END_AT, false));
            s.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            s.close();
        });
        try (Socket client = connect()) {
            StreamProbe.Reading r = StreamProbe.startReading(client, down, SLOW_CHUNK, SLOW_PAUSE_MILLIS);
            assertEndReached(r, finAt, StreamProbe.End.EOF, "target FIN, client reading slowly");
            assertThat(r.received).as("every byte before the FIN arrives").isEqualTo(END_AT);
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * The reader ends with {@code expected} within {@link #LIVENESS} of the end being sent, having
     * read a correct prefix of the stream and nothing past the end point.
     */
    void assertEndReached(
            StreamProbe.Reading r, CompletableFuture<Long> endSentAt, StreamProbe.End expected, String what)
            throws Exception {
        assertEndReached(r, null, endSentAt, expected, what);
    }

    /**
     * As above for a socket that a writer thread uses too: the reset may be reported to the writer
     * instead (see {@link StreamProbe#startWritingUntilError}), and then the reader sees EOF.
     */
    void assertEndReached(
            StreamProbe.Reading r,
            StreamProbe.Writing sameSocketWriterOrNull,
            CompletableFuture<Long> endSentAt,
            StreamProbe.End expected,
            String what)
            throws Exception {
        // The end is sent only once the slow reader let END_AT bytes through: allow for that first.
        endSentAt.get(STARTUP.toSeconds(), TimeUnit.SECONDS);
        await(what + ": the other end sees it")
                .atMost(LIVENESS)
                .pollInterval(Duration.ofMillis(100))
                .until(r::ended);
        System.out.printf(
                "%s (%s): %s, %d ms after the end was sent%n",
                what, getClass().getSimpleName(), r, TimeUnit.NANOSECONDS.toMillis(r.endedAt - endSentAt.get()));
        StreamProbe.End seen = r.end;
        if (seen == StreamProbe.End.EOF && sameSocketWriterOrNull != null) {
            await(what + ": the writer on the same socket stops")
                    .atMost(LIVENESS)
                    .until(() -> sameSocketWriterOrNull.error != null);
            if (sameSocketWriterOrNull.sawReset()) {
                seen = StreamProbe.End.RESET;
            }
        }
        assertThat(seen)
                .as(
                        "%s: %s; writer on the same socket: %s",
                        what, r, sameSocketWriterOrNull == null ? "none" : sameSocketWriterOrNull.error)
                .isEqualTo(expected);
        assertThat(r.mismatchAt)
                .as("%s: every byte received is the stream's: %s", what, r)
                .isEqualTo(-1);
        assertThat(r.received)
                .as("%s: nothing after the end point: %s", what, r)
                .isLessThanOrEqualTo(END_AT);
    }

    Socket connect() throws IOException {
        Socket s = new Socket("127.0.0.1", forwardPort);
        s.setSoTimeout((int) STARTUP.toMillis());
        return s;
    }

    boolean smallStreamWorks() {
        StreamBytes b = new StreamBytes(99);
        target.onConnection(s -> StreamProbe.writeThenEnd(s, b, 4096, false));
        try (Socket s = connect()) {
            StreamProbe.Reading r = StreamProbe.startReading(s, b, 4096, 0);
            return r.await(10) && r.end == StreamProbe.End.EOF && r.received == 4096 && r.mismatchAt < 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    boolean ready(String who) {
        try {
            return ControlApiClient.forStateDir(tmp.resolve(who)).ready().status() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }
}
