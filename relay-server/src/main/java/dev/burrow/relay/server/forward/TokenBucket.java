package dev.burrow.relay.server.forward;

/**
 * A token bucket on a nanosecond clock. Not thread-safe: each bucket is used by one event loop (or
 * under its owner's lock).
 */
public final class TokenBucket {
    private double ratePerSecond;
    private double burst;
    private double tokens;
    private long lastNanos;

    public TokenBucket(double ratePerSecond, double burst, long nowNanos) {
        this.ratePerSecond = ratePerSecond;
        this.burst = burst;
        this.tokens = burst;
        this.lastNanos = nowNanos;
    }

    /** Changes rate and burst (live reload); tokens above the new burst are cut. */
    public void reconfigure(double newRate, double newBurst) {
        this.ratePerSecond = newRate;
        this.burst = newBurst;
        this.tokens = Math.min(tokens, newBurst);
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - lastNanos;
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + elapsed * ratePerSecond / 1e9);
            lastNanos = nowNanos;
        }
    }

    /** Takes {@code n} tokens if available. */
    public boolean tryTake(double n, long nowNanos) {
        refill(nowNanos);
        if (tokens >= n) {
            tokens -= n;
            return true;
        }
        return false;
    }

    /**
     * Takes {@code n} tokens (clamped to the burst, so one oversized frame cannot stall a reader for
     * longer than one burst), possibly going into debt.
     *
     * @return nanoseconds until the balance is back to zero; 0 when not in debt
     */
    public long takeAndGetDelayNanos(double n, long nowNanos) {
        refill(nowNanos);
        tokens -= Math.min(n, burst);
        if (tokens >= 0) {
            return 0;
        }
        return (long) Math.ceil(-tokens / ratePerSecond * 1e9);
    }

    public double rate() {
        return ratePerSecond;
    }

    public double burst() {
        return burst;
    }
}
