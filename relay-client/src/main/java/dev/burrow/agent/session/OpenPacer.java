package dev.burrow.agent.session;

import java.util.function.LongSupplier;

/**
 * The dialer's side of the listener's stream-open limit ({@link SessionProtocol#MAX_STREAM_OPENS_PER_SECOND}):
 * a token bucket at the listener's rate with half its depth, so an honest dialer's opens are delayed
 * here rather than refused there. The listener resets every stream over its limit with
 * REFUSED_STREAM, and a forwarded connection whose stream is refused is lost (its client sees a
 * reset): at about 2,000 new connections a second through one pair, once the bucket ran dry, a
 * thousand connections were reset within seconds.
 *
 * <p>Half the depth leaves the listener's bucket room for opens that arrive bunched (a pause on
 * either agent or the relay, a burst of TCP segments): whatever this side sends within a second,
 * the listener can take {@link SessionProtocol#MAX_STREAM_OPENS_PER_SECOND} / 2 more at once.
 *
 * <p>An open over the limit takes a token it does not have yet and waits until the bucket has paid
 * for it. The wait is bounded: every waiting open holds one of the session's
 * {@link SessionProtocol#MAX_CONCURRENT_STREAMS} stream slots, so at most that many wait, the last
 * for {@code MAX_CONCURRENT_STREAMS / MAX_STREAM_OPENS_PER_SECOND} (128 ms). Thread-safe.
 */
final class OpenPacer {
    /** Opens this side sends at once after an idle second: half of what the listener takes at once. */
    static final int BURST = SessionProtocol.MAX_STREAM_OPENS_PER_SECOND / 2;

    private static final double TOKENS_PER_NANO = SessionProtocol.MAX_STREAM_OPENS_PER_SECOND / 1e9;

    private final LongSupplier nanoClock;
    // Guarded by this.
    private double tokens = BURST;
    private long lastRefill;

    OpenPacer() {
        this(System::nanoTime);
    }

    OpenPacer(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.lastRefill = nanoClock.getAsLong();
    }

    /** Takes one open; returns how long it must wait before it is sent (0: at once). */
    synchronized long takeDelayNanos() {
        long now = nanoClock.getAsLong();
        tokens = Math.min(BURST, tokens + (now - lastRefill) * TOKENS_PER_NANO);
        lastRefill = now;
        tokens -= 1;
        return tokens >= 0 ? 0 : (long) Math.ceil(-tokens / TOKENS_PER_NANO);
    }
}
