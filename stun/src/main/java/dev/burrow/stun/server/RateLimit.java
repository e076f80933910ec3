package dev.burrow.stun.server;

import dev.burrow.stun.limit.SourceRateLimiter;

/**
 * Optional per-source-IP limit on answered requests (a token bucket per IPv4 address or IPv6 /64).
 *
 * @param requestsPerSecond refill rate per source
 * @param burst             bucket size
 * @param maxTrackedSources bound on the number of buckets kept (least recently used are evicted)
 */
public record RateLimit(int requestsPerSecond, int burst, int maxTrackedSources) {
    /**
     * Default bound on tracked sources: 64 Ki buckets of ~100 bytes each is a few MB, and a
     * spoofed-source flood only churns the cache instead of growing it.
     */
    public static final int DEFAULT_MAX_TRACKED_SOURCES = SourceRateLimiter.DEFAULT_MAX_TRACKED_SOURCES;

    public RateLimit {
        if (requestsPerSecond <= 0 || burst <= 0 || maxTrackedSources <= 0) {
            throw new IllegalArgumentException("rate limit values must be positive");
        }
    }

    /** A fresh limiter enforcing this limit (the one per-source limiter Burrow uses everywhere). */
    public SourceRateLimiter newLimiter() {
        return new SourceRateLimiter(requestsPerSecond, burst, maxTrackedSources);
    }

    /** {@code n} requests per second, a burst of {@code n}, the default number of tracked sources. */
    public static RateLimit perSecond(int n) {
        return new RateLimit(n, n, DEFAULT_MAX_TRACKED_SOURCES);
    }
}
