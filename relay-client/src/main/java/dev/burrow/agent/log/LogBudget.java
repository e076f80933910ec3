package dev.burrow.agent.log;

import java.time.Duration;
import java.util.Arrays;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

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
    synchronized long admit() {
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

    /** Logs at INFO if the budget allows, with {@link #note} appended; else counts the line. */
    public void info(Logger log, String format, Object... args) {
        if (!log.isInfoEnabled()) {
            return; // nothing is written, so nothing is spent or counted
        }
        long skipped = admit();
        if (skipped >= 0) {
            log.info(format + "{}", withNote(args, skipped));
        }
    }

    /** Logs at WARN if the budget allows, with {@link #note} appended; else counts the line. */
    public void warn(Logger log, String format, Object... args) {
        long skipped = admit();
        if (skipped >= 0) {
            log.warn(format + "{}", withNote(args, skipped));
        }
    }

    private static Object[] withNote(Object[] args, long skipped) {
        Object[] all = Arrays.copyOf(args, args.length + 1);
        all[args.length] = note(skipped);
        return all;
    }

    /** What to append to a line {@link #admit} allowed: nothing, or how many like it were not logged. */
    static String note(long skipped) {
        return skipped <= 0 ? "" : " (" + skipped + " more like it not logged; see metrics and burrow status)";
    }
}
