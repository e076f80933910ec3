package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.netlab.Host;
import dev.burrow.netlab.Impairment;
import dev.burrow.netlab.LabCapabilities;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.NetLabSupport;
import dev.burrow.netlab.PublicHost;
import dev.burrow.netlab.RequiresNetLab;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Direct paths behind real kernel NATs (issue 5, lab cases 1-5). Each case: a relay with STUN in
 * public, agent a exposing a data source, agent b forwarding a port to it; the first connection goes
 * through the relay and starts hole punching; the test then asserts which path new connections take
 * (b's status: the peer's path and the forward's last path) and that every transfer arrived intact.
 */
@RequiresNetLab
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DirectPathNatTest {
    static final long SMALL = 1 << 20;
    static final Duration DIRECT_WITHIN = Duration.ofSeconds(30);
    /** Long enough for punching (5 s) and a retry to have failed. */
    static final Duration NO_DIRECT_AFTER = Duration.ofSeconds(12);

    private static void expectDirect(DirectLab d, Host b) {
        d.fetchIntact(b, SMALL); // first connection: relay, and it asks for a direct path
        await().atMost(DIRECT_WITHIN).pollInterval(Duration.ofSeconds(1)).until(() -> "direct".equals(d.peerPath(b)));
        JsonNode peer = d.peer(b);
        assertThat(peer.path("endpoint").asText()).isNotBlank();
        assertThat(peer.path("rttMillis").isNumber()).isTrue();
        d.fetchIntact(b, SMALL);
        assertThat(d.lastForwardPath(b)).isEqualTo("direct");
    }

    private static void expectRelay(DirectLab d, Host b) throws InterruptedException {
        d.fetchIntact(b, SMALL);
        Thread.sleep(NO_DIRECT_AFTER.toMillis());
        assertThat(d.peerPath(b)).isEqualTo("relay");
        d.fetchIntact(b, SMALL);
        assertThat(d.lastForwardPath(b)).isEqualTo("relay");
    }

    /** Case 1: both behind endpoint-independent-mapping NATs (plain masquerade). */
    @Test
    void bothBehindEimNatsGoDirect() {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            d.startAgents(a, b, SMALL, 0);
            expectDirect(d, b);
        }
    }

    /** Case 1 with impairment: 20 ms each way on a's link (delay box or netem) and 2 % loss on b's NAT. */
    @Test
    void bothBehindEimNatsGoDirectWithDelayAndLoss() {
        NetLabSupport.requireFeature(LabCapabilities.get().delay(), "delay needs netem or socat + /dev/net/tun", true);
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            a.impair(Impairment.delay(Duration.ofMillis(20)));
            b.router().impairWan(Impairment.loss(2));
            d.startAgents(a, b, SMALL, 0);
            expectDirect(d, b);
        }
    }

    /** Case 2: a has a public address, b is behind a NAT. */
    @Test
    void publicHostAndNattedHostGoDirect() {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            PublicHost a = lab.addPublicHost("a");
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            d.startAgents(a, b, SMALL, 0);
            expectDirect(d, b);
        }
    }

    /** Case 3: both behind symmetric NATs (a new mapping per destination): relay, and it works. */
    @Test
    void bothBehindSymmetricNatsUseTheRelay() throws Exception {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC);
            d.startAgents(a, b, SMALL, 0);
            expectRelay(d, b);
        }
    }

    /** Case 4: a's NAT drops all UDP: the relay over TCP carries everything. */
    @Test
    void udpBlockedUsesTheRelayOverTcp() throws Exception {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.UDP_BLOCKED);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            d.startAgents(a, b, SMALL, 0);
            expectRelay(d, b);
            // a's NAT_INFO (through the relay) said its STUN servers got no answer (between punch
            // windows the reason is just that; during a retry's window it follows "punching ...; ")
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> d.peer(b).path("reason").asText().contains("UDP blocked at the peer"));
            assertThat(d.peer(b).path("reason").asText()).startsWith("relay: ");
        }
    }

    /**
     * Case 5: UDP dropped after the direct path was established, during a paced transfer: new
     * connections fall back to the relay within seconds, the direct path comes back once UDP is
     * restored, and the transfer that was running is not corrupted (QUIC carries it on when the
     * path returns within its idle timeout).
     */
    @Test
    void brokenDirectPathFallsBackAndRecovers() throws Exception {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            long paced = 6L << 20;
            d.startAgents(a, b, paced, 512 * 1024); // about 12 s per transfer
            d.fetchIntact(b, paced);
            await().atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));

            var running = b.startJava(
                    "slow-fetch", NatTestFetch.class.getName(), "127.0.0.1:" + DirectLab.FORWARD_PORT, "60");
            Thread.sleep(4000);
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
            a.router().setBehaviour(NatBehaviour.UDP_BLOCKED);
            await().atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> "relay".equals(d.peerPath(b)));
            long lostAt = System.nanoTime();
            d.fetchIntact(b, paced);
            assertThat(d.lastForwardPath(b)).isEqualTo("relay");
            a.router().setBehaviour(NatBehaviour.EIM);
            await().atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));
            System.out.printf(
                    "direct path back %.1f s after it was declared lost%n", (System.nanoTime() - lostAt) / 1e9);
            int exit = running.waitFor(Duration.ofSeconds(90));
            String out = running.output();
            if (exit == 0) {
                assertThat(out)
                        .contains("FETCHED " + paced + " " + DirectLab.sha(NatTestSource.data(paced, DirectLab.SEED)));
            } else {
                // a reset is acceptable, a silent truncation or a wrong byte is not
                assertThat(out).contains("FAILED");
            }
            d.fetchIntact(b, paced);
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
        }
    }
}
