package dev.burrow.stun.limit;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A cap on what one source ({@link SourceKey}) holds at once, e.g. connections still in their
 * handshake. A source has an entry only while it holds something, so the table never holds more
 * entries than there are permits out, which the caller bounds by its own global cap.
 */
public final class SourceConcurrencyLimiter {
    private final int maxPerSource;
    private final ConcurrentHashMap<InetAddress, Integer> held = new ConcurrentHashMap<>();

    public SourceConcurrencyLimiter(int maxPerSource) {
        if (maxPerSource <= 0) {
            throw new IllegalArgumentException("maxPerSource must be positive");
        }
        this.maxPerSource = maxPerSource;
    }

    /** Takes one permit for {@code source}; false when it already holds {@code maxPerSource}. */
    public boolean tryAcquire(InetAddress source) {
        boolean[] ok = new boolean[1];
        held.compute(SourceKey.of(source), (k, n) -> {
            int now = n == null ? 0 : n;
            ok[0] = now < maxPerSource;
            return ok[0] ? now + 1 : n;
        });
        return ok[0];
    }

    /** Returns one permit {@link #tryAcquire} gave {@code source}. */
    public void release(InetAddress source) {
        held.computeIfPresent(SourceKey.of(source), (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Permits {@code source} holds now. */
    public int held(InetAddress source) {
        return held.getOrDefault(SourceKey.of(source), 0);
    }

    /** Sources holding a permit now (tests: the table is bounded by the permits out). */
    public int trackedSources() {
        return held.size();
    }
}
