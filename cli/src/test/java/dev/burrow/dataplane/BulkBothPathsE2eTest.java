package dev.burrow.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.AgentStatus;
import dev.burrow.fault.EchoTarget;
import dev.burrow.fault.Transfer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * 1 GiB each way over the relay and 1 GiB each way over the direct path at the same time, between
 * real processes on loopback: bob reaches alice's echo service over the verified direct path (its
 * direct TCP session: on one host alice is reachable over TCP; QUIC bulk is covered in the NAT lab),
 * dave (direct paths off) over the relay; each transfer checks SHA-256 of everything that went out
 * against everything that came back. Which path carried which stream is read from the agents'
 * status while the streams run (both ends), and from each forward's last path afterwards.
 */
class BulkBothPathsE2eTest {
    static final long BYTES = 1L << 30;
    static final String DIRECT_SESSIONS_OPENED = "burrow_agent_direct_sessions_opened_total";

    @Test
    void oneGibibyteEachWayOverTheRelayAndTheDirectPathAtOnce() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (EchoTarget echo = new EchoTarget();
                Cluster c =
                        Cluster.standard("bulk", Map.of("echo", "target: 127.0.0.1:" + echo.port()), List.of("echo"))) {
            Cluster.Agent alice = c.agent("alice");
            Cluster.Agent bob = c.agent("bob");
            Cluster.Agent dave = c.agent("dave");
            int directPort = c.forwardPort(bob, "echo");
            int relayPort = c.forwardPort(dave, "echo");
            c.awaitDirect(bob, alice, directPort);
            // on one host alice is reachable over TCP too: bob's direct streams then ride a direct
            // TCP session (QUIC carries them only until it is up, and wherever TCP cannot connect)
            await("bob's direct TCP session to alice")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> bob.metric(DIRECT_SESSIONS_OPENED + "{role=\"dialer\"") >= 1
                            && alice.metric(DIRECT_SESSIONS_OPENED + "{role=\"listener\"") >= 1);
            Cluster.awaitTransferWorks(relayPort);

            Transfer direct = new Transfer(directPort, BYTES, 1);
            Transfer relayed = new Transfer(relayPort, BYTES, 2);
            Future<Transfer.Outcome> directResult = pool.submit(direct::run);
            Future<Transfer.Outcome> relayedResult = pool.submit(relayed::run);

            // while both run: each dialer's stream, and alice's two, on the path they should be on
            await("both streams carry bytes")
                    .atMost(Duration.ofSeconds(120))
                    .until(() -> direct.received() > 0 && relayed.received() > 0);
            assertThat(paths(bob.status())).containsExactly("direct");
            assertThat(paths(dave.status())).containsExactly("relay");
            AgentStatus aliceNow = alice.status();
            assertThat(aliceNow.connections())
                    .filteredOn(conn -> conn.peer().equals(bob.nodeId()))
                    .extracting(AgentStatus.ConnectionStatus::path)
                    .containsExactly("direct");
            assertThat(aliceNow.connections())
                    .filteredOn(conn -> conn.peer().equals(dave.nodeId()))
                    .extracting(AgentStatus.ConnectionStatus::path)
                    .containsExactly("relay");

            Transfer.Outcome d = directResult.get(15, TimeUnit.MINUTES);
            Transfer.Outcome r = relayedResult.get(15, TimeUnit.MINUTES);
            System.out.println("direct: " + d + "\nrelayed: " + r);
            if (d.kind() != Transfer.Kind.COMPLETE || r.kind() != Transfer.Kind.COMPLETE) {
                System.out.println(c.diagnostics());
            }
            assertThat(d.kind()).as("direct transfer %s", d).isEqualTo(Transfer.Kind.COMPLETE);
            assertThat(r.kind()).as("relayed transfer %s", r).isEqualTo(Transfer.Kind.COMPLETE);
            assertThat(d.received()).isEqualTo(BYTES);
            assertThat(r.received()).isEqualTo(BYTES);
            assertThat(bob.status().forwards().get(0).path()).isEqualTo("direct");
            assertThat(dave.status().forwards().get(0).path()).isEqualTo("relay");
            assertThat(dave.metric(DIRECT_SESSIONS_OPENED + "{role=\"dialer\"")).isZero();
            // the exposing agent counted at least the 2 GiB in and 2 GiB out of the two bulk streams
            assertThat(alice.metric("burrow_agent_stream_bytes_total{direction=\"inbound\",way=\"in\""))
                    .isGreaterThanOrEqualTo(2.0 * BYTES);
            c.assertNoLeakReports();
        } finally {
            pool.shutdownNow();
        }
    }

    static List<String> paths(AgentStatus s) {
        return s.connections().stream().map(AgentStatus.ConnectionStatus::path).toList();
    }
}
