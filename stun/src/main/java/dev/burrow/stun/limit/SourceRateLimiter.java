package dev.burrow.stun.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.net.InetAddress;
import java.time.Duration;

/**
 * A token bucket per source ({@link SourceKey}: IPv4 address or IPv6 /64, port ignored). The map is
 * a bounded Caffeine cache: a spoofed or rotating-source flood evicts buckets instead of growing
 * memory, at the price of forgetting real abusers while it lasts (a forgotten source starts again
 * with a full bucket, which at worst lets one burst more through).
 */
public final class SourceRateLimiter {
    /**
     * Default bound on tracked sources: 64 Ki buckets of ~100 bytes each is a few MB, far more than
     * any listener's connection cap, so honest sources are seldom forgotten before their bucket refills.
     */
    public static final int DEFAULT_MAX_TRACKED_SOURCES = 65_536;
    /** A bucket idle at least this long (and at least as long as it takes to refill) is full again anyway, so it is forgotten. */
    private static final Duration MIN_IDLE_EXPIRY = Duration.ofSeconds(10);

    private final double ratePerNano;
    private final double burst;
    private final Cache<InetAddress, Bucket> buckets;
    private final Ticker ticker;

    /**
     * @param ratePerSecond     refill rate per source
     * @param burst             bucket size
     * @param maxTrackedSources bound on the number of buckets kept (least recently used are evicted)
     */
    public SourceRateLimiter(double ratePerSecond, double burst, int maxTrackedSources) {
        this(ratePerSecond, burst, maxTrackedSources, Ticker.systemTicker());
    }

    public SourceRateLimiter(double ratePerSecond, double burst, int maxTrackedSources, Ticker ticker) {
        if (!(ratePerSecond > 0) || !(burst >= 1) || maxTrackedSources <= 0) {
            throw new IllegalArgumentException("rate limit values must be positive (burst at least 1)");
        }
        this.ratePerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.ticker = ticker;
        double refillSeconds = Math.min(Long.MAX_VALUE / 2e9, burst / ratePerSecond);
        Duration refill = Duration.ofNanos((long) Math.ceil(refillSeconds * 1e9));
        this.buckets = Caffeine.newBuilder()
                .maximumSize(maxTrackedSources)
                .expireAfterAccess(refill.compareTo(MIN_IDLE_EXPIRY) > 0 ? refill : MIN_IDLE_EXPIRY)
                .ticker(ticker)
                .executor(Runnable::run) // maintenance on the caller: no background pool, deterministic in tests
                .build();
    }

    /** Takes a token for {@code source}; false when its bucket is empty. */
    public boolean tryAcquire(InetAddress source) {
        long now = ticker.read();
        Bucket b = buckets.get(SourceKey.of(source), k -> new Bucket(burst, now));
        return b.take(now, ratePerNano, burst);
    }

    /** Buckets currently held (after pending evictions). */
    public long trackedSources() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    private static final class Bucket {
        private double tokens;
        private long last;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.last = now;
        }

        synchronized boolean take(long now, double ratePerNano, double burst) {
            tokens = Math.min(burst, tokens + Math.max(0, now - last) * ratePerNano);
            last = Math.max(last, now);
            if (tokens >= 1) {
                tokens -= 1;
                return true;
            }
            return false;
        }
    }
}
