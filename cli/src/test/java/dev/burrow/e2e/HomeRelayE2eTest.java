package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.testing.FreePorts;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Home relay selection with real relays and agents, each in its own JVM, on loopback. Two relays
 * share one development certificate (one pinned fingerprint, as a fleet shares its TLS Secret).
 * Both agents start while only relay 1 runs, so they share a home without a relay mesh; then relay
 * 2 starts, relay 1 is drained with SIGTERM (RESTARTING): both agents move to relay 2 while the
 * connection already forwarded through relay 1 keeps working during the grace period; relay 1
 * comes back, relay 2 is killed with SIGKILL: both agents move back to relay 1 and new connections
 * work again. {@code burrow ready} is green after every move.
 */
class HomeRelayE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(240);
    /** A move is one handshake; generous for a shared CI machine. */
    static final Duration MOVE = Duration.ofSeconds(60);

    static final Pattern FINGERPRINT = Pattern.compile("development certificate (sha256:[0-9a-f]+)");

    final List<BurrowProcess> processes = new ArrayList<>();
    Path tmp;

    @AfterEach
    void cleanUp() throws IOException {
        for (BurrowProcess p : processes) {
            p.close();
        }
        if (tmp != null) {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    BurrowProcess relay(String name, int port) throws IOException {
        BurrowProcess p = BurrowProcess.start(
                "home-relay-" + name + "-" + System.nanoTime(),
                Map.of(),
                "relay",
                "--dev",
                "--listen",
                "127.0.0.1:" + port,
                "--admin-listen",
                "off",
                "--relay-id",
                name,
                "--transport",
                "nio",
                "--drain-grace",
                "20s",
                "--set",
                "tls.dev-dir=" + tmp.resolve("relay-tls"),
                // every probe and circuit is a new TCP connection from 127.0.0.1: lift the per-IP connect rate
                "--set",
                "limits.ip-connect-rate=100000",
                "--set",
                "limits.ip-connect-burst=100000");
        processes.add(p);
        await(name + " listening")
                .atMost(STARTUP)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    if (!p.isAlive()) {
                        throw new AssertionError(name + " exited: " + p.logText());
                    }
                    return p.logText().contains("agents trust this relay with: --relay ");
                });
        return p;
    }

    static String fingerprintOf(BurrowProcess relay) {
        Matcher m = FINGERPRINT.matcher(relay.logText());
        assertThat(m.find()).as("fingerprint in %s", relay.logText()).isTrue();
        return m.group(1);
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }

    AgentStatus status(String who) throws IOException {
        return ControlApiClient.forStateDir(tmp.resolve(who)).status();
    }

    boolean ready(String who) {
        try {
            return ControlApiClient.forStateDir(tmp.resolve(who)).ready().status() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    boolean connectedTo(String who, String url) {
        try {
            AgentStatus.RelayStatus r = status(who).relay();
            return r.state().equals("connected") && r.url().equals(url) && ready(who);
        } catch (IOException e) {
            return false;
        }
    }

    boolean sees(String who, String url, String state) {
        try {
            return status(who).relay().candidates().stream()
                    .anyMatch(c -> c.url().equals(url) && c.state().equals(state));
        } catch (IOException e) {
            return false;
        }
    }

    void awaitAlive() {
        for (BurrowProcess p : processes) {
            if (p.name.startsWith("home-agent") && !p.isAlive()) {
                throw new AssertionError(p.name + " exited: " + p.logText());
            }
        }
    }

    static String echo(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
        InputStream in = s.getInputStream();
        return new String(in.readNBytes(text.length()), StandardCharsets.UTF_8);
    }

    @Test
    void agentsMoveWhenTheirRelayDrainsOrDiesAndForwardedConnectionsSurviveTheDrain() throws Exception {
        tmp = Files.createTempDirectory("burrow-home-relay-");
        int port1 = freePort();
        int port2 = freePort();
        String url1 = "https://127.0.0.1:" + port1;
        String url2 = "https://127.0.0.1:" + port2;
        try (TestTargets targets = new TestTargets()) {
            BurrowProcess relay1 = relay("r1", port1);
            String fp = fingerprintOf(relay1);
            NodeIdentity alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"), "alice", Clock.systemUTC());
            NodeIdentity bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
            int echoPort = freePort();
            // Relay 2 is not running yet: both agents measure it as down and choose relay 1.
            Map<String, String> env = Map.of("BURROW_DIRECT", "off", "BURROW_RELAY_PROBE_INTERVAL", "2s");
            processes.add(BurrowProcess.start(
                    "home-agent-alice",
                    env,
                    "expose",
                    "echo",
                    "127.0.0.1:" + targets.echo.getLocalPort(),
                    "--allow",
                    "node:" + bob.nodeKey().nodeId(),
                    "--relay",
                    url1,
                    "--relay",
                    url2,
                    "--relay-fingerprint",
                    fp,
                    "--state",
                    tmp.resolve("alice").toString()));
            processes.add(BurrowProcess.start(
                    "home-agent-bob",
                    env,
                    "connect",
                    alice.nodeKey().nodeId() + "/echo",
                    String.valueOf(echoPort),
                    "--relay",
                    url1,
                    "--relay",
                    url2,
                    "--relay-fingerprint",
                    fp,
                    "--state",
                    tmp.resolve("bob").toString()));
            for (String who : List.of("alice", "bob")) {
                await(who + " on relay 1")
                        .atMost(STARTUP)
                        .pollInterval(Duration.ofMillis(250))
                        .until(() -> {
                            awaitAlive();
                            return connectedTo(who, url1);
                        });
            }
            AgentStatus st = status("bob");
            assertThat(st.relay().home()).isEqualTo(url1);
            assertThat(st.relay().candidates()).hasSize(2);
            assertThat(st.relay().homeReason()).startsWith("initial");

            BurrowProcess relay2 = relay("r2", port2);
            assertThat(fingerprintOf(relay2)).isEqualTo(fp);
            for (String who : List.of("alice", "bob")) {
                await(who + " measures relay 2")
                        .atMost(MOVE)
                        .pollInterval(Duration.ofMillis(250))
                        .until(() -> {
                            awaitAlive();
                            return sees(who, url2, "up");
                        });
            }

            try (Socket early = new Socket("127.0.0.1", echoPort)) {
                early.setSoTimeout(30_000);
                assertThat(echo(early, "before the drain")).isEqualTo("before the drain");

                relay1.process.destroy(); // SIGTERM: the relay drains and sends RESTARTING
                for (String who : List.of("alice", "bob")) {
                    await(who + " moved to relay 2")
                            .atMost(MOVE)
                            .pollInterval(Duration.ofMillis(100))
                            .until(() -> {
                                awaitAlive();
                                return connectedTo(who, url2);
                            });
                }
                assertThat(relay1.isAlive())
                        .as("relay 1 still drains: it waits for the open circuit")
                        .isTrue();
                // The connection forwarded through relay 1 before the move still carries data.
                assertThat(echo(early, "during the drain")).isEqualTo("during the drain");
                // New connections go through relay 2.
                try (Socket late = new Socket("127.0.0.1", echoPort)) {
                    late.setSoTimeout(30_000);
                    assertThat(echo(late, "via relay 2")).isEqualTo("via relay 2");
                }
                AgentStatus moved = status("alice");
                assertThat(moved.relay().home()).isEqualTo(url2);
                assertThat(moved.relay().homeReason()).startsWith("draining");
                assertThat(moved.relay().switches()).isGreaterThanOrEqualTo(1);
                assertThat(moved.relay().candidates())
                        .filteredOn(c -> c.url().equals(url1))
                        .first()
                        .extracting(AgentStatus.RelayCandidateStatus::state)
                        .isEqualTo("draining");
                // What people read: the home, why, and every relay with its RTT.
                java.io.StringWriter table = new java.io.StringWriter();
                var cl = dev.burrow.cli.Main.newCommandLine();
                cl.setOut(new java.io.PrintWriter(table));
                assertThat(cl.execute("status", "--state", tmp.resolve("alice").toString()))
                        .isZero();
                assertThat(table.toString())
                        .contains("home      " + url2 + "  (draining: ")
                        .contains(url1 + " ")
                        .containsPattern("\\* " + Pattern.quote(url2) + " +up +[0-9.]+ms");
                java.io.StringWriter json = new java.io.StringWriter();
                cl = dev.burrow.cli.Main.newCommandLine();
                cl.setOut(new java.io.PrintWriter(json));
                assertThat(cl.execute(
                                "status",
                                "-o",
                                "json",
                                "--state",
                                tmp.resolve("alice").toString()))
                        .isZero();
                var node = new com.fasterxml.jackson.databind.ObjectMapper()
                        .readTree(json.toString())
                        .path("relay");
                assertThat(node.path("home").asText()).isEqualTo(url2);
                assertThat(node.path("candidates")).hasSize(2);
                assertThat(node.path("candidates").get(1).path("rttMillis").isNumber())
                        .isTrue();
            }
            await("relay 1 exits once drained").atMost(MOVE).until(() -> !relay1.isAlive());

            // Relay 1 comes back (same port, same certificate); then relay 2 dies without a word.
            BurrowProcess relay1again = relay("r1b", port1);
            assertThat(fingerprintOf(relay1again)).isEqualTo(fp);
            for (String who : List.of("alice", "bob")) {
                await(who + " measures relay 1 again")
                        .atMost(MOVE)
                        .pollInterval(Duration.ofMillis(250))
                        .until(() -> {
                            awaitAlive();
                            return sees(who, url1, "up"); // after its drain exclusion, measured again
                        });
            }
            assertThat(connectedTo("alice", url2))
                    .as("no move back without the latency rule")
                    .isTrue();
            relay2.process.destroyForcibly(); // SIGKILL
            for (String who : List.of("alice", "bob")) {
                await(who + " moved back to relay 1")
                        .atMost(MOVE)
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> {
                            awaitAlive();
                            return connectedTo(who, url1);
                        });
            }
            await("a new connection works after the move")
                    .atMost(MOVE)
                    .pollInterval(Duration.ofMillis(500))
                    .ignoreExceptions()
                    .until(() -> {
                        try (Socket s = new Socket("127.0.0.1", echoPort)) {
                            s.setSoTimeout(10_000);
                            return echo(s, "via relay 1 again").equals("via relay 1 again");
                        }
                    });
            AgentStatus dead = status("bob");
            assertThat(dead.relay().homeReason()).startsWith("dead");
        }
    }
}
