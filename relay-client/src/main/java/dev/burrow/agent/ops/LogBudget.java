package dev.burrow.agent.ops;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How many lines one source of repeated warnings may write to the log: {@link #LINES} per
 * {@link #WINDOW}; the rest are counted and the next line that is written says how many were not.
 * A peer that makes this agent refuse thousands of streams a second, or a local client retrying a
 * forward whose peer is gone, would otherwise fill the disk with one line each (what happened to
 * each of them still reaches the metrics and {@code burrow status}). Thread-safe.
 */
public final class LogBudget {
    /** Lines a source writes per {@link #WINDOW} before the rest are only counted. */
    public static final int LINES = 10;

    /** The window of {@link #LINES}. */
    public static final Duration WINDOW = Duration.ofSeconds(10);

    private final LongSupplier nanoClock;
    // Guarded by this.
    private long windowStart;
    private int written;
    private long skipped;

    public LogBudget() {
        this(System::nanoTime);
    }

    LogBudget(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.windowStart = nanoClock.getAsLong();
    }

    /**
     * Asks to write one line: -1 when it must not be written (it is counted), else how many lines
     * were not written since the last one that was (0 normally; see {@link #note}).
     */
    public synchronized long admit() {
        long now = nanoClock.getAsLong();
        if (now - windowStart >= WINDOW.toNanos()) {
            windowStart = now;
            written = 0;
        }
        if (written >= LINES) {
            skipped++;
            return -1;
        }
        written++;
        long before = skipped;
        skipped = 0;
        return before;
    }

    /** What to append to a line {@link #admit} allowed: nothing, or how many like it were not logged. */
    public static String note(long skipped) {
        return skipped <= 0 ? "" : " (" + skipped + " more like it not logged; see metrics and burrow status)";
    }
}
