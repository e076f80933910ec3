package dev.burrow.fleet;

import static dev.burrow.fleet.FleetProcesses.meshEvent;
import static dev.burrow.fleet.FleetProcesses.meshLinks;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientConfig;
import dev.burrow.agent.relay.RelayClientListener;
import dev.burrow.agent.relay.RelayTrust;
import dev.burrow.agent.relay.SendResult;
import dev.burrow.fleet.FleetProcesses.Relay;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.transport.Transport;
import io.netty.buffer.Unpooled;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three relays as separate processes on loopback, meshed through a static peer list (each list names
 * the relay itself too, as a Kubernetes headless Service does): agents on different relays exchange
 * datagrams and forwarded connections; wrong and truncated mesh keys and self-mesh are refused with a
 * counter moving; a relay killed with SIGKILL has its routes dropped (PEER_GONE) while the others
 * keep working.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MeshFleetTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    Path tmp;
    FleetProcesses fleet;
    final List<Relay> relays = new ArrayList<>();
    final List<RelayClient> clients = new ArrayList<>();
    FleetProcesses.Echo echo;

    @BeforeAll
    void startFleet() throws Exception {
        tmp = Files.createTempDirectory("burrow-fleet-");
        fleet = new FleetProcesses(tmp);
        echo = new FleetProcesses.Echo();
        Path key = fleet.keyFile("mesh.key", FleetProcesses.KEY);
        relays.addAll(fleet.withPorts(3, ports -> {
            String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
            List<Relay> started = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                started.add(fleet.relay("fleet-relay-" + i, ports[i], peers, key));
            }
            return started;
        }));
    }

    @AfterAll
    void stopFleet() throws Exception {
        clients.forEach(RelayClient::close);
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

    record Agent(NodeIdentity id, RelayClient client, BlockingQueue<String> datagrams, BlockingQueue<NodeKey> gone) {}

    Agent agent(String name, Relay relay) throws Exception {
        NodeIdentity id = NodeIdentity.ephemeral(name);
        RelayClient c = new RelayClient(
                RelayClientConfig.builder(URI.create(relay.url()), RelayTrust.pinned(relay.fingerprint()), id)
                        .transport(Transport.nio())
                        .build());
        BlockingQueue<String> datagrams = new LinkedBlockingQueue<>();
        BlockingQueue<NodeKey> gone = new LinkedBlockingQueue<>();
        c.setDatagramHandler(
                (source, payload) -> datagrams.add(source.shortId() + ":" + payload.toString(StandardCharsets.UTF_8)));
        c.addListener(new RelayClientListener() {
            @Override
            public void peerGone(NodeKey peer, PeerGoneReason reason) {
                if (reason == PeerGoneReason.DISCONNECTED) {
                    gone.add(peer);
                }
            }
        });
        clients.add(c);
        c.start();
        c.whenConnected().get(60, TimeUnit.SECONDS);
        return new Agent(id, c, datagrams, gone);
    }

    /** Sends until it arrives: presence travels the mesh asynchronously (routes appear within a moment). */
    static void deliver(Agent from, Agent to, String text) {
        String expected = from.id().nodeKey().shortId() + ":" + text;
        await(text).atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
            SendResult r = from.client().send(to.id().nodeKey(), Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
            String got = to.datagrams().poll(200, TimeUnit.MILLISECONDS);
            return r.accepted() && expected.equals(got);
        });
    }

    @Test
    @Order(1)
    void relaysMeshAndEachHungUpOnItself() {
        for (Relay r : relays) {
            await(r.name() + " meshed")
                    .atMost(WAIT)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> meshLinks(r) == 2 && meshEvent(r, "self_mesh") >= 1);
        }
    }

    @Test
    @Order(2)
    void agentsOnDifferentRelaysExchangeDatagrams() throws Exception {
        Agent alice = agent("alice", relays.get(0));
        Agent bob = agent("bob", relays.get(1));
        Agent carol = agent("carol", relays.get(2));
        deliver(alice, bob, "hello bob");
        deliver(bob, alice, "hello alice");
        deliver(carol, alice, "from carol");
        deliver(alice, carol, "to carol");
        assertThat(meshEvent(relays.get(1), "datagram_delivered")).isGreaterThanOrEqualTo(1);
    }

    int forwardPort;

    @Test
    @Order(3)
    void forwardedConnectionsCrossRelays() throws Exception {
        NodeIdentity dave = NodeIdentity.loadOrCreate(tmp.resolve("dave"), "dave", Clock.systemUTC());
        NodeIdentity erin = NodeIdentity.loadOrCreate(tmp.resolve("erin"), "erin", Clock.systemUTC());
        Relay r2 = relays.get(2);
        Relay r0 = relays.get(0);
        fleet.start(
                "fleet-erin",
                Map.of("BURROW_DIRECT", "off"),
                "expose",
                "echo",
                "127.0.0.1:" + echo.port(),
                "--allow",
                "node:" + dave.nodeKey().nodeId(),
                "--relay",
                r2.url(),
                "--relay-fingerprint",
                r2.fingerprint(),
                "--state",
                tmp.resolve("erin").toString());
        forwardPort = FleetProcesses.freePort();
        fleet.start(
                "fleet-dave",
                Map.of("BURROW_DIRECT", "off"),
                "connect",
                erin.nodeKey().nodeId() + "/echo",
                String.valueOf(forwardPort),
                "--relay",
                r0.url(),
                "--relay-fingerprint",
                r0.fingerprint(),
                "--state",
                tmp.resolve("dave").toString());
        await("forward through relay 0 -> relay 2")
                .atMost(FleetProcesses.STARTUP)
                .pollInterval(Duration.ofMillis(500))
                .ignoreExceptions()
                .until(() -> "ping across relays".equals(FleetProcesses.roundTrip(forwardPort, "ping across relays")));
        for (int i = 0; i < 5; i++) {
            assertThat(FleetProcesses.roundTrip(forwardPort, "again " + i)).isEqualTo("again " + i);
        }
        assertThat(meshEvent(r0, "circuit_bridged")).isGreaterThanOrEqualTo(1);

        // bulk both ways through relay 0 -> relay 2 on a pooled plain mesh circuit connection
        double bindRefusedBefore = meshEvent(r2, "circuit_bind_refused");
        await("relay 0's circuit pool to relay 2 in use")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(500))
                .ignoreExceptions()
                .until(() -> {
                    FleetProcesses.roundTrip(forwardPort, "warm");
                    return meshEvent(r0, "circuit_pool_taken") >= 1;
                });
        byte[] sent = new byte[16 * 1024 * 1024];
        new java.util.Random(16).nextBytes(sent);
        assertThat(sha256(bulkEcho(forwardPort, sent)))
                .as("16 MiB through two relays and back, by SHA-256")
                .isEqualTo(sha256(sent));
        assertThat(meshEvent(r2, "circuit_bind_refused")).isEqualTo(bindRefusedBefore);
    }

    static byte[] sha256(byte[] b) throws Exception {
        return java.security.MessageDigest.getInstance("SHA-256").digest(b);
    }

    /** Writes {@code data} to the forward from another thread while reading the echo back; closes after. */
    static byte[] bulkEcho(int port, byte[] data) throws Exception {
        try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(30_000);
            Thread writer = new Thread(
                    () -> {
                        try {
                            var out = s.getOutputStream();
                            for (int off = 0; off < data.length; off += 64 * 1024) {
                                out.write(data, off, Math.min(64 * 1024, data.length - off));
                            }
                            out.flush();
                        } catch (java.io.IOException ignored) {
                            // the read side reports the shortfall
                        }
                    },
                    "bulk-writer");
            writer.setDaemon(true);
            writer.start();
            byte[] back = new byte[data.length];
            int off = 0;
            var in = s.getInputStream();
            while (off < back.length) {
                int n = in.read(back, off, back.length - off);
                if (n < 0) {
                    break;
                }
                off += n;
            }
            writer.join(30_000);
            return java.util.Arrays.copyOf(back, off);
        }
    }

    @Test
    @Order(4)
    void wrongAndTruncatedKeysAreRefusedWithACounter() throws Exception {
        Relay r0 = relays.get(0);
        double before = meshEvent(r0, "auth_failed");
        Path truncatedKey = fleet.keyFile("truncated.key", FleetProcesses.KEY.substring(1));
        Relay truncated = fleet.withPorts(
                1, ports -> fleet.relay("fleet-truncated", ports[0], "127.0.0.1:" + r0.port(), truncatedKey));
        int truncatedPort = truncated.port();
        assertThat(truncated.process().logText())
                .contains("event=mesh_disabled")
                .doesNotContain(FleetProcesses.KEY.substring(1, 20));
        Path wrongKey = fleet.keyFile("wrong.key", FleetProcesses.KEY.replace('6', '7'));
        Relay wrong = fleet.withPorts(
                1,
                ports -> fleet.relay(
                        "fleet-wrong", ports[0], "127.0.0.1:" + r0.port() + ",127.0.0.1:" + truncatedPort, wrongKey));
        await("auth failures counted")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(500))
                .until(() -> meshEvent(r0, "auth_failed") > before
                        && meshEvent(wrong, "auth_failed") >= 1
                        && meshEvent(truncated, "disabled") >= 1);
        assertThat(meshLinks(wrong)).isZero();
        assertThat(meshLinks(r0)).isEqualTo(2);
        for (Relay r : List.of(r0, wrong, truncated)) {
            assertThat(r.process().logText()).doesNotContain(FleetProcesses.KEY.substring(0, 20));
        }
        wrong.process().close();
        truncated.process().close();
    }

    @Test
    @Order(5)
    void aKilledRelaysRoutesAreDroppedAndTheOthersKeepWorking() throws Exception {
        Agent frank = agent("frank", relays.get(0));
        Agent gina = agent("gina", relays.get(1));
        Agent hank = agent("hank", relays.get(2));
        deliver(frank, gina, "before"); // frank now watches gina
        relays.get(1).process().process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        NodeKey gone = frank.gone().poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(gone).isEqualTo(gina.id().nodeKey());
        await("links to the dead relay dropped")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(500))
                .until(() -> meshLinks(relays.get(0)) == 1 && meshLinks(relays.get(2)) == 1);
        deliver(frank, hank, "still working");
        assertThat(FleetProcesses.roundTrip(forwardPort, "after the kill")).isEqualTo("after the kill");
    }
}
