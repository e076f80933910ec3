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

    // ---- the spray itself, on a real event loop with real spray sockets on loopback; the Io records
    // what would be sent (nothing leaves the machine: the targets are documentation addresses) ----

    /** Records probes, pings and bound sockets. */
    private static final class RecordingIo implements HardNatSpray.Io {
        final java.util.List<DirectSocket> bound = new java.util.concurrent.CopyOnWriteArrayList<>();
        final java.util.List<InetSocketAddress> probes = new java.util.concurrent.CopyOnWriteArrayList<>();
        final java.util.List<DirectSocket> probeSockets = new java.util.concurrent.CopyOnWriteArrayList<>();
        final java.util.List<InetSocketAddress> pings = new java.util.concurrent.CopyOnWriteArrayList<>();
        final io.netty.channel.ChannelHandler codec = new io.netty.channel.ChannelInboundHandlerAdapter();
        final io.netty.channel.EventLoop loop;

        RecordingIo(io.netty.channel.EventLoop loop) {
            this.loop = loop;
        }

        @Override
        public void probe(DirectPeer p, DirectSocket s, InetSocketAddress to) {
            probes.add(to);
            probeSockets.add(s);
        }

        @Override
        public void ping(DirectPeer p, InetSocketAddress to) {
            pings.add(to);
        }

        @Override
        public io.netty.channel.ChannelFuture bind(DirectSocket s) {
            bound.add(s);
            return s.bindSpray(
                    loop,
                    io.netty.channel.socket.nio.NioDatagramChannel.class,
                    new InetSocketAddress("127.0.0.1", 0),
                    (sock, content, from) -> {});
        }

        @Override
        public io.netty.channel.ChannelHandler codec(boolean serverRole) {
            return codec;
        }
    }

    private static <T> T onLoop(io.netty.channel.EventLoop loop, java.util.concurrent.Callable<T> c) throws Exception {
        return loop.submit(c).get(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Test
    void theEasySideProbesDistinctRandomPortsOfThePeersPublicIpOnlyAndStopsAtItsBudget() throws Exception {
        var group = new io.netty.channel.MultiThreadIoEventLoopGroup(1, io.netty.channel.nio.NioIoHandler.newFactory());
        try {
            var loop = group.next();
            RecordingIo io = new RecordingIo(loop);
            HardNatSpray spray = new HardNatSpray(loop, io, p -> NatMapping.ENDPOINT_INDEPENDENT);
            DirectPeer p = peer();
            p.peerMapping = NatMapping.ENDPOINT_DEPENDENT;
            p.announced.add(new InetSocketAddress("10.1.0.10", 4000));
            p.announced.add(new InetSocketAddress("203.0.113.10", 5000));
            long start = System.nanoTime();
            onLoop(loop, () -> {
                spray.punchFailed(p, System.nanoTime());
                return null;
            });
            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(30))
                    .until(() -> onLoop(loop, () -> !spray.running(p)));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(io.probes).hasSize(HardNatSpray.MAX_PROBES);
            assertThat(io.probes).allSatisfy(a -> {
                assertThat(a.getAddress().getHostAddress()).isEqualTo("203.0.113.10");
                assertThat(a.getPort()).isBetween(HardNatSpray.MIN_PORT, 65535);
            });
            assertThat(io.probes.stream()
                            .map(InetSocketAddress::getPort)
                            .distinct()
                            .count())
                    .isEqualTo(HardNatSpray.MAX_PROBES);
            assertThat(io.bound).as("the easy side opens no sockets").isEmpty();
            // the pace is a ceiling: never more than PACKETS_PER_SECOND (a slow machine only sends slower)
            assertThat((double) io.probes.size())
                    .isLessThanOrEqualTo(HardNatSpray.PACKETS_PER_SECOND * (seconds + 0.1));
            assertThat(p.sprayState).isEqualTo(HardNatSpray.State.FAILED);
            assertThat(spray.outcomes.get(HardNatSpray.Outcome.FAILED).sum()).isEqualTo(1);
            assertThat(spray.packetsSent.sum()).isEqualTo(HardNatSpray.MAX_PROBES);
            // no second spray to that peer before RETRY_AFTER_FAILURE
            onLoop(loop, () -> {
                spray.punchFailed(p, System.nanoTime());
                return null;
            });
            assertThat(onLoop(loop, () -> spray.running(p))).isFalse();
            assertThat(io.probes).hasSize(HardNatSpray.MAX_PROBES);
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS)
                    .syncUninterruptibly();
        }
    }

    @Test
    void theHardSideOpensAtMostItsSocketsAndKeepsOnlyTheOneThePeerReached() throws Exception {
        var group = new io.netty.channel.MultiThreadIoEventLoopGroup(1, io.netty.channel.nio.NioIoHandler.newFactory());
        try {
            var loop = group.next();
            RecordingIo io = new RecordingIo(loop);
            HardNatSpray spray = new HardNatSpray(loop, io, p -> NatMapping.ENDPOINT_DEPENDENT);
            DirectPeer p = peer();
            DirectPeer other = new DirectPeer(NodeIdentity.ephemeral("other").nodeKey(), SELF, new DirectSockets());
            InetSocketAddress target = new InetSocketAddress("203.0.113.11", 5000);
            p.peerMapping = NatMapping.ENDPOINT_INDEPENDENT;
            p.announced.add(target);
            other.peerMapping = NatMapping.ENDPOINT_INDEPENDENT;
            other.announced.add(new InetSocketAddress("198.51.100.9", 6000));
            onLoop(loop, () -> {
                spray.punchFailed(p, System.nanoTime());
                spray.punchFailed(other, System.nanoTime()); // one spray at a time per agent
                return null;
            });
            assertThat(other.sprayState).isEqualTo(HardNatSpray.State.BUSY);
            assertThat(spray.outcomes.get(HardNatSpray.Outcome.SKIPPED_BUSY).sum())
                    .isEqualTo(1);
            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> io.probes.size() >= HardNatSpray.MAX_SOCKETS);
            assertThat(io.bound).hasSize(HardNatSpray.MAX_SOCKETS);
            assertThat(io.probes).allSatisfy(a -> assertThat(a).isEqualTo(target));
            assertThat(io.bound).allSatisfy(s -> assertThat(s.serverRole).isEqualTo(!p.weAreClient));
            DirectSocket winner = io.bound.get(100);
            // a ping from anyone but the target does not count
            onLoop(loop, () -> {
                spray.directPing(p, winner, new InetSocketAddress("203.0.113.99", 5000), System.nanoTime());
                return null;
            });
            assertThat(onLoop(loop, () -> spray.running(p))).isTrue();
            onLoop(loop, () -> {
                spray.directPing(p, winner, target, System.nanoTime());
                return null;
            });
            assertThat(onLoop(loop, () -> spray.running(p))).isFalse();
            assertThat(p.sprayed).isSameAs(winner);
            assertThat(p.sprayState).isEqualTo(HardNatSpray.State.SUCCEEDED);
            assertThat(winner.channel().isOpen()).isTrue();
            assertThat(winner.channel().pipeline().toMap()).containsValue(io.codec);
            assertThat(io.pings).containsExactly(target);
            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> io.bound.stream()
                            .filter(s -> s != winner)
                            .noneMatch(s -> s.channel().isOpen()));
            assertThat(spray.outcomes.get(HardNatSpray.Outcome.SUCCEEDED).sum()).isEqualTo(1);
            assertThat(spray.socketsOpened.sum()).isEqualTo(HardNatSpray.MAX_SOCKETS);
            onLoop(loop, () -> {
                winner.close();
                return null;
            });
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS)
                    .syncUninterruptibly();
        }
    }

    @Test
    void twoSymmetricNatsNeverSpray() throws Exception {
        var group = new io.netty.channel.MultiThreadIoEventLoopGroup(1, io.netty.channel.nio.NioIoHandler.newFactory());
        try {
            var loop = group.next();
            RecordingIo io = new RecordingIo(loop);
            HardNatSpray spray = new HardNatSpray(loop, io, p -> NatMapping.ENDPOINT_DEPENDENT);
            DirectPeer p = peer();
            p.peerMapping = NatMapping.ENDPOINT_DEPENDENT;
            p.announced.add(new InetSocketAddress("203.0.113.11", 5000));
            onLoop(loop, () -> {
                spray.punchFailed(p, System.nanoTime());
                spray.punchFailed(p, System.nanoTime());
                return null;
            });
            assertThat(p.sprayState).isEqualTo(HardNatSpray.State.BOTH_HARD);
            assertThat(spray.outcomes
                            .get(HardNatSpray.Outcome.SKIPPED_BOTH_HARD)
                            .sum())
                    .isEqualTo(1);
            Thread.sleep(200);
            assertThat(io.probes).isEmpty();
            assertThat(io.bound).isEmpty();
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS)
                    .syncUninterruptibly();
        }
    }
}
