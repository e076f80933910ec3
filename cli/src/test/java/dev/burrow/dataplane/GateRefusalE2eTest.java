package dev.burrow.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.fault.EchoTarget;
import dev.burrow.fault.Transfer;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The exposing agent's gate refuses a stream while other streams of the same peer keep flowing,
 * real processes on loopback, over the relay (dave) and over the direct path (bob): two bulk
 * transfers run on service "echo"; meanwhile a second connection to "capped" (max-connections 1,
 * one connection held open) and a connection to "secret" (allowed for nobody here) are refused. The
 * refused clients see a clean close (EOF or reset, never a hang, never an echo of their bytes), the
 * exposing agent's metrics count each refusal with its code and both agents' status show it, and the
 * bulk transfers finish with the right SHA-256.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GateRefusalE2eTest {
    static final long BULK = 64L << 20;
    static final int REFUSED_READ_TIMEOUT_MS = 30_000;

    EchoTarget echo;
    Cluster c;

    @BeforeAll
    void start() throws Exception {
        echo = new EchoTarget();
        String target = "target: 127.0.0.1:" + echo.port();
        c = Cluster.standard(
                "gate",
                Map.of(
                        "echo", target,
                        "capped", target + ", max-connections: 1",
                        "secret", target + ", allow: [name:carol]"),
                List.of("echo", "capped", "secret"));
        c.awaitDirect(c.agent("bob"), c.agent("alice"), c.forwardPort(c.agent("bob"), "echo"));
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

    @ParameterizedTest
    @ValueSource(strings = {"relay", "direct"})
    void refusedStreamsCloseCleanlyWhileTheSamePeersOtherStreamsContinue(String path) throws Exception {
        Cluster.Agent alice = c.agent("alice");
        Cluster.Agent dialer = c.agent(path.equals("direct") ? "bob" : "dave");
        String limitLine = "burrow_agent_streams_refused_total{code=\"limit_reached\",direction=\"inbound\"";
        String notAllowedLine = "burrow_agent_streams_refused_total{code=\"not_allowed\",direction=\"inbound\"";
        double limitBefore = alice.metric(limitLine);
        double notAllowedBefore = alice.metric(notAllowedLine);
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Socket held = new Socket("127.0.0.1", c.forwardPort(dialer, "capped"))) {
            List<Transfer> bulk = new ArrayList<>();
            List<Future<Transfer.Outcome>> outcomes = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Transfer t = new Transfer(c.forwardPort(dialer, "echo"), BULK, 100 + i);
                bulk.add(t);
                outcomes.add(pool.submit(t::run));
            }
            // the one connection "capped" admits, proven open by its echo
            held.setSoTimeout(60_000);
            held.getOutputStream().write("held".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(held.getInputStream().readNBytes(4), StandardCharsets.US_ASCII))
                    .isEqualTo("held");
            await("the bulk transfers carry bytes")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> bulk.stream().allMatch(t -> t.received() > 0));

            assertThat(refusedClientSees(c.forwardPort(dialer, "capped")))
                    .as("a connection over the cap")
                    .isIn("EOF", "reset");
            assertThat(refusedClientSees(c.forwardPort(dialer, "secret")))
                    .as("a connection to a service not allowed for this peer")
                    .isIn("EOF", "reset");

            // the held connection still works, and the bulk transfers finish intact
            held.getOutputStream().write("still".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(held.getInputStream().readNBytes(5), StandardCharsets.US_ASCII))
                    .isEqualTo("still");
            for (Future<Transfer.Outcome> f : outcomes) {
                Transfer.Outcome o = f.get(10, TimeUnit.MINUTES);
                assertThat(o.kind()).as("bulk transfer %s", o).isEqualTo(Transfer.Kind.COMPLETE);
            }
        } finally {
            pool.shutdownNow();
        }
        await("alice counts both refusals with their codes")
                .atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> {
                    assertThat(alice.metric(limitLine)).isGreaterThanOrEqualTo(limitBefore + 1);
                    assertThat(alice.metric(notAllowedLine)).isGreaterThanOrEqualTo(notAllowedBefore + 1);
                });
        assertThat(alice.status().recentRefusals())
                .filteredOn(r -> r.peer().equals(dialer.nodeId()))
                .anySatisfy(r -> {
                    assertThat(r.service()).isEqualTo("capped");
                    assertThat(r.code()).isEqualTo("LIMIT_REACHED");
                })
                .anySatisfy(r -> {
                    assertThat(r.service()).isEqualTo("secret");
                    assertThat(r.code()).isEqualTo("NOT_ALLOWED");
                });
        await("the dialer's status shows the refusals")
                .atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(dialer.status().recentRefusals())
                        .extracting(r -> r.code())
                        .contains("LIMIT_REACHED", "NOT_ALLOWED"));
        c.assertNoLeakReports();
    }

    /**
     * Connects, sends a few bytes, and reports how the connection ended: "EOF" (nothing echoed),
     * "reset", or what else happened (bytes echoed through a refused stream, or a hang).
     */
    static String refusedClientSees(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(REFUSED_READ_TIMEOUT_MS);
            try {
                s.getOutputStream().write("must not reach the target".getBytes(StandardCharsets.US_ASCII));
            } catch (SocketException e) {
                return "reset";
            }
            try {
                int b = s.getInputStream().read();
                return b == -1 ? "EOF" : "a byte came back: " + b;
            } catch (SocketTimeoutException e) {
                return "no close within " + REFUSED_READ_TIMEOUT_MS + " ms";
            } catch (SocketException e) {
                return "reset";
            }
        }
    }
}
