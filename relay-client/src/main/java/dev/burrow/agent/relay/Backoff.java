package dev.burrow.agent.relay;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Jittered exponential backoff: the n-th delay is drawn uniformly from [d/2, d] with
 * d = min(cap, base × 2ⁿ). The jitter spreads a fleet of agents that lost the same relay at the
 * same moment; the lower half-bound keeps the delay growing. Not thread-safe (event loop only).
 */
final class Backoff {
    private final long baseNanos;
    private final long capNanos;
    private final RandomGenerator random;
    private int failures;

    Backoff(Duration base, Duration cap, RandomGenerator random) {
        this.baseNanos = base.toNanos();
        this.capNanos = cap.toNanos();
        this.random = random;
    }

    Duration next() {
        long ceiling = baseNanos;
        for (int i = 0; i < failures && ceiling < capNanos; i++) {
            ceiling *= 2;
        }
        ceiling = Math.min(ceiling, capNanos);
        if (failures < 62) {
            failures++;
        }
        long floor = ceiling / 2;
        return Duration.ofNanos(floor + (long) (random.nextDouble() * (ceiling - floor)));
    }

    void reset() {
        failures = 0;
    }

    int failures() {
        return failures;
    }

    /** {@code d} scaled by a random factor in [0.75, 1]: jitter for fixed delays. */
    static Duration jitter(Duration d, RandomGenerator random) {
        long n = d.toNanos();
        return Duration.ofNanos(n - (long) (random.nextDouble() * n / 4));
    }
}
