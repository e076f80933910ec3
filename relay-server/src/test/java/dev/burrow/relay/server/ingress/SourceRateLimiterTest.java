package dev.burrow.relay.server.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The per-source accept limiter of public ingress: its key, its bucket and its bounded table. */
class SourceRateLimiterTest {

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void ipv4IsKeyedByAddressMappedIpv6AsIpv4AndIpv6ByItsSlash64() throws Exception {
        assertThat(SourceRateLimiter.key(ip("192.0.2.7"))).isEqualTo(ip("192.0.2.7"));
        assertThat(SourceRateLimiter.key(InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff,
                (byte) 192, 0, 2, 7}))).isEqualTo(ip("192.0.2.7"));
        assertThat(SourceRateLimiter.key(ip("2001:db8:1:2:aaaa::1"))).isEqualTo(ip("2001:db8:1:2::"));
        assertThat(SourceRateLimiter.key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))).isEqualTo(ip("2001:db8:1:2::"));
        assertThat(SourceRateLimiter.key(ip("2001:db8:1:3::1"))).isNotEqualTo(SourceRateLimiter.key(ip("2001:db8:1:2::1")));
    }

    @Test
    void aSourceGetsItsBurstThenIsRefusedWhileOthersAreNot() throws Exception {
        SourceRateLimiter l = new SourceRateLimiter(0.001, 3);
        for (int i = 0; i < 3; i++) {
            assertThat(l.tryAcquire(ip("2001:db8::" + (i + 1)))).isTrue(); // one /64: one bucket
        }
        assertThat(l.tryAcquire(ip("2001:db8::99"))).isFalse();
        assertThat(l.tryAcquire(ip("2001:db8:0:1::1"))).isTrue();
        assertThat(l.tryAcquire(ip("198.51.100.1"))).isTrue();
    }

    @Test
    void theTableStaysBoundedUnderASourceStorm() throws Exception {
        SourceRateLimiter l = new SourceRateLimiter(10, 20);
        int n = SourceRateLimiter.MAX_TRACKED_SOURCES + 10_000;
        for (int i = 0; i < n; i++) {
            l.tryAcquire(InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i}));
        }
        assertThat(l.trackedSources()).isLessThanOrEqualTo(SourceRateLimiter.MAX_TRACKED_SOURCES);
    }
}
