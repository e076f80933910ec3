package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code burrow connect NAME/service} end to end: a relay with a fleet CA in CA admission mode, and
 * agents with CA-issued certificates in their own JVMs. bob reaches alice's web service by her name;
 * dave asks for a name nobody has and is refused with the reason, in his log and in his status.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NameResolutionE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(240);

    Path tmp;
    RelayServer relay;
    TestTargets targets;
    final List<BurrowProcess> processes = new ArrayList<>();
    int bobPort;
    int davePort;

    @BeforeAll
    void start() throws Exception {
        tmp = Files.createTempDirectory("burrow-names-e2e-");
        targets = new TestTargets();
        FleetCa ca = FleetCa.init(tmp.resolve("ca"), "fleet", Clock.systemUTC());
        Path caCert = tmp.resolve("ca").resolve(FleetCa.CERT_FILE);
        for (String who : List.of("alice", "bob", "dave")) {
            NodeIdentity id = NodeIdentity.loadOrCreate(tmp.resolve(who), who, Clock.systemUTC());
            X509Certificate cert = ca.issue(id.nodeKey(), who, Set.of(), Duration.ofDays(1));
            id.installCertificate(ca.chainFor(cert));
        }
        relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                        "listen",
                        "127.0.0.1:0",
                        "admin-listen",
                        "off",
                        "tls.mode",
                        "dev",
                        "tls.dev-dir",
                        tmp.resolve("relay").toString(),
                        "auth.mode",
                        "ca",
                        "auth.ca",
                        caCert.toString(),
                        "transport",
                        "nio",
                        "limits.ip-connect-rate",
                        "100000",
                        "limits.ip-connect-burst",
                        "100000")))
                .transport(Transport.nio())
                .build()
                .start();
        String url = "https://127.0.0.1:" + relay.address().getPort();
        String fingerprint = relay.tlsFingerprint();
        Path aliceYaml = tmp.resolve("alice.yaml");
        Files.writeString(
                aliceYaml,
                "relay:\n  url: " + url + "\n  fingerprint: " + fingerprint + "\n"
                        + "fleet-ca: [" + caCert + "]\n"
                        + "expose:\n  - {name: web, target: 127.0.0.1:"
                        + targets.web.getAddress().getPort() + ", allow: [name:bob]}\n");
        bobPort = AgentE2eTest.freePort();
        davePort = AgentE2eTest.freePort();
        Map<String, String> env = Map.of("BURROW_DIRECT", "off");
        processes.add(BurrowProcess.start(
                "names-e2e-alice",
                env,
                "agent",
                "--config",
                aliceYaml.toString(),
                "--state",
                tmp.resolve("alice").toString(),
                "--transport",
                "nio"));
        processes.add(BurrowProcess.start(
                "names-e2e-bob",
                env,
                "connect",
                "alice/web",
                String.valueOf(bobPort),
                "--fleet-ca",
                caCert.toString(),
                "--relay",
                url,
                "--relay-fingerprint",
                fingerprint,
                "--state",
                tmp.resolve("bob").toString()));
        processes.add(BurrowProcess.start(
                "names-e2e-dave",
                env,
                "connect",
                "nobody/web",
                String.valueOf(davePort),
                "--fleet-ca",
                caCert.toString(),
                "--relay",
                url,
                "--relay-fingerprint",
                fingerprint,
                "--state",
                tmp.resolve("dave").toString()));
        for (String who : List.of("alice", "bob", "dave")) {
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
    }

    boolean ready(String who) {
        try {
            return ControlApiClient.forStateDir(tmp.resolve(who)).ready().status() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    AgentStatus status(String who) throws IOException {
        return ControlApiClient.forStateDir(tmp.resolve(who)).status();
    }

    @AfterAll
    void stop() throws Exception {
        for (BurrowProcess p : processes) {
            p.close();
        }
        if (relay != null) {
            relay.close();
        }
        if (targets != null) {
            targets.close();
        }
    }

    @Test
    void aNameReachesItsNodeAndAnUnknownNameIsRefusedWithTheReason() throws Exception {
        // alice connected moments ago: the relay knows her name from her verified certificate.
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(AgentE2eTest.get(bobPort)).isEqualTo(TestTargets.WEB_BODY));
        assertThat(status("bob").forwards().get(0).peer()).isEqualTo("alice");

        try (Socket s = AgentE2eTest.connect(davePort)) {
            assertThat(AgentE2eTest.readToEnd(s)).isIn("", "<reset>");
        }
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(status("dave").recentRefusals()).anySatisfy(r -> {
                    assertThat(r.code()).isEqualTo("PEER_NOT_FOUND");
                    assertThat(r.message()).contains("no node named nobody is connected to the relay");
                }));
        assertThat(status("dave").forwards().get(0).lastError()).contains("no node named nobody");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> processes.get(2).logText().contains("no node named nobody is connected to the relay"));
    }
}
