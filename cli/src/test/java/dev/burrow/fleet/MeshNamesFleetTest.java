package dev.burrow.fleet;

import static dev.burrow.fleet.FleetProcesses.meshEvent;
import static dev.burrow.fleet.FleetProcesses.meshLinks;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.e2e.BurrowProcess;
import dev.burrow.fleet.FleetProcesses.Relay;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.ca.FleetCa;
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
 * {@code burrow connect NAME/service} across the relay mesh, with real processes: two meshed relays
 * trusting one fleet CA, alice (CA-issued certificate) exposing an echo service on relay 1, bob
 * dialling {@code alice/echo} through relay 0. Relay 0 only knows alice's name because relay 1
 * announced it over the mesh; the circuit then crosses the mesh, and bob's agent still checks that
 * the certificate it reaches is CA-issued and named alice.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshNamesFleetTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    Path tmp;
    FleetProcesses fleet;
    FleetProcesses.Echo echo;
    final List<Relay> relays = new ArrayList<>();
    int bobPort;

    @BeforeAll
    void start() throws Exception {
        tmp = Files.createTempDirectory("burrow-fleet-names-");
        fleet = new FleetProcesses(tmp);
        echo = new FleetProcesses.Echo();
        FleetCa ca = FleetCa.init(tmp.resolve("ca"), "fleet", Clock.systemUTC());
        Path caCert = tmp.resolve("ca").resolve(FleetCa.CERT_FILE);
        for (String who : List.of("alice", "bob")) {
            NodeIdentity id = NodeIdentity.loadOrCreate(tmp.resolve(who), who, Clock.systemUTC());
            X509Certificate cert = ca.issue(id.nodeKey(), who, Set.of(), Duration.ofDays(1));
            id.installCertificate(ca.chainFor(cert));
        }
        Path key = fleet.keyFile("mesh.key", FleetProcesses.KEY);
        relays.addAll(fleet.withPorts(2, ports -> {
            String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
            List<Relay> started = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                started.add(fleet.relay(
                        "names-relay-" + i, ports[i], peers, key, "--auth-mode", "ca", "--ca", caCert.toString()));
            }
            return started;
        }));
        for (Relay r : relays) {
            await(r.name() + " meshed")
                    .atMost(WAIT)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> meshLinks(r) == 1);
        }
        Relay r0 = relays.get(0);
        Relay r1 = relays.get(1);
        Path aliceYaml = tmp.resolve("alice.yaml");
        Files.writeString(
                aliceYaml,
                "relay:\n  url: " + r1.url() + "\n  fingerprint: " + r1.fingerprint() + "\n"
                        + "fleet-ca: [" + caCert + "]\n"
                        + "expose:\n  - {name: echo, target: 127.0.0.1:" + echo.port() + ", allow: [name:bob]}\n");
        Map<String, String> env = Map.of("BURROW_DIRECT", "off");
        fleet.start(
                "names-alice",
                env,
                "agent",
                "--config",
                aliceYaml.toString(),
                "--state",
                tmp.resolve("alice").toString(),
                "--transport",
                "nio");
        bobPort = FleetProcesses.freePort();
        fleet.start(
                "names-bob",
                env,
                "connect",
                "alice/echo",
                String.valueOf(bobPort),
                "--fleet-ca",
                caCert.toString(),
                "--relay",
                r0.url(),
                "--relay-fingerprint",
                r0.fingerprint(),
                "--state",
                tmp.resolve("bob").toString());
    }

    @AfterAll
    void stop() throws Exception {
        if (fleet != null) {
            fleet.close();
        }
        if (echo != null) {
            echo.close();
        }
        if (tmp != null) {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void agentsOnDifferentRelaysConnectByName() throws Exception {
        await("bob reaches alice/echo through relay 0 -> relay 1")
                .atMost(FleetProcesses.STARTUP)
                .pollInterval(Duration.ofMillis(500))
                .ignoreExceptions()
                .until(() -> {
                    for (BurrowProcess p : fleet.processes) {
                        if (!p.isAlive()) {
                            throw new AssertionError(p.name + " exited: " + p.logText());
                        }
                    }
                    return "hello by name".equals(FleetProcesses.roundTrip(bobPort, "hello by name"));
                });
        for (int i = 0; i < 5; i++) {
            assertThat(FleetProcesses.roundTrip(bobPort, "again " + i)).isEqualTo("again " + i);
        }
        // relay 0 learned the name from relay 1 and bridged the circuit; alice is not its client
        assertThat(meshEvent(relays.get(0), "names_received")).isGreaterThanOrEqualTo(1);
        assertThat(meshEvent(relays.get(0), "circuit_bridged")).isGreaterThanOrEqualTo(1);
        assertThat(FleetProcesses.sample(relays.get(0), "burrow_relay_name_lookups_total{outcome=\"found\""))
                .isGreaterThanOrEqualTo(1);
    }
}
