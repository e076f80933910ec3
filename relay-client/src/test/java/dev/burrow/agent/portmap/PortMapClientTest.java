package dev.burrow.agent.portmap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The port-mapping client against fake gateways on loopback: PCP first, NAT-PMP when the gateway
 * speaks only that, refusals counted and skipped, bounded tries when nothing answers, renewal at
 * half the lease and deletion on close.
 */
class PortMapClientTest {
    static final int PORT = 41641;
    static final InetAddress EXTERNAL = address("203.0.113.10");

    static InetAddress address(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A PCP server granting every MAP request {@code lifetime} seconds on external port 40000. */
    static List<byte[]> pcpGrants(byte[] req, long lifetime) {
        var d = PcpCodec.decodeRequest(req, req.length);
        if (!(d instanceof Decoded.Ok<PcpCodec.MapRequest> ok)) {
            return List.of();
        }
        var q = ok.value();
        long granted = q.lifetimeSeconds() == 0 ? 0 : lifetime;
        return List.of(PcpCodec.encode(
                new PcpCodec.MapResponse(0, granted, 1, q.nonce(), q.protocol(), q.internalPort(), 40000, EXTERNAL)));
    }

    /** A NAT-PMP-only server: PCP gets UNSUPPORTED_VERSION in NAT-PMP's own header; mappings are granted. */
    static List<byte[]> natPmpOnly(byte[] req) {
        if (req.length > 0 && req[0] != 0) {
            return List.of(new byte[] {0, (byte) 0x81, 0, 1, 0, 0, 0, 1});
        }
        if (req.length == 2) {
            return List.of(NatPmpCodec.encode(new NatPmpCodec.AddressResponse(0, 1, (java.net.Inet4Address) EXTERNAL)));
        }
        var d = NatPmpCodec.decodeMapRequest(req, req.length);
        if (d instanceof Decoded.Ok<NatPmpCodec.MapRequest> ok) {
            var q = ok.value();
            return List.of(NatPmpCodec.encode(new NatPmpCodec.MapResponse(
                    1, 0, 1, q.internalPort(), q.lifetimeSeconds() == 0 ? 0 : 40001, q.lifetimeSeconds())));
        }
        return List.of();
    }

    @Test
    void pcpMapsAndDeletesWithTheSameNonce() throws Exception {
        PortMapCounters counters = new PortMapCounters();
        try (FakeGateway gw = new FakeGateway(req -> pcpGrants(req, 3600))) {
            PortMapClient c = new PortMapClient(gw.address(), counters);
            PortMapClient.Outcome o = c.map(PORT, null);
            assertThat(o.map()).isPresent();
            PortMap m = o.map().get();
            assertThat(m.protocol()).isEqualTo(PortMapProtocol.PCP);
            assertThat(m.external()).isEqualTo(new InetSocketAddress(EXTERNAL, 40000));
            assertThat(m.lifetimeSeconds()).isEqualTo(3600);
            assertThat(o.answered()).containsExactly(PortMapProtocol.PCP);
            var first = gw.pcpRequests().get(0);
            assertThat(first.internalPort()).isEqualTo(PORT);
            assertThat(first.suggestedExternalPort()).isEqualTo(PORT);
            assertThat(first.lifetimeSeconds()).isEqualTo(PortMapClient.REQUESTED_LIFETIME_SECONDS);
            assertThat(first.clientAddress().isLoopbackAddress()).isTrue();

            assertThat(c.delete(m)).isTrue();
            var delete = gw.pcpRequests().get(1);
            assertThat(delete.lifetimeSeconds()).isZero();
            assertThat(delete.nonce()).isEqualTo(first.nonce());
            assertThat(counters.refusedTotal()).isZero();
        }
    }

    @Test
    void aNatPmpOnlyGatewayIsUsedThroughNatPmp() throws Exception {
        PortMapCounters counters = new PortMapCounters();
        try (FakeGateway gw = new FakeGateway(PortMapClientTest::natPmpOnly)) {
            PortMapClient c = new PortMapClient(gw.address(), counters);
            PortMapClient.Outcome o = c.map(PORT, null);
            assertThat(o.map()).isPresent();
            assertThat(o.map().get().protocol()).isEqualTo(PortMapProtocol.NAT_PMP);
            assertThat(o.map().get().external()).isEqualTo(new InetSocketAddress(EXTERNAL, 40001));
            assertThat(o.answered()).containsExactly(PortMapProtocol.NAT_PMP);
            assertThat(counters.refusedCount(Refusal.VERSION)).isEqualTo(1);
            assertThat(c.delete(o.map().get())).isTrue();
            byte[] last = gw.received.get(gw.received.size() - 1);
            assertThat(NatPmpCodec.decodeMapRequest(last, last.length))
                    .isEqualTo(new Decoded.Ok<>(new NatPmpCodec.MapRequest(1, PORT, 0, 0)));
        }
    }

    @Test
    void forgedAnswersAreCountedAndSkippedUntilTheRealOne() throws Exception {
        PortMapCounters counters = new PortMapCounters();
        try (FakeGateway gw = new FakeGateway(req -> {
            var real = pcpGrants(req, 3600);
            if (real.isEmpty()) {
                return List.of();
            }
            byte[] forged = real.get(0).clone();
            forged[30] ^= 1; // another nonce
            byte[] shortOne = java.util.Arrays.copyOf(real.get(0), 20);
            return List.of(forged, shortOne, real.get(0));
        })) {
            PortMapClient.Outcome o = new PortMapClient(gw.address(), counters).map(PORT, null);
            assertThat(o.map()).isPresent();
            assertThat(counters.refusedCount(Refusal.NONCE)).isEqualTo(1);
            assertThat(counters.refusedCount(Refusal.SIZE)).isEqualTo(1);
        }
    }

    @Test
    void refusalsFromBothProtocolsAreReportedByName() throws Exception {
        PortMapCounters counters = new PortMapCounters();
        try (FakeGateway gw = new FakeGateway(req -> {
            if (req.length == PcpCodec.MAP_LENGTH && req[0] == 2) {
                var q = ((Decoded.Ok<PcpCodec.MapRequest>) PcpCodec.decodeRequest(req, req.length)).value();
                return List.of(PcpCodec.encode(new PcpCodec.MapResponse(2, 0, 1, q.nonce(), 17, PORT, 0, EXTERNAL)));
            }
            return List.of(new byte[] {0, (byte) (0x80 | req[1]), 0, 3, 0, 0, 0, 1}); // NETWORK_FAILURE
        })) {
            PortMapClient.Outcome o = new PortMapClient(gw.address(), counters).map(PORT, null);
            assertThat(o.map()).isEmpty();
            assertThat(o.reason()).contains("NOT_AUTHORIZED").contains("NETWORK_FAILURE");
            assertThat(o.answered()).containsExactly(PortMapProtocol.PCP, PortMapProtocol.NAT_PMP);
            assertThat(counters.refusedCount(Refusal.RESULT_CODE)).isEqualTo(2);
            // A definite refusal is not asked again.
            assertThat(gw.received).hasSize(2);
        }
    }

    @Test
    void aSilentGatewayGetsABoundedNumberOfTries() throws Exception {
        try (FakeGateway gw = new FakeGateway(req -> List.of())) {
            PortMapClient.Outcome o = new PortMapClient(gw.address(), new PortMapCounters()).map(PORT, null);
            assertThat(o.map()).isEmpty();
            assertThat(o.answered()).isEmpty();
            assertThat(o.reason()).contains("no answer");
            // PCP: TRIES map requests; NAT-PMP: TRIES external-address requests, then it gives up.
            assertThat(gw.received).hasSize(2 * PortMapClient.TRIES);
        }
    }

    @Test
    void noServerAtTheGatewayIsAFailureNotAnException() throws Exception {
        InetSocketAddress closed;
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            closed = (InetSocketAddress) s.getLocalSocketAddress();
        }
        PortMapClient.Outcome o = new PortMapClient(closed, new PortMapCounters()).map(PORT, null);
        assertThat(o.map()).isEmpty();
        assertThat(o.reason()).startsWith("pcp: ").contains("nat-pmp: ");
    }

