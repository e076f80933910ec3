package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.api.ControlApi;
import dev.burrow.agent.api.ControlApiClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a new user meets in the first hour, with real processes: one agent per state directory, trust failures. */
class FirstHourE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(120);
    /** Nobody listens there: the agents keep retrying, which is all these tests need of a relay. */
    static final String NO_RELAY = "https://127.0.0.1:9";

    final List<BurrowProcess> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        for (BurrowProcess p : processes) {
            p.close();
        }
    }

    BurrowProcess start(String name, String... args) throws Exception {
        BurrowProcess p = BurrowProcess.start(name, Map.of("BURROW_DIRECT", "off"), args);
        processes.add(p);
        return p;
    }

    /** A relay in this JVM with a development certificate: its fingerprint is what agents should pin. */
    static dev.burrow.relay.server.RelayServer devRelay(Path dir) throws Exception {
        return dev.burrow.relay.server.RelayServer.builder(
                        dev.burrow.relay.server.config.RelayConfigLoader.fromMap(Map.of(
                                "listen",
                                "127.0.0.1:0",
                                "admin-listen",
                                "off",
                                "tls.mode",
                                "dev",
                                "tls.dev-dir",
                                dir.toString(),
                                "auth.mode",
                                "open",
                                "transport",
                                "nio")))
                .transport(dev.burrow.transport.Transport.nio())
                .build()
                .start();
    }

    @Test
    void aWrongPinOrAnUntrustedCertificateEndsTheFirstAttemptWithOneLine() throws Exception {
        Path tmp = Files.createTempDirectory("burrow-trust-");
        try (var relay = devRelay(tmp.resolve("relay"))) {
            String url = "https://127.0.0.1:" + relay.address().getPort();
            String wrong = "sha256:" + "ab".repeat(32);
            BurrowProcess pinned = start(
                    "trust-wrong-pin",
                    "expose",
                    "web",
                    "127.0.0.1:8080",
                    "--allow",
                    "name:bob",
                    "--relay",
                    url,
                    "--relay-fingerprint",
                    wrong,
                    "--state",
                    tmp.resolve("a").toString());
            assertThat(pinned.process.waitFor(120, TimeUnit.SECONDS))
                    .as("exits on the first attempt")
                    .isTrue();
            assertThat(pinned.process.exitValue()).isEqualTo(1);
            assertThat(pinned.logText())
                    .contains("burrow: relay " + url + " presents certificate " + relay.tlsFingerprint()
                            + " but --relay-fingerprint expects " + wrong);

            BurrowProcess untrusted = start(
                    "trust-untrusted",
                    "expose",
                    "web",
                    "127.0.0.1:8080",
                    "--allow",
                    "name:bob",
                    "--relay",
                    url,
                    "--state",
                    tmp.resolve("b").toString());
            assertThat(untrusted.process.waitFor(120, TimeUnit.SECONDS))
                    .as("exits on the first attempt")
                    .isTrue();
            assertThat(untrusted.process.exitValue()).isEqualTo(1);
            assertThat(untrusted
                            .logText()
                            .lines()
                            .filter(l -> l.startsWith("burrow: "))
                            .toList())
                    .singleElement()
                    .asString()
                    .startsWith("burrow: relay " + url + " presents a certificate that no trusted CA signed")
                    .contains("--relay-ca")
                    .doesNotContain("sun.security");
        }
    }

    @Test
    void shortCommandsPrintOnlyTheirResultUnlessVerbose() throws Exception {
        Path tmp = Files.createTempDirectory("burrow-quiet-");
        String id = BurrowProcess.output(
                "quiet-id", Map.of(), 60, "id", "--state", tmp.resolve("a").toString());
        assertThat(id).startsWith("node ID:  ").doesNotContain("INFO");
        assertThat(Files.readString(BurrowProcess.LOG_DIR.resolve("quiet-id.log")))
                .as("stderr")
                .isEmpty();

        BurrowProcess.output(
                "verbose-id",
                Map.of(),
                60,
                "id",
                "-v",
                "--state",
                tmp.resolve("b").toString());
        assertThat(Files.readString(BurrowProcess.LOG_DIR.resolve("verbose-id.log")))
                .contains("created node identity");
    }

    @Test
    void aDevRelayServesStunOnAFreePortAndStopsAtOnceWithoutSiblings() throws Exception {
        Path tmp = Files.createTempDirectory("burrow-devrelay-");
        Map<String, String> env = Map.of("BURROW_STATE", tmp.toString());
        BurrowProcess relay = BurrowProcess.start("dev-relay-stun", env, "relay", "--dev", "--listen", "127.0.0.1:0");
        processes.add(relay);
        java.util.regex.Pattern stunAt = java.util.regex.Pattern.compile("stun udp (127\\.0\\.0\\.1:\\d+)");
        await("relay up").atMost(STARTUP).until(() -> {
            assertThat(relay.isAlive()).as(relay.logText()).isTrue();
            return relay.logText().contains("agents trust this relay with:");
        });
        java.util.regex.Matcher m = stunAt.matcher(relay.logText());
        assertThat(m.find()).as(relay.logText()).isTrue();
        assertThat(m.group(1)).isNotEqualTo("127.0.0.1:3478");
        String probe =
                BurrowProcess.output("dev-relay-probe", Map.of(), 60, "stun-probe", m.group(1), "--timeout", "2s");
        assertThat(probe).contains("binding").contains("127.0.0.1:");

        relay.process.destroy(); // SIGTERM
        assertThat(relay.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(relay.logText()).contains("grace_ms=0").contains("event=relay_drained");

        BurrowProcess noStun = BurrowProcess.start(
                "dev-relay-no-stun", env, "relay", "--dev", "--listen", "127.0.0.1:0", "--stun-listen", "off");
        processes.add(noStun);
        await("relay up").atMost(STARTUP).until(() -> noStun.logText().contains("agents trust this relay with:"));
        assertThat(noStun.logText()).doesNotContain("stun udp");
    }

    @Test
    void connectionsBeforeTheRelayIsReachedAreHeldBoundedThenRefusedWithAReason() throws Exception {
        Path state = Files.createTempDirectory("burrow-hold-");
        int port = ReadmeQuickStartE2eTest.freePort();
        BurrowProcess agent = start(
                "hold-connect",
                "connect",
                dev.burrow.identity.testing.TestIdentities.randomNodeKey().nodeId() + "/web",
                String.valueOf(port),
                "--relay",
                NO_RELAY,
                "--state",
                state.toString());
        await("listening").atMost(STARTUP).until(() -> {
            assertThat(agent.isAlive()).as(agent.logText()).isTrue();
            return agent.logText().contains("forwarding ");
        });
        int bound = dev.burrow.agent.forward.ForwardListener.MAX_HELD_CONNECTIONS;
        List<java.net.Socket> clients = new ArrayList<>();
        try {
            for (int i = 0; i <= bound; i++) { // one more than may wait
                java.net.Socket s = new java.net.Socket("127.0.0.1", port);
                s.setSoTimeout(120_000);
                clients.add(s);
            }
            await("the one beyond the bound is refused")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> agent.logText().contains(bound + " connections already wait for it"));
            // The held ones end once the hold expires, with the reason in the log; none gets data.
            java.io.InputStream first = clients.get(0).getInputStream();
            try {
                assertThat(first.read()).isEqualTo(-1);
            } catch (java.net.SocketException reset) {
                // a reset is the intended end (the client must not take it for an empty answer)
            }
            assertThat(agent.logText())
                    .contains("not connected to the relay within "
                            + dev.burrow.agent.forward.ForwardListener.HOLD_TIMEOUT.toSeconds() + " s");
            assertThat(agent.isAlive()).isTrue();
        } finally {
            for (java.net.Socket s : clients) {
                s.close();
            }
        }
    }

    @Test
    void aSecondAgentOnTheSameStateDirectoryExitsAtOnceNamingTheHolder() throws Exception {
        Path state = Files.createTempDirectory("burrow-lock-");
        BurrowProcess first = start(
                "lock-first",
                "connect",
                dev.burrow.identity.testing.TestIdentities.randomNodeKey().nodeId() + "/web",
                String.valueOf(ReadmeQuickStartE2eTest.freePort()),
                "--relay",
                NO_RELAY,
                "--state",
                state.toString());
        await("first agent up").atMost(STARTUP).until(() -> {
            assertThat(first.isAlive()).as(first.logText()).isTrue();
            return first.logText().contains("forwarding ");
        });
        BurrowProcess second = start(
                "lock-second",
                "expose",
                "web",
                "127.0.0.1:8080",
                "--allow",
                "name:bob",
                "--relay",
                NO_RELAY,
                "--state",
                state.toString());
        assertThat(second.process.waitFor(60, TimeUnit.SECONDS))
                .as("second agent exits")
                .isTrue();
        assertThat(second.process.exitValue()).isNotZero();
        assertThat(second.logText()).contains("PID " + first.pid()).contains("--state");
        assertThat(first.isAlive()).as("the first agent is untouched").isTrue();
        assertThat(state.resolve(ControlApi.SOCKET_FILE))
                .as("the first agent's local API socket is left in place")
                .exists();
        assertThat(ControlApiClient.forStateDir(state).get("/v1/status").status())
                .as("the first agent's local API still answers")
                .isEqualTo(200);
    }
}
