package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.RequiresNetLab;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hard-NAT spraying (issue 16 item 2) behind real kernel NATs: a symmetric NAT (address-and-port-
 * dependent mapping, {@code masquerade random}) against a port-restricted cone (EIM) goes direct once
 * plain punching failed and the spray met a mapping; two symmetric NATs stay relayed and say why.
 * Both agents ask two STUN servers (the relay's and a second one), so each knows its NAT's mapping.
 */
@RequiresNetLab
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SprayNatTest {
    static final long SMALL = 1 << 20;
    /** Punching (5 s) fails, then the spray (about a second, 8 s at most) and the QUIC handshake. */
    static final Duration DIRECT_WITHIN = Duration.ofSeconds(40);

    private static void expectSprayedDirect(NatBehaviour aNat, NatBehaviour bNat) {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab).withSecondStun();
            LanHost a = lab.addHostBehindNat("a", aNat);
            LanHost b = lab.addHostBehindNat("b", bNat);
            d.startAgents(a, b, SMALL, 0);
            d.fetchIntact(b, SMALL); // through the relay or direct, intact either way
            await().atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));
            JsonNode peer = d.peer(b);
            assertThat(peer.path("reason").asText()).as("%s", peer).startsWith("direct: sprayed via 203.0.113.");
            d.fetchIntact(b, SMALL);
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
            JsonNode spray = d.status(b, d.stateB).path("direct").path("spray");
            assertThat(spray.path("packets").asLong()).as("%s", spray).isPositive();
            assertThat(spray.path("outcomes").path("succeeded").asLong())
                    .as("%s", spray)
                    .isEqualTo(1);
        }
    }

    /** The exposing side behind the symmetric NAT: it opens the sockets, the dialer probes ports. */
    @Test
    void symmetricAgainstEimGoesDirectBySpraying() {
        expectSprayedDirect(NatBehaviour.SYMMETRIC, NatBehaviour.EIM);
    }

    /** The dialing side behind the symmetric NAT. */
    @Test
    void eimAgainstSymmetricGoesDirectBySpraying() {
        expectSprayedDirect(NatBehaviour.EIM, NatBehaviour.SYMMETRIC);
    }

    /** Both symmetric: no spray can work (neither side's ports are knowable), relay, and the status says so. */
    @Test
    void bothSymmetricStayRelayedAndSayWhy() {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab).withSecondStun();
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC);
            d.startAgents(a, b, SMALL, 0);
            d.fetchIntact(b, SMALL);
            await().atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> d.peer(b) != null
                            && d.peer(b).path("reason").asText().startsWith("relay: both sides behind symmetric NATs"));
            assertThat(d.peerPath(b)).isEqualTo("relay");
            d.fetchIntact(b, SMALL);
            assertThat(d.lastForwardPath(b)).isEqualTo("relay");
            JsonNode spray = d.status(b, d.stateB).path("direct").path("spray");
            assertThat(spray.path("packets").asLong()).as("%s", spray).isZero();
            assertThat(spray.path("outcomes").path("skipped_both_hard").asLong())
                    .as("%s", spray)
                    .isPositive();
        }
    }
}
