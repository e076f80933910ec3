package dev.burrow.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.e2e.BurrowProcess;
import dev.burrow.fault.EchoTarget;
import dev.burrow.fault.Transfer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * kill -9 of each process mid-transfer with streams on the direct path and on the relay at once
 * ({@code fault.KillNineFaultTest} covers the relay path alone, on each transport). bob reaches
 * alice directly, dave over the relay. For each kill: every transfer completes intact or fails
 * cleanly (a reset, or EOF after an intact prefix; never a hang, never wrong bytes); transfers that
 * do not pass through the killed process complete; the killed process comes back and new streams
 * work on both paths (bob's direct again); the surviving processes return to their file descriptor
 * and thread counts; no process logged a Netty leak report.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProcessKillE2eTest {
    /** Large enough that no transfer through the victim finishes before the kill. */
    static final long THROUGH_VICTIM = 1L << 30;
    /** Transfers that do not touch the victim: they must complete. */
    static final long ELSEWHERE = 32L << 20;

    static final long FD_SLACK = 24;
    static final long THREAD_SLACK = 12;

    EchoTarget echo;
    Cluster c;
    int seed;

    @BeforeAll
    void start() throws Exception {
        echo = new EchoTarget();
        c = Cluster.standard("kill", Map.of("echo", "target: 127.0.0.1:" + echo.port()), List.of("echo"), true);
        c.awaitDirect(bob(), alice(), directPort());
        Cluster.awaitTransferWorks(relayPort());
    }

    @AfterAll
    void stop() throws IOException {
        if (c != null) {
            c.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    @AfterEach
    void noLeakReports() {
        c.assertNoLeakReports();
    }

    Cluster.Agent alice() {
        return c.agent("alice");
    }

    Cluster.Agent bob() {
        return c.agent("bob");
    }

    Cluster.Agent dave() {
        return c.agent("dave");
    }

    int directPort() {
        return c.forwardPort(bob(), "echo");
    }

    int relayPort() {
        return c.forwardPort(dave(), "echo");
    }

    @Test
    @Order(1)
    void killingTheDialingAgentOfTheDirectPathLeavesTheRelayedPeerUntouched() throws Exception {
        List<Streams.Counts> before = warmAndCount(c.relay, alice().process, dave().process);
        List<Transfer.Outcome>[] out = killDuring(bob().process, directPort(), THROUGH_VICTIM, relayPort(), ELSEWHERE);
        assertThat(out[0]).allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.FAILED_CLEANLY));
        assertThat(out[1]).allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.COMPLETE));
        bob().start();
        c.awaitReady(bob());
        c.awaitDirect(bob(), alice(), directPort());
        settle(before);
    }

    @Test
    @Order(2)
    void killingTheExposingAgentEndsStreamsOnBothPathsCleanly() throws Exception {
        List<Streams.Counts> before = warmAndCount(c.relay, bob().process, dave().process);
        List<Transfer.Outcome>[] out =
                killDuring(alice().process, directPort(), THROUGH_VICTIM, relayPort(), THROUGH_VICTIM);
        assertThat(out[0]).allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.FAILED_CLEANLY));
        assertThat(out[1]).allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.FAILED_CLEANLY));
        alice().start();
        c.awaitReady(alice());
        c.awaitDirect(bob(), alice(), directPort());
        settle(before);
    }

    @Test
    @Order(3)
    void killingTheRelayEndsRelayedStreamsCleanlyAndAgentsComeBack() throws Exception {
        List<Streams.Counts> before = warmAndCount(alice().process, bob().process, dave().process);
        List<Transfer.Outcome>[] out = killDuring(c.relay, relayPort(), THROUGH_VICTIM, directPort(), ELSEWHERE);
        assertThat(out[0]).allSatisfy(o -> assertThat(o.kind()).isEqualTo(Transfer.Kind.FAILED_CLEANLY));
        // the direct path does not pass through the relay: its streams complete (or, at worst, end cleanly)
        assertThat(out[1]).allSatisfy(o -> assertThat(o.kind()).isIn(Transfer.Kind.COMPLETE));
        c.startRelay();
        for (Cluster.Agent a : List.of(alice(), bob(), dave())) {
            c.awaitReady(a);
        }
        settle(before);
        c.awaitDirect(bob(), alice(), directPort());
    }

    /**
     * Starts 2 transfers of {@code bytesA} on {@code portA} and 2 of {@code bytesB} on {@code portB},
     * kills {@code victim} once each has moved 2 MiB, and returns their outcomes (A, then B); every
     * outcome is complete or failed cleanly.
     */
    @SuppressWarnings("unchecked")
    List<Transfer.Outcome>[] killDuring(BurrowProcess victim, int portA, long bytesA, int portB, long bytesB)
            throws Exception {
        try (Streams a = new Streams();
                Streams b = new Streams()) {
            a.start(portA, 2, bytesA, 1000L * ++seed);
            b.start(portB, 2, bytesB, 1000L * seed + 500);
            a.awaitFlowing(2L << 20);
            b.awaitFlowing(Math.min(bytesB, 2L << 20));
            victim.kill9();
            List<Transfer.Outcome> oa = a.outcomes();
            List<Transfer.Outcome> ob = b.outcomes();
            System.out.printf("kill -9 %s: %s%n    %s%n", victim.name, oa, ob);
            List<Transfer.Outcome> every = new ArrayList<>(oa);
            every.addAll(ob);
            if (every.stream().anyMatch(o -> o.detail().startsWith("java.io.EOFException"))) {
                // EOF rather than a reset: a FIN, or a reset whose error the client's writer thread took
                // first (Linux reports it once; the reader then sees EOF). How each agent counted it:
                System.out.println(
                        "a transfer ended with EOF after kill -9 of " + victim.name + "\n" + c.diagnostics());
            }
            assertThat(every)
                    .as("after kill -9 of %s", victim.name)
                    .allSatisfy(o -> assertThat(o.kind()).isIn(Transfer.Kind.COMPLETE, Transfer.Kind.FAILED_CLEANLY));
            return new List[] {oa, ob};
        }
    }

    /** A few transfers on both paths (so lazily made threads and pooled resources exist), then the counts. */
    List<Streams.Counts> warmAndCount(BurrowProcess... survivors) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            assertThat(new Transfer(directPort(), 1L << 20, 90 + i).run().kind())
                    .isEqualTo(Transfer.Kind.COMPLETE);
            assertThat(new Transfer(relayPort(), 1L << 20, 95 + i).run().kind()).isEqualTo(Transfer.Kind.COMPLETE);
        }
        Thread.sleep(500);
        List<Streams.Counts> counts = new ArrayList<>();
        for (BurrowProcess p : survivors) {
            counts.add(Streams.Counts.of(p));
        }
        return counts;
    }

    /** GC everywhere (leak reports), new transfers on both paths, then the survivors' counts. */
    void settle(List<Streams.Counts> before) {
        for (BurrowProcess p : c.all) {
            Streams.gc(p);
        }
        Cluster.awaitTransferWorks(relayPort());
        Cluster.awaitTransferWorks(directPort());
        for (Streams.Counts b : before) {
            b.assertSettled(FD_SLACK, THREAD_SLACK);
        }
    }
}
