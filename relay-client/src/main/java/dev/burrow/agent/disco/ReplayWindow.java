package dev.burrow.agent.disco;

import java.util.Arrays;

/**
 * Sliding replay window over received counters (RFC 6479 idea, a plain bitmap): a counter is
 * accepted once, in any order, while it is within {@link DiscoLimits#REPLAY_WINDOW} of the highest
 * seen; older counters are refused. {@link #check} before opening the box, {@link #commit} only
 * after the box opened, so forged packets never move the window. Not thread-safe.
 */
public final class ReplayWindow {
    private final int size;
    private final long[] bits;
    private long top = -1;

    public ReplayWindow() {
        this(DiscoLimits.REPLAY_WINDOW);
    }

    ReplayWindow(int size) {
        if (size <= 0 || size % 64 != 0) {
            throw new IllegalArgumentException("window size must be a positive multiple of 64");
        }
        this.size = size;
        this.bits = new long[size / 64];
    }

    /** Whether {@code counter} would be accepted (not seen, not too old). */
    public boolean check(long counter) {
        if (counter < 0) {
            return false;
        }
        if (counter > top) {
            return true;
        }
        if (top - counter >= size) {
            return false;
        }
        return !isSet(counter);
    }

    /** Records {@code counter}; returns false (and changes nothing) when {@link #check} would refuse it. */
    public boolean commit(long counter) {
        if (!check(counter)) {
            return false;
        }
        if (counter > top) {
            long shift = top < 0 ? size : counter - top;
            if (shift >= size) {
                Arrays.fill(bits, 0L);
            } else {
                for (long c = top + 1; c <= counter; c++) {
                    clear(c);
                }
            }
            top = counter;
        }
        set(counter);
        return true;
    }

    private boolean isSet(long c) {
        int slot = (int) Math.floorMod(c, (long) size);
        return (bits[slot >>> 6] & (1L << (slot & 63))) != 0;
    }

    private void set(long c) {
        int slot = (int) Math.floorMod(c, (long) size);
        bits[slot >>> 6] |= 1L << (slot & 63);
    }

    private void clear(long c) {
        int slot = (int) Math.floorMod(c, (long) size);
        bits[slot >>> 6] &= ~(1L << (slot & 63));
    }
}
