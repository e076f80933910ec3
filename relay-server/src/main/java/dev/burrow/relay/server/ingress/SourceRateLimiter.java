package dev.burrow.relay.server.ingress;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.burrow.relay.server.forward.TokenBucket;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Arrays;

/**
 * The per-source accept rate of public ingress: one token bucket per source, in a bounded Caffeine
 * cache (as the relay's connect gate keeps its per-IP buckets) so a storm of spoofed or rotating
 * sources cannot grow the heap; when the table is full the least recently used sources are forgotten
 * (they start again with a full bucket, which at worst lets one burst more through).
 *
 * <p>The key is the IPv4 address (an IPv4-mapped IPv6 address counts as its IPv4 address) or the
 * IPv6 /64: one subscriber usually holds a whole /64 and could otherwise rotate through it.
 */
final class SourceRateLimiter {
    /**
     * Sources remembered at once: about 100 bytes each, so a few MiB at most; far more than the
     * relay-wide connection cap, so honest sources are seldom forgotten before their bucket refills.
     */
    static final int MAX_TRACKED_SOURCES = 65_536;
    /** A source unseen this long is forgotten (at least the time its bucket takes to refill). */
    private static final Duration MIN_ENTRY_TTL = Duration.ofMinutes(1);

    private final double rate;
    private final int burst;
    private final Cache<InetAddress, TokenBucket> buckets;

    SourceRateLimiter(double ratePerSecond, int burst) {
        this.rate = ratePerSecond;
        this.burst = burst;
        Duration refill = Duration.ofMillis((long) Math.min(Long.MAX_VALUE / 2, Math.ceil(burst / ratePerSecond * 1000)));
        this.buckets = Caffeine.newBuilder()
                .maximumSize(MAX_TRACKED_SOURCES)
                .expireAfterAccess(refill.compareTo(MIN_ENTRY_TTL) > 0 ? refill : MIN_ENTRY_TTL)
                .build();
    }

    /** Takes one connection's token for {@code source}; false when that source is over its rate. */
    boolean tryAcquire(InetAddress source) {
        long now = System.nanoTime();
        TokenBucket b = buckets.get(key(source), k -> new TokenBucket(rate, burst, now));
        synchronized (b) {
            return b.tryTake(1, now);
        }
    }

    /** Sources tracked now (tests: bounded). */
    long trackedSources() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    /** The limiter's key of {@code a}: IPv4 as is (also when IPv4-mapped), IPv6 cut to its /64. */
    static InetAddress key(InetAddress a) {
        if (a instanceof Inet4Address) {
            return a;
        }
        byte[] b = a.getAddress();
        try {
            if (a instanceof Inet6Address && isV4Mapped(b)) {
                return InetAddress.getByAddress(Arrays.copyOfRange(b, 12, 16));
            }
            byte[] prefix = Arrays.copyOf(b, 16);
            Arrays.fill(prefix, 8, 16, (byte) 0);
            return InetAddress.getByAddress(prefix);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // a 4- or 16-byte array never fails
        }
    }

    private static boolean isV4Mapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }
}
