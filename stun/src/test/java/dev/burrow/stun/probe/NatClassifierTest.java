package dev.burrow.stun.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Classification rules on synthetic answers. */
class NatClassifierTest {
    static InetSocketAddress a(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static ServerObservation ok(InetSocketAddress server, InetSocketAddress mapped) {
        return new ServerObservation("binding", server, mapped, Duration.ofMillis(5), null);
    }

    static ServerObservation failed(InetSocketAddress server) {
        return new ServerObservation("binding", server, null, null, "no answer");
    }

    static final InetSocketAddress S1 = a("192.0.2.1", 3478);
    static final InetSocketAddress S1_ALT_PORT = a("192.0.2.1", 3479);
    static final InetSocketAddress S2 = a("198.51.100.1", 3478);
    static final InetSocketAddress S2_ALT_PORT = a("198.51.100.1", 3479);

    @Test
    void sameMappingEverywhereIsEndpointIndependent() {
        var m = a("203.0.113.5", 40000);
        assertThat(NatClassifier.mapping(List.of(ok(S1, m), ok(S2, m))))
                .isEqualTo(MappingBehavior.ENDPOINT_INDEPENDENT);
        assertThat(NatClassifier.mapping(List.of(ok(S1, m), ok(S2, m), failed(S2_ALT_PORT))))
                .isEqualTo(MappingBehavior.ENDPOINT_INDEPENDENT);
    }

    @Test
    void varyingMappedPortsAreDependent() {
        assertThat(NatClassifier.mapping(List.of(ok(S1, a("203.0.113.5", 40000)), ok(S2, a("203.0.113.5", 40001)))))
                .isEqualTo(MappingBehavior.DEPENDENT);
    }

    @Test
    void differentPortOfTheSameServerIpChangingTheMappingIsAddressAndPortDependent() {
        assertThat(NatClassifier.mapping(List.of(
                        ok(S1, a("203.0.113.5", 40000)),
                        ok(S2, a("203.0.113.5", 40001)),
                        ok(S2_ALT_PORT, a("203.0.113.5", 40002)))))
                .isEqualTo(MappingBehavior.ADDRESS_AND_PORT_DEPENDENT);
    }

    @Test
    void samePortsOfOneIpButNewMappingPerIpIsAddressDependent() {
        assertThat(NatClassifier.mapping(List.of(
                        ok(S1, a("203.0.113.5", 40000)),
                        ok(S2, a("203.0.113.5", 40001)),
                        ok(S2_ALT_PORT, a("203.0.113.5", 40001)))))
                .isEqualTo(MappingBehavior.ADDRESS_DEPENDENT);
    }

    @Test
    void fewerThanTwoAnswersIsUnknown() {
        assertThat(NatClassifier.mapping(List.of(ok(S1, a("203.0.113.5", 1)), failed(S2))))
                .isEqualTo(MappingBehavior.UNKNOWN);
        assertThat(NatClassifier.mapping(List.of(ok(S1, a("203.0.113.5", 1)), ok(S1, a("203.0.113.5", 1)))))
                .isEqualTo(MappingBehavior.UNKNOWN);
        assertThat(NatClassifier.mapping(List.of())).isEqualTo(MappingBehavior.UNKNOWN);
    }

    @Test
    void filteringFromTheRfc5780Tests() {
        assertThat(NatClassifier.filtering(true, null)).isEqualTo(FilteringBehavior.ENDPOINT_INDEPENDENT);
        assertThat(NatClassifier.filtering(false, true)).isEqualTo(FilteringBehavior.ADDRESS_DEPENDENT);
        assertThat(NatClassifier.filtering(false, false)).isEqualTo(FilteringBehavior.ADDRESS_AND_PORT_DEPENDENT);
        assertThat(NatClassifier.filtering(null, null)).isEqualTo(FilteringBehavior.UNKNOWN);
    }

    @Test
    void natDetection() throws Exception {
        Set<InetAddress> local = Set.of(InetAddress.getByName("10.0.0.2"));
        assertThat(NatClassifier.natDetected(List.of(ok(S1, a("10.0.0.2", 5000))), local, 5000))
                .isFalse();
        assertThat(NatClassifier.natDetected(List.of(ok(S1, a("203.0.113.5", 5000))), local, 5000))
                .isTrue();
        assertThat(NatClassifier.natDetected(List.of(ok(S1, a("10.0.0.2", 5001))), local, 5000))
                .isTrue();
        assertThat(NatClassifier.natDetected(List.of(failed(S1)), local, 5000)).isNull();
    }

    @Test
    void publicEndpointsAreDistinctInOrder() {
        var m1 = a("203.0.113.5", 1);
        var m2 = a("203.0.113.5", 2);
        assertThat(NatClassifier.publicEndpoints(List.of(ok(S1, m1), failed(S2), ok(S2, m2), ok(S1_ALT_PORT, m1))))
                .containsExactly(m1, m2);
    }
}
