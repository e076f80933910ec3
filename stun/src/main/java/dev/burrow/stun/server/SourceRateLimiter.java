package dev.burrow.stun.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * A token bucket per source, keyed on the IP with the port zeroed (an IPv4 address, or the /64 of
 * an IPv6 address, since one host usually owns a whole /64). The map is a bounded Caffeine cache:
 * a spoofed-source flood evicts buckets instead of growing memory, at the price of forgetting
 * real abusers while it lasts. No other per-packet or per-source state exists in the server.
 */
public final class SourceRateLimiter {
    /** A bucket idle this long is full again anyway, so it can be forgotten. */
    private static final Duration IDLE_EXPIRY = Duration.ofSeconds(10);

    private final double ratePerNano;
    private final double burst;
    private final Cache<InetAddress, Bucket> buckets;
    private final Ticker ticker;

    public SourceRateLimiter(RateLimit limit) {
        this(limit, Ticker.systemTicker());
    }

    SourceRateLimiter(RateLimit limit, Ticker ticker) {
        this.ratePerNano = limit.requestsPerSecond() / 1e9;
        this.burst = limit.burst();
        this.ticker = ticker;
        this.buckets = Caffeine.newBuilder()
                .maximumSize(limit.maxTrackedSources())
                .expireAfterAccess(IDLE_EXPIRY)
                .ticker(ticker)
                .executor(Runnable::run) // maintenance on the caller: no background pool, deterministic in tests
                .build();
    }

    /** Takes a token for {@code source}; false when its bucket is empty. */
    public boolean tryAcquire(InetAddress source) {
        long now = ticker.read();
        Bucket b = buckets.get(key(source), k -> new Bucket(burst, now));
        return b.take(now, ratePerNano, burst);
    }

    /** Buckets currently held (after pending evictions). */
    public long trackedSources() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    static InetAddress key(InetAddress source) {
        if (source instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            for (int i = 8; i < 16; i++) {
                b[i] = 0;
            }
            try {
                return InetAddress.getByAddress(b);
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
        return source;
    }

    private static final class Bucket {
        private double tokens;
        private long last;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.last = now;
        }

        synchronized boolean take(long now, double ratePerNano, double burst) {
            tokens = Math.min(burst, tokens + (now - last) * ratePerNano);
            last = now;
            if (tokens >= 1) {
                tokens -= 1;
                return true;
            }
            return false;
        }
    }
}
