package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/**
 * When a proven path counts as alive: by our pongs while we heartbeat it; by the peer's pings from
 * that address while we do not (the exposing side, which wants no path of its own).
 */
class DirectPeerTrustTest {
    private static final NodeKey SELF = NodeIdentity.ephemeral("self").nodeKey();
    private static final NodeKey PEER = NodeIdentity.ephemeral("peer").nodeKey();
    private static final InetSocketAddress PATH = new InetSocketAddress("203.0.113.10", 40000);
    private static final InetSocketAddress OTHER = new InetSocketAddress("198.51.100.7", 40001);
    private static final long TRUST = DirectLimits.TRUST_DURATION.toNanos();
    private static final long T0 = 1_000_000_000_000L;

    private static DirectPeer provenAt(long pongAt) {
        DirectPeer p = new DirectPeer(PEER, SELF, new DirectSockets());
        p.best = PATH;
        p.lastPongNanos = pongAt;
        return p;
    }

    @Test
    void aPongKeepsThePathForOneTrustWindow() {
        DirectPeer p = provenAt(T0);
        assertThat(p.trusted(T0 + TRUST - 1)).isTrue();
        assertThat(p.trusted(T0 + TRUST)).isFalse();
    }

    @Test
    void theListenerKeepsThePathWhileThePeerHeartbeatsItFromThatAddress() {
        DirectPeer p = provenAt(T0);
        assertThat(p.wanted(T0 + 3 * TRUST)).as("nothing here wants the path").isFalse();
        p.lastPeerPingFrom = PATH;
        p.lastPeerPingNanos = T0 + 3 * TRUST;
        assertThat(p.trusted(T0 + 3 * TRUST + 1)).isTrue();
        assertThat(p.trusted(T0 + 4 * TRUST)).as("the peer stopped pinging").isFalse();
    }

    @Test
    void pingsFromAnotherAddressDoNotKeepThePath() {
        DirectPeer p = provenAt(T0);
        p.lastPeerPingFrom = OTHER;
        p.lastPeerPingNanos = T0 + 3 * TRUST;
        assertThat(p.trusted(T0 + 3 * TRUST + 1)).isFalse();
    }

    @Test
    void aSideThatHeartbeatsJudgesByItsOwnPongs() {
        DirectPeer p = provenAt(T0);
        p.warm = true; // a forward wants the path: we heartbeat it ourselves
        p.lastPeerPingFrom = PATH;
        p.lastPeerPingNanos = T0 + 3 * TRUST;
        assertThat(p.trusted(T0 + 3 * TRUST + 1))
                .as("the peer's pings prove only its direction to us")
                .isFalse();
    }

    @Test
    void noPathNoTrust() {
        DirectPeer p = new DirectPeer(PEER, SELF, new DirectSockets());
        p.lastPeerPingFrom = PATH;
        p.lastPeerPingNanos = T0;
        assertThat(p.trusted(T0 + 1)).isFalse();
    }
}