    /** A gateway speaking both: PCP ANNOUNCE answered, NAT-PMP as {@link #natPmpOnly}. */
    static List<byte[]> both(byte[] req) {
        if (req.length == PcpCodec.HEADER_LENGTH && req[0] == 2 && req[1] == 0) {
            return List.of(PcpCodec.encode(new PcpCodec.AnnounceResponse(0, 1)));
        }
        return natPmpOnly(req);
    }

    @Test
    void aProbeReportsWhatTheGatewaySpeaksWithoutMapping() throws Exception {
        try (FakeGateway gw = new FakeGateway(PortMapClientTest::both)) {
            PortMapProbe p = new PortMapClient(gw.address(), new PortMapCounters()).probe();
            assertThat(p.offered()).containsExactly(PortMapProtocol.PCP, PortMapProtocol.NAT_PMP);
            assertThat(p.externalAddress()).isEqualTo(EXTERNAL);
            assertThat(p.problem()).startsWith("upnp: "); // no SSDP on loopback
            assertThat(gw.received).hasSize(2); // one ANNOUNCE, one address request: no MAP
        }
        try (FakeGateway gw = new FakeGateway(PortMapClientTest::natPmpOnly)) {
            PortMapProbe p = new PortMapClient(gw.address(), new PortMapCounters()).probe();
            assertThat(p.offered()).containsExactly(PortMapProtocol.NAT_PMP);
            assertThat(p.problem()).startsWith("pcp: ").contains("NAT-PMP only");
        }
    }

    @Test
    void burrowPortmapOffTurnsPortMappingOff() {
        assertThat(PortMapping.enabled(Map.of())).isTrue();
        assertThat(PortMapping.enabled(Map.of("BURROW_PORTMAP", "on"))).isTrue();
        assertThat(PortMapping.enabled(Map.of("BURROW_PORTMAP", " OFF "))).isFalse();
    }

    @Test
    void aMappingIsRenewedAtHalfItsLeaseAndDeletedOnClose() throws Exception {
        // The gateway grants 2 s: the renewal comes after 1 s (never sooner than MIN_RENEW_INTERVAL).
        try (FakeGateway gw = new FakeGateway(req -> pcpGrants(req, 2))) {
            PortMapping m = new PortMapping(new PortMapClient(gw.address(), new PortMapCounters()), PORT, "test");
            m.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> m.external().isPresent());
            assertThat(m.external()).isEqualTo(Optional.of(new InetSocketAddress(EXTERNAL, 40000)));
            assertThat(m.status()).contains("pcp mapped");
            await().atMost(Duration.ofSeconds(10)).until(() -> gw.pcpRequests().size() >= 3);
            var requests = gw.pcpRequests();
            assertThat(requests).allSatisfy(q -> {
                assertThat(q.lifetimeSeconds()).isEqualTo(PortMapClient.REQUESTED_LIFETIME_SECONDS);
                assertThat(q.nonce()).isEqualTo(requests.get(0).nonce());
            });
            // Renewals ask for the port already held.
            assertThat(requests.get(1).suggestedExternalPort()).isEqualTo(40000);
            m.close();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> gw.pcpRequests().stream().anyMatch(q -> q.lifetimeSeconds() == 0));
            assertThat(m.external()).isEmpty();
        }
    }
}
