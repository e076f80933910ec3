package dev.burrow.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.fault.EchoTarget;
import dev.burrow.fault.Transfer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The relay restarts (SIGTERM, then a new process on the same port with the same certificate) while
 * streams run on the relay (dave) and on the direct path (bob), real processes on loopback. The
 * relayed streams end cleanly (complete or cut with an intact prefix, never a hang); the direct
 * streams do not pass through the relay and complete intact; after the relay is back, the agents
 * reconnect by themselves, bob is still on the direct path, and new streams work on both paths.
 * ({@code e2e.AgentE2eTest} restarts the relay with no stream running; {@code
 * fault.KillNineFaultTest} kills it -9 with relayed streams only.)
 */
class RelayRestartE2eTest {
    static final long RELAYED = 1L << 30;
    static final long DIRECT = 64L << 20;

    @Test
    void relayRestartEndsRelayedStreamsCleanlyDirectStreamsKeepRunningAndNewStreamsWork() throws Exception {
        try (EchoTarget echo = new EchoTarget();
                Cluster c = Cluster.standard(
                        "restart", Map.of("echo", "target: 127.0.0.1:" + echo.port()), List.of("echo"), true);
                Streams relayed = new Streams();
                Streams direct = new Streams()) {
            Cluster.Agent alice = c.agent("alice");
            Cluster.Agent bob = c.agent("bob");
            Cluster.Agent dave = c.agent("dave");
            int directPort = c.forwardPort(bob, "echo");
            int relayPort = c.forwardPort(dave, "echo");
            c.awaitDirect(bob, alice, directPort);
            Cluster.awaitTransferWorks(relayPort);

            relayed.start(relayPort, 2, RELAYED, 10).awaitFlowing(2L << 20);
            direct.start(directPort, 2, DIRECT, 20).awaitFlowing(1L << 20);
            c.relay.close(); // SIGTERM: the relay drains (1 s grace) and exits
            assertThat(c.relay.isAlive()).as("relay stopped").isFalse();
            await("dave notices the relay is gone")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> !dave.ready());

            List<Transfer.Outcome> relayedOut = relayed.outcomes();
            System.out.println("relayed streams across the restart: " + relayedOut);
            if (relayedOut.stream().anyMatch(o -> o.detail().startsWith("java.io.EOFException"))) {
                // a FIN, or a reset whose error the client's writer took first (then the reader sees EOF)
                System.out.println("a relayed stream ended with EOF\n" + c.diagnostics());
            }
            assertThat(relayedOut)
                    .allSatisfy(o -> assertThat(o.kind()).isIn(Transfer.Kind.COMPLETE, Transfer.Kind.FAILED_CLEANLY))
                    // 1 GiB cannot have finished before the stop
                    .allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.FAILED_CLEANLY));
            List<Transfer.Outcome> directOut = direct.outcomes();
            System.out.println("direct streams across the restart: " + directOut);
            assertThat(directOut)
                    .as("direct-path streams while the relay restarts")
                    .allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.COMPLETE));

            c.startRelay();
            for (Cluster.Agent a : List.of(alice, bob, dave)) {
                c.awaitReady(a);
            }
            Cluster.awaitTransferWorks(relayPort);
            Cluster.awaitTransferWorks(directPort);
            assertThat(dave.status().forwards().get(0).path()).isEqualTo("relay");
            c.awaitDirect(bob, alice, directPort);
            c.assertNoLeakReports();
        }
    }
}
