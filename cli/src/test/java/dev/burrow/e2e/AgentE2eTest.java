package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.cli.Main;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.testing.FreePorts;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Expose and connect end to end: a real relay (in this JVM, so the test can kill and restart it)
 * and agents in their own JVMs started through the CLI, on loopback.
 *
 * <ul>
 *   <li>alice: {@code burrow agent --config} exposing web, echo, upper (answers after EOF) and bulk;</li>
 *   <li>carol: {@code burrow expose hello ...} (the one-service command);</li>
 *   <li>bob: {@code burrow agent --config} forwarding to all of them, and to a service nobody exposes;</li>
 *   <li>eve: {@code burrow connect alice/web PORT}, not on alice's allow list.</li>
 * </ul>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentE2eTest {
    /** Generous: CI machines are shared, and four JVMs start at once. */
    static final Duration STARTUP = Duration.ofSeconds(240);

    static final ObjectMapper JSON = new ObjectMapper();

    Path tmp;

    RelayServer relay;
    int relayPort;
    String fingerprint;
    TestTargets targets;
    NodeIdentity alice;
    NodeIdentity bob;
    NodeIdentity carol;
    NodeIdentity eve;
    final List<BurrowProcess> processes = new ArrayList<>();
    int webPort;
    int echoPort;
    int upperPort;
    int bulkPort;
    int nopePort;
    int helloPort;
    int evePort;

    @BeforeAll
    void startEverything() throws Exception {
        tmp = Files.createTempDirectory("burrow-e2e-");
        targets = new TestTargets();
        startRelay(0);
        alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"), "alice", Clock.systemUTC());
        bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
        carol = NodeIdentity.loadOrCreate(tmp.resolve("carol"), "carol", Clock.systemUTC());
        eve = NodeIdentity.loadOrCreate(tmp.resolve("eve"), "eve", Clock.systemUTC());
        String relayYaml = "relay:\n  url: https://127.0.0.1:" + relayPort + "\n  fingerprint: " + fingerprint + "\n";
        String allowBob = "[node:" + bob.nodeKey().nodeId() + "]";
        Path aliceYaml = tmp.resolve("alice.yaml");
        Files.writeString(
                aliceYaml,
                relayYaml + "expose:\n"
                        + "  - {name: web, target: 127.0.0.1:"
                        + targets.web.getAddress().getPort() + ", allow: " + allowBob + "}\n"
                        + "  - {name: echo, target: 127.0.0.1:" + targets.echo.getLocalPort() + ", allow: " + allowBob
                        + "}\n"
                        + "  - {name: upper, target: 127.0.0.1:" + targets.upper.getLocalPort() + ", allow: " + allowBob
                        + "}\n"
                        + "  - {name: bulk, target: 127.0.0.1:" + targets.bulk.getLocalPort() + ", allow: " + allowBob
                        + "}\n");
        webPort = freePort();
        echoPort = freePort();
        upperPort = freePort();
        bulkPort = freePort();
        nopePort = freePort();
        helloPort = freePort();
        evePort = freePort();
        Path bobYaml = tmp.resolve("bob.yaml");
        Files.writeString(
                bobYaml,
                relayYaml
                        + "peers:\n  alice: " + alice.nodeKey().nodeId() + "\n  carol: "
                        + carol.nodeKey().nodeId() + "\n"
                        + "forward:\n"
                        + "  - {peer: alice, service: web, listen: " + webPort + "}\n"
                        + "  - {peer: alice, service: echo, listen: " + echoPort + "}\n"
                        + "  - {peer: alice, service: upper, listen: " + upperPort + "}\n"
                        + "  - {peer: alice, service: bulk, listen: " + bulkPort + "}\n"
                        + "  - {peer: alice, service: nope, listen: " + nopePort + "}\n"
                        + "  - {peer: carol, service: hello, listen: " + helloPort + "}\n");
        for (String[] args : List.of(
                new String[] {
                    "alice", "agent", "--config", aliceYaml.toString(), "--state", dir("alice"), "--transport", "nio"
                },
                new String[] {"bob", "agent", "--config", bobYaml.toString(), "--state", dir("bob")},
                new String[] {
                    "carol",
                    "expose",
                    "hello",
                    "127.0.0.1:" + targets.web.getAddress().getPort(),
                    "--allow",
                    "node:" + bob.nodeKey().nodeId(),
                    "--relay",
                    relayUrl(),
                    "--relay-fingerprint",
                    fingerprint,
                    "--state",
                    dir("carol")
                },
                new String[] {
                    "eve",
                    "connect",
                    alice.nodeKey().nodeId() + "/web",
                    String.valueOf(evePort),
                    "--relay",
                    relayUrl(),
                    "--relay-fingerprint",
                    fingerprint,
                    "--state",
                    dir("eve")
                })) {
            // These tests are about the relay path: direct (hole-punched) paths have their own tests.
            processes.add(BurrowProcess.start(
                    "agent-e2e-" + args[0], Map.of("BURROW_DIRECT", "off"), Arrays.copyOfRange(args, 1, args.length)));
        }
        for (String who : List.of("alice", "bob", "carol", "eve")) {
            awaitReady(who);
        }
    }

    @AfterAll
    void stopEverything() throws Exception {
        for (BurrowProcess p : processes) {
            p.close();
        }
        if (relay != null) {
            relay.close();
        }
        if (targets != null) {
            targets.close();
        }
        if (tmp != null) {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    void startRelay(int port) throws IOException {
        relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                        "listen",
                        "127.0.0.1:" + port,
                        "admin-listen",
                        "off",
                        "tls.mode",
                        "dev",
                        "tls.dev-dir",
                        tmp.resolve("relay").toString(),
                        "auth.mode",
                        "open",
                        "transport",
                        "nio",
                        // every circuit is a new TCP connection from 127.0.0.1: lift the per-IP connect rate
                        "limits.ip-connect-rate",
                        "100000",
                        "limits.ip-connect-burst",
                        "100000")))
                .transport(Transport.nio())
                .build()
                .start();
        relayPort = relay.address().getPort();
        fingerprint = relay.tlsFingerprint();
    }

    String relayUrl() {
        return "https://127.0.0.1:" + relayPort;
    }

    String dir(String who) {
        return tmp.resolve(who).toString();
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
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
                    for (BurrowProcess p : processes) {
                        if (!p.isAlive()) {
                            throw new AssertionError(p.name + " exited: " + p.logText());
                        }
                    }
                    return ready(who);
                });
    }

    AgentStatus status(String who) throws IOException {
        return ControlApiClient.forStateDir(tmp.resolve(who)).status();
    }

    static String get(int port) throws Exception {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                        .timeout(Duration.ofSeconds(30))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(60_000);
        return s;
    }

    static String readToEnd(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (SocketException e) {
            return "<reset>";
        }
    }

    @Test
    @Order(1)
    void requestAndResponseThroughTheRelay() throws Exception {
        assertThat(get(webPort)).isEqualTo(TestTargets.WEB_BODY);
        // carol runs 'burrow expose': same result through the one-service command.
        assertThat(get(helloPort)).isEqualTo(TestTargets.WEB_BODY);
    }

    @Test
    @Order(2)
    void statusAndReadyCommandsDescribeTheRunningAgent() throws Exception {
        try (Socket s = connect(echoPort)) {
            s.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.UTF_8))
                    .isEqualTo("ping");
            StringWriter out = new StringWriter();
            var cl = Main.newCommandLine();
            cl.setOut(new PrintWriter(out));
            assertThat(cl.execute("status", "-o", "json", "--state", dir("bob")))
                    .isZero();
            JsonNode st = JSON.readTree(out.toString());
            assertThat(st.path("nodeId").asText()).isEqualTo(bob.nodeKey().nodeId());
            assertThat(st.path("relay").path("state").asText()).isEqualTo("connected");
            assertThat(st.path("forwards")).hasSize(6);
            JsonNode conn = null;
            for (JsonNode c : st.path("connections")) {
                if (c.path("service").asText().equals("echo")) {
                    conn = c;
                }
            }
            assertThat(conn).as("the open echo connection in %s", st).isNotNull();
            assertThat(conn.path("peer").asText()).isEqualTo(alice.nodeKey().nodeId());
            assertThat(conn.path("service").asText()).isEqualTo("echo");
            assertThat(conn.path("path").asText()).isEqualTo("relay");
            assertThat(conn.path("bytesToPeer").asLong()).isEqualTo(4);
            assertThat(st.path("peers").get(0).path("path").asText()).isEqualTo("relay");
            StringWriter table = new StringWriter();
            cl = Main.newCommandLine();
            cl.setOut(new PrintWriter(table));
            assertThat(cl.execute("status", "--state", dir("alice"))).isZero();
            assertThat(table.toString()).contains("connected").contains("echo").contains("inbound");
        }
        var cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(new StringWriter()));
        assertThat(cl.execute("ready", "--state", dir("bob"))).isZero();
        assertThat(cl.execute("ready", "--state", tmp.resolve("nobody").toString()))
                .isEqualTo(1);
    }

    @Test
    @Order(3)
    void halfCloseTravelsBothWays() throws Exception {
        try (Socket s = connect(upperPort)) {
            s.getOutputStream().write("half-closed request".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            assertThat(readToEnd(s)).isEqualTo("HALF-CLOSED REQUEST");
        }
    }

    @Test
    @Order(4)
    void twoHundredConcurrentConnections() throws Exception {
        int n = 200;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int id = i;
                results.add(pool.submit(() -> {
                    byte[] msg = new byte[4096];
                    new java.util.Random(id).nextBytes(msg);
                    try (Socket s = connect(echoPort)) {
                        s.getOutputStream().write(msg);
                        s.shutdownOutput();
                        return Arrays.equals(s.getInputStream().readAllBytes(), msg);
                    }
                }));
            }
            int ok = 0;
            for (Future<Boolean> f : results) {
                if (f.get(5, TimeUnit.MINUTES)) {
                    ok++;
                }
            }
            assertThat(ok).isEqualTo(n);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Order(5)
    void dialerNotOnTheAllowListIsRefusedWithAClearReason() throws Exception {
        try (Socket s = connect(evePort)) {
            assertThat(readToEnd(s)).isIn("", "<reset>");
        }
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(status("eve").recentRefusals()).anySatisfy(r -> {
                    // no rule of any of alice's services admits eve: she learns nothing beyond "not allowed"
                    assertThat(r.code()).isEqualTo("NOT_ALLOWED");
                    assertThat(r.message()).contains("not allowed").doesNotContain("allow list");
                }));
        assertThat(status("eve").forwards().get(0).lastError()).contains("NOT_ALLOWED");
        assertThat(status("alice").recentRefusals()).anySatisfy(r -> {
            assertThat(r.peer()).isEqualTo(eve.nodeKey().nodeId());
            assertThat(r.message()).contains("allow list"); // the detail stays with the exposing agent
        });
    }

    @Test
    @Order(6)
    void serviceNobodyExposesIsRefused() throws Exception {
        try (Socket s = connect(nopePort)) {
            assertThat(readToEnd(s)).isIn("", "<reset>");
        }
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(status("bob").recentRefusals()).anySatisfy(r -> {
                    assertThat(r.code()).isEqualTo("SERVICE_UNKNOWN");
                    assertThat(r.service()).isEqualTo("nope");
                }));
    }

    @Test
    @Order(7)
    void oneGibibyteEachWayArrivesIntact() throws Exception {
        targets.bulkResults.clear();
        targets.bulkErrors.clear();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Socket s = connect(bulkPort)) {
            s.setSoTimeout(600_000);
            Future<String[]> reader = pool.submit(() -> TestTargets.drain(s.getInputStream()));
            Future<String[]> writer = pool.submit(() -> {
                String[] sent = TestTargets.send(s.getOutputStream(), TestTargets.BULK_BYTES, 11);
                s.shutdownOutput();
                return sent;
            });
            String[] sent = writer.get(10, TimeUnit.MINUTES);
            String[] got = reader.get(10, TimeUnit.MINUTES);
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> !targets.bulkResults.isEmpty() || !targets.bulkErrors.isEmpty());
            assertThat(targets.bulkErrors).as("errors at the target").isEmpty();
            TestTargets.BulkResult server = targets.bulkResults.peek();
            assertThat(Long.parseLong(sent[0])).isEqualTo(TestTargets.BULK_BYTES);
            assertThat(server.received()).isEqualTo(TestTargets.BULK_BYTES);
            assertThat(server.receivedSha256()).isEqualTo(sent[1]);
            assertThat(Long.parseLong(got[0])).isEqualTo(TestTargets.BULK_BYTES);
            assertThat(got[1]).isEqualTo(server.sentSha256());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Order(8)
    void agentsReconnectAfterTheRelayRestarts() throws Exception {
        relay.close();
        await("bob notices").atMost(Duration.ofSeconds(60)).until(() -> !ready("bob"));
        startRelay(relayPort); // same port, same development certificate (kept in its dev dir)
        awaitReady("alice");
        awaitReady("bob");
        await("a new connection works")
                .atMost(Duration.ofSeconds(60))
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(get(webPort)).isEqualTo(TestTargets.WEB_BODY));
    }

    @Test
    @Order(9)
    void demoCheckPasses() throws Exception {
        assertThat(BurrowProcess.run("demo-check", 120, "demo", "--check")).isZero();
    }
}
