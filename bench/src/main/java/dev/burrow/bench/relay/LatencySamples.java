package dev.burrow.bench.relay;

import java.util.Arrays;
import java.util.Locale;

/**
 * Round-trip times kept in full (a bench records at most a few hundred thousand), so percentiles
 * are exact rather than bucketed: no histogram library needed.
 */
final class LatencySamples {
    private long[] nanos;
    private int size;
    /** Exchanges that got no answer in time and were sent again (not recorded). */
    long lost;

    LatencySamples(int expected) {
        nanos = new long[Math.max(16, expected)];
    }

    void record(long n) {
        if (size == nanos.length) {
            nanos = Arrays.copyOf(nanos, size * 2);
        }
        nanos[size++] = n;
    }

    int size() {
        return size;
    }

    /** Percentile {@code p} (0..100) in microseconds, nearest-rank. */
    double percentileMicros(double p) {
        long[] sorted = Arrays.copyOf(nanos, size);
        Arrays.sort(sorted);
        if (size == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * size) - 1;
        return sorted[Math.min(size - 1, Math.max(0, rank))] / 1000.0;
    }

    String summary() {
        return String.format(
                Locale.ROOT,
                "samples=%d lost=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f",
                size,
                lost,
                percentileMicros(50),
                percentileMicros(90),
                percentileMicros(99),
                percentileMicros(99.9),
                percentileMicros(100));
    }
}
