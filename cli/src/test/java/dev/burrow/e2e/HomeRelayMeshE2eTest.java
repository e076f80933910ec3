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
 * A moved agent stays reachable across a relay mesh: three meshed relays as separate processes
 * (one development certificate, one mesh key, each listing all three as mesh peers). Alice knows
 * relays 1 and 3 and starts while only 1 and 2 run, so her home is relay 1; bob knows only relay 2.
 * Bob reaches alice across the mesh; relay 1 drains (SIGTERM) and alice moves to relay 3, where bob
 * (still on relay 2) reaches her again; relay 3 is killed (SIGKILL) once relay 1 is back, and alice
 * moves to relay 1, still reachable from bob.
 */
class HomeRelayMeshE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(240);
    static final Duration MOVE = Duration.ofSeconds(60);
    static final Pattern FINGERPRINT = Pattern.compile("development certificate (sha256:[0-9a-f]+)");
    static final String MESH_KEY = "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677";

    final List<BurrowProcess> processes = new ArrayList<>();
    Path tmp;
    String meshPeers;

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
                "home-mesh-relay-" + name + "-" + System.nanoTime(),
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
                "--set",
                "mesh.peers=" + meshPeers,
                "--set",
                "mesh.key-file=" + tmp.resolve("mesh.key"),
                "--set",
                "mesh.resolve-interval=1s",
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

    boolean connectedTo(String who, String url) {
        try {
            AgentStatus.RelayStatus r = status(who).relay();
            return r.state().equals("connected")
                    && r.url().equals(url)
                    && ControlApiClient.forStateDir(tmp.resolve(who)).ready().status() == 200;
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

    void agentsAlive() {
        for (BurrowProcess p : processes) {
            if (p.name.startsWith("home-mesh-agent") && !p.isAlive()) {
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

    /** A new connection through bob's forward reaches alice's echo service (retried while routes settle). */
    void bobReachesAlice(int echoPort, String text) {
        // generous: routes settle after a move, and the machine may be loaded (a relay that starts late is
        // dialled back by its siblings at once, see MeshRelayTest#aSiblingThatStartsLate...)
        await("bob reaches alice: " + text)
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(500))
                .ignoreExceptions()
                .until(() -> {
                    agentsAlive();
                    try (Socket s = new Socket("127.0.0.1", echoPort)) {
                        s.setSoTimeout(10_000);
                        return echo(s, text).equals(text);
                    }
                });
    }

    @Test
    void aMovedAgentStaysReachableFromAnotherRelay() throws Exception {
        tmp = Files.createTempDirectory("burrow-home-mesh-");
        Files.writeString(tmp.resolve("mesh.key"), MESH_KEY + "\n");
        int port1 = freePort();
        int port2 = freePort();
        int port3 = freePort();
        meshPeers = "127.0.0.1:" + port1 + ",127.0.0.1:" + port2 + ",127.0.0.1:" + port3;
        String url1 = "https://127.0.0.1:" + port1;
        String url2 = "https://127.0.0.1:" + port2;
        String url3 = "https://127.0.0.1:" + port3;
        try (TestTargets targets = new TestTargets()) {
            BurrowProcess relay1 = relay("r1", port1);
            String fp = fingerprintOf(relay1);
            relay("r2", port2);
            NodeIdentity alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"), "alice", Clock.systemUTC());
            NodeIdentity bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
            int echoPort = freePort();
            Map<String, String> env = Map.of("BURROW_DIRECT", "off", "BURROW_RELAY_PROBE_INTERVAL", "2s");
            processes.add(BurrowProcess.start(
                    "home-mesh-agent-alice",
                    env,
                    "expose",
                    "echo",
                    "127.0.0.1:" + targets.echo.getLocalPort(),
                    "--allow",
                    "node:" + bob.nodeKey().nodeId(),
                    "--relay",
                    url1,
                    "--relay",
                    url3,
                    "--relay-fingerprint",
                    fp,
                    "--state",
                    tmp.resolve("alice").toString()));
            processes.add(BurrowProcess.start(
                    "home-mesh-agent-bob",
                    env,
                    "connect",
                    alice.nodeKey().nodeId() + "/echo",
                    String.valueOf(echoPort),
                    "--relay",
                    url2,
                    "--relay-fingerprint",
                    fp,
                    "--state",
                    tmp.resolve("bob").toString()));
            await("alice on relay 1")
                    .atMost(STARTUP)
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        agentsAlive();
                        return connectedTo("alice", url1);
                    });
            await("bob on relay 2")
                    .atMost(STARTUP)
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        agentsAlive();
                        return connectedTo("bob", url2);
                    });
            bobReachesAlice(echoPort, "across the mesh");

            BurrowProcess relay3 = relay("r3", port3);
            await("alice measures relay 3")
                    .atMost(MOVE)
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        agentsAlive();
                        return sees("alice", url3, "up");
                    });

            try (Socket early = new Socket("127.0.0.1", echoPort)) {
                early.setSoTimeout(30_000);
                assertThat(echo(early, "bob on 2, alice on 1")).isEqualTo("bob on 2, alice on 1");
                relay1.process.destroy(); // SIGTERM: drain
                await("alice moved to relay 3")
                        .atMost(MOVE)
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> {
                            agentsAlive();
                            return connectedTo("alice", url3);
                        });
                assertThat(status("alice").relay().homeReason()).startsWith("draining");
                // The cross-relay connection through relay 1 still carries data while relay 1 drains.
                assertThat(echo(early, "still through relay 1")).isEqualTo("still through relay 1");
                bobReachesAlice(echoPort, "after the drain, relay 2 to relay 3");
            }
            await("relay 1 exits once drained").atMost(MOVE).until(() -> !relay1.isAlive());

            relay("r1b", port1);
            await("alice measures relay 1 again")
                    .atMost(MOVE)
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        agentsAlive();
                        return sees("alice", url1, "up");
                    });
            relay3.process.destroyForcibly(); // SIGKILL
            await("alice moved back to relay 1")
                    .atMost(MOVE)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        agentsAlive();
                        return connectedTo("alice", url1);
                    });
            bobReachesAlice(echoPort, "after the kill, relay 2 to relay 1");
            assertThat(connectedTo("bob", url2)).isTrue();
        }
    }
}
