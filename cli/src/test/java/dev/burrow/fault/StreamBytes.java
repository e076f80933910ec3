package dev.burrow.fault;

/**
 * An endless deterministic byte stream: the byte at position {@code p} depends only on the seed and
 * {@code p}, so a receiver can check every byte it got against what was sent, and a prefix cut
 * short by a fault can still be checked byte for byte.
 */
final class StreamBytes {
    private final long seed;

    StreamBytes(long seed) {
        this.seed = seed;
    }

    /** The byte at {@code position}. */
    byte at(long position) {
        long word = mix(seed ^ (position >>> 3) * 0x9E3779B97F4A7C15L);
        return (byte) (word >>> ((position & 7) * 8));
    }

    /** Fills {@code buf[off, off + len)} with the stream from {@code position}. */
    void fill(byte[] buf, int off, int len, long position) {
        for (int i = 0; i < len; i++) {
            buf[off + i] = at(position + i);
        }
    }

    /** Index in {@code buf[0, len)} of the first byte that differs from the stream at {@code position}, or -1. */
    int firstMismatch(byte[] buf, int len, long position) {
        for (int i = 0; i < len; i++) {
            if (buf[i] != at(position + i)) {
                return i;
            }
        }
        return -1;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
