package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** Which proven path to keep: IPv6 when it is no worse, otherwise only a clearly faster one. */
class PathPreferenceTest {
    private static final InetSocketAddress V4 = new InetSocketAddress("203.0.113.10", 40000);
    private static final InetSocketAddress V4B = new InetSocketAddress("10.1.0.10", 40000);
    private static final InetSocketAddress V6 = new InetSocketAddress("2001:db8:1::10", 40000);
    private static final InetSocketAddress V6B = new InetSocketAddress("2001:db8:2::10", 40000);
    private static final long MS = 1_000_000L;

    @Test
    void ipv6ReplacesIpv4WhenNoWorse() {
        assertThat(PathPreference.better(V6, 20 * MS, V4, 20 * MS)).isTrue();
        assertThat(PathPreference.better(V6, 21 * MS, V4, 20 * MS))
                .as("within 10 %")
                .isTrue();
        assertThat(PathPreference.better(V6, 108 * MS, V4, 100 * MS))
                .as("8 % slower")
                .isTrue();
        assertThat(PathPreference.better(V6, 115 * MS, V4, 100 * MS))
                .as("15 % slower")
                .isFalse();
        // Small round trips: 5 ms of slack, scheduling noise is not a network difference.
        assertThat(PathPreference.better(V6, 900_000, V4, 300_000)).isTrue();
        assertThat(PathPreference.better(V6, 5 * MS, V4, 1 * MS)).isTrue();
        assertThat(PathPreference.better(V6, 6_500_000, V4, 1 * MS)).isFalse();
    }

    @Test
    void ipv4ReplacesIpv6OnlyWhenClearlyFaster() {
        assertThat(PathPreference.better(V4, 19 * MS, V6, 20 * MS)).isFalse();
        assertThat(PathPreference.better(V4, 13 * MS, V6, 20 * MS)).isTrue();
        // Noise of a few milliseconds never takes a path off IPv6.
        assertThat(PathPreference.better(V4, 300_000, V6, 900_000)).isFalse();
        assertThat(PathPreference.better(V4, 1 * MS, V6, 5 * MS)).isFalse();
        assertThat(PathPreference.better(V4, 1 * MS, V6, 7 * MS)).isTrue();
    }

    @Test
    void sameFamilyNeedsTheUsualMargin() {
        assertThat(PathPreference.better(V4B, 15 * MS, V4, 20 * MS)).isFalse();
        assertThat(PathPreference.better(V4B, 13 * MS, V4, 20 * MS)).isTrue();
        assertThat(PathPreference.better(V6B, 15 * MS, V6, 20 * MS)).isFalse();
        assertThat(PathPreference.better(V6B, 13 * MS, V6, 20 * MS)).isTrue();
    }

    @Test
    void peerCandidatesThatCannotBePingedAreNotUsed() {
        DirectSocket v4only = new DirectSocket(false); // never bound: not dual-stack
        assertThat(PathPreference.usable(V4, v4only)).isTrue();
        assertThat(PathPreference.usable(V6, v4only)).isFalse();
    }
}
