package dev.burrow.stun.limit;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The one source keying and the limiters every listener shares (STUN, relay listener, public ingress). */
class SourceLimitersTest {
    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void theKeyIsTheIpv4AddressOrTheIpv6Slash64() throws Exception {
        assertThat(SourceKey.of(ip("192.0.2.7"))).isEqualTo(ip("192.0.2.7"));
        assertThat(SourceKey.of(InetAddress.getByAddress(
                        new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 7})))
                .isEqualTo(ip("192.0.2.7"));
        assertThat(SourceKey.of(ip("2001:db8:1:2:aaaa::1"))).isEqualTo(ip("2001:db8:1:2::"));
        assertThat(SourceKey.of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))).isEqualTo(ip("2001:db8:1:2::"));
        assertThat(SourceKey.of(ip("2001:db8:1:2:aaaa::1"))).isEqualTo(SourceKey.of(ip("2001:db8:1:2:bbbb::9")));
        assertThat(SourceKey.of(ip("2001:db8:1:3::1"))).isNotEqualTo(SourceKey.of(ip("2001:db8:1:2::1")));
        assertThat(SourceKey.of(ip("::1"))).isEqualTo(ip("::"));
    }

    @Test
    void aSourceGetsItsBurstThenIsRefusedWhileOthersAreNot() throws Exception {
        SourceRateLimiter l = new SourceRateLimiter(0.001, 3, 100);
        for (int i = 0; i < 3; i++) {
            assertThat(l.tryAcquire(ip("2001:db8::" + (i + 1)))).isTrue(); // one /64: one bucket
        }
        assertThat(l.tryAcquire(ip("2001:db8::99"))).isFalse();
        assertThat(l.tryAcquire(ip("2001:db8:0:1::1"))).isTrue();
        assertThat(l.tryAcquire(ip("198.51.100.1"))).isTrue();
    }

    @Test
    void aSlowBucketIsNotForgottenBeforeItRefills() throws Exception {
        AtomicLong now = new AtomicLong();
        SourceRateLimiter l = new SourceRateLimiter(0.01, 1, 100, now::get); // refills in 100 s
        assertThat(l.tryAcquire(ip("198.51.100.1"))).isTrue();
        now.addAndGet(60_000_000_000L); // a minute: idle longer than the 10 s floor, still empty
        assertThat(l.tryAcquire(ip("198.51.100.1"))).isFalse();
        now.addAndGet(101_000_000_000L);
        assertThat(l.tryAcquire(ip("198.51.100.1"))).isTrue();
    }

    @Test
    void theRateTableStaysBoundedUnderASourceStorm() throws Exception {
        SourceRateLimiter l = new SourceRateLimiter(10, 20, 1_000, Ticker.systemTicker());
        for (int i = 0; i < 20_000; i++) {
            l.tryAcquire(InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i}));
        }
        assertThat(l.trackedSources()).isLessThanOrEqualTo(1_000);
    }

    @Test
    void aSourceHoldsAtMostItsCapAtOnceAndGetsPermitsBackOnRelease() throws Exception {
        SourceConcurrencyLimiter l = new SourceConcurrencyLimiter(2);
        assertThat(l.tryAcquire(ip("2001:db8::1"))).isTrue();
        assertThat(l.tryAcquire(ip("2001:db8::2"))).isTrue(); // same /64
        assertThat(l.tryAcquire(ip("2001:db8::3"))).isFalse();
        assertThat(l.tryAcquire(ip("127.0.0.2"))).isTrue(); // another source is unaffected
        l.release(ip("2001:db8::1"));
        assertThat(l.tryAcquire(ip("2001:db8::4"))).isTrue();
        l.release(ip("2001:db8::2"));
        l.release(ip("2001:db8::4"));
        l.release(ip("127.0.0.2"));
        assertThat(l.trackedSources()).isZero(); // nothing held, nothing remembered
        l.release(ip("127.0.0.2")); // a stray release never goes negative
        assertThat(l.held(ip("127.0.0.2"))).isZero();
    }
}
