package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.agent.disco.DiscoMessage.NatMapping;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** Who sprays, where sprays may aim, and what the status says about it (no sockets: the NAT lab's SprayNatTest has those). */
class HardNatSprayTest {
    private static final NodeKey SELF = NodeIdentity.ephemeral("self").nodeKey();
    private static final NodeKey PEER = NodeIdentity.ephemeral("peer").nodeKey();

    private static DirectPeer peer() {
        DirectPeer p = new DirectPeer(PEER, SELF, new DirectSockets());
        p.warm = true;
        return p;
    }

    @Test
    void onlySymmetricAgainstEndpointIndependentSprays() {
        assertThat(HardNatSpray.hardSide(NatMapping.ENDPOINT_DEPENDENT, NatMapping.ENDPOINT_INDEPENDENT))
                .isTrue();
        assertThat(HardNatSpray.hardSide(NatMapping.ENDPOINT_INDEPENDENT, NatMapping.ENDPOINT_DEPENDENT))
                .isFalse();
        for (NatMapping a : NatMapping.values()) {
            for (NatMapping b : NatMapping.values()) {
                boolean applies = a == NatMapping.ENDPOINT_DEPENDENT && b == NatMapping.ENDPOINT_INDEPENDENT
                        || a == NatMapping.ENDPOINT_INDEPENDENT && b == NatMapping.ENDPOINT_DEPENDENT;
                assertThat(HardNatSpray.hardSide(a, b) != null)
                        .as("%s x %s", a, b)
                        .isEqualTo(applies);
            }
        }
    }

    @Test
    void spraysAimOnlyAtPublicAddresses() {
        assertThat(HardNatSpray.isPublic(new InetSocketAddress("203.0.113.10", 4000)))
                .isTrue();
        assertThat(HardNatSpray.isPublic(new InetSocketAddress("8.8.8.8", 53))).isTrue();
        for (String ip : new String[] {
            "10.1.0.10",
            "192.168.1.2",
            "172.16.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "2001:db8::1"
        }) {
            assertThat(HardNatSpray.isPublic(new InetSocketAddress(ip, 4000)))
                    .as(ip)
                    .isFalse();
        }
        assertThat(HardNatSpray.isPublic(new InetSocketAddress("100.128.0.1", 1)))
                .isTrue();
    }

    @Test
    void theTargetIsThePeersFirstAnnouncedPublicCandidate() {
        DirectPeer p = peer();
        assertThat(HardNatSpray.publicCandidate(p)).isNull();
        p.announced.add(new InetSocketAddress("10.2.0.10", 4000));
        assertThat(HardNatSpray.publicCandidate(p)).isNull();
        p.announced.add(new InetSocketAddress("203.0.113.11", 5000));
        p.announced.add(new InetSocketAddress("198.51.100.7", 6000));
        assertThat(HardNatSpray.publicCandidate(p)).isEqualTo(new InetSocketAddress("203.0.113.11", 5000));
        // a peer-reflexive candidate (learned from a ping, not announced) is never a spray target
        p.candidates.add(new InetSocketAddress("192.0.2.1", 1));
        assertThat(HardNatSpray.publicCandidate(p)).isEqualTo(new InetSocketAddress("203.0.113.11", 5000));
    }

    @Test
    void budgetsAreTheDocumentedOnes() {
        assertThat(HardNatSpray.MAX_SOCKETS).isEqualTo(256);
        assertThat(HardNatSpray.MAX_PROBES).isEqualTo(2048);
        // the odds the class comment promises: 1 - (1 - 256/64512)^2048 > 99.9 %
        double p = HardNatSpray.MAX_SOCKETS / (65536.0 - HardNatSpray.MIN_PORT);
        assertThat(1 - Math.pow(1 - p, HardNatSpray.MAX_PROBES)).isGreaterThan(0.999);
        // the easy side's probes fit in the spray's time at the pace
        assertThat(HardNatSpray.MAX_PROBES / HardNatSpray.PACKETS_PER_SECOND)
                .isLessThan((int) HardNatSpray.DURATION.toSeconds());
    }

    @Test
    void statusSaysWhyThePathIsRelayed() {
        long now = System.nanoTime();
        DirectPeer p = peer();
        assertThat(DirectPeers.reason(p, now, false)).isEqualTo("relay: no direct attempt yet");
        p.lastUpgradeNanos = now - 6_000_000_000L;
        p.punchUntilNanos = now - 1_000_000_000L;
        p.candidates.add(new InetSocketAddress("203.0.113.11", 5000));
        p.sprayState = HardNatSpray.State.FAILED;
        p.sprayHardSide = false;
        p.sprayPackets = 2048;
        assertThat(DirectPeers.reason(p, now, false))
                .startsWith("relay: peer behind symmetric NAT, spray failed after 2048 probes; next attempt in ");
        p.sprayHardSide = true;
        p.sprayPackets = 768;
        assertThat(DirectPeers.reason(p, now, false))
                .startsWith("relay: behind a symmetric NAT here, spray failed after 256 sockets (768 probes)");
        p.sprayState = HardNatSpray.State.BOTH_HARD;
        assertThat(DirectPeers.reason(p, now, false))
                .startsWith("relay: both sides behind symmetric NATs (spraying cannot work)");
        p.sprayState = HardNatSpray.State.NONE;
        p.peerMapping = NatMapping.NO_UDP;
        assertThat(DirectPeers.reason(p, now, false))
                .startsWith("relay: UDP blocked at the peer (its STUN servers did not answer)");
        p.peerMapping = NatMapping.UNKNOWN;
        assertThat(DirectPeers.reason(p, now, false))
                .startsWith(
                        "relay: no answer from the peer's 1 endpoint (symmetric NAT, or UDP blocked; NAT type unknown");
        // a retry's punch window still names what the last attempt found
        p.punchUntilNanos = now + 1_000_000_000L;
        p.sprayState = HardNatSpray.State.BOTH_HARD;
        assertThat(DirectPeers.reason(p, now, false))
                .isEqualTo("relay: no direct path yet (punching 1 endpoint; both sides behind symmetric NATs)");
        p.sprayState = HardNatSpray.State.RUNNING;
        p.sprayHardSide = false;
        p.sprayPackets = 300;
        assertThat(DirectPeers.reason(p, now, false))
                .isEqualTo("relay: no direct path yet (peer behind symmetric NAT: spraying, 300 of 2048 probes sent)");
    }

    @Test
    void statusSaysHowThePathWentDirect() {
        long now = System.nanoTime();
        DirectPeer p = peer();
        p.best = new InetSocketAddress("203.0.113.10", 15679);
        assertThat(DirectPeers.reason(p, now, true)).isEqualTo("direct: punched via 203.0.113.10:15679");
        p.peerPortMapProtocol = 1;
        p.peerPortMapped = new InetSocketAddress("203.0.113.10", 15679);
        assertThat(DirectPeers.reason(p, now, true))
                .isEqualTo("direct: via the peer's port mapping (PCP) at 203.0.113.10:15679");
        p.peerPortMapped = null;
        p.sprayState = HardNatSpray.State.SUCCEEDED;
        p.sprayHardSide = false;
        p.sprayPackets = 130;
        assertThat(DirectPeers.reason(p, now, true))
                .isEqualTo(
                        "direct: sprayed via 203.0.113.10:15679 (peer behind symmetric NAT; found after 130 probes)");
    }
}
