package dev.burrow.bench.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Whether a soak run stayed flat: compares the first and the last quarter of its samples. */
final class SoakVerdict {
    private SoakVerdict() {}

    /**
     * Flat when, between the first and the last quarter of the samples: the relay's heap after GC grew
     * by at most 20% + 8 MiB (mean), its fds by at most 16 and threads by at most 8 (max), the agents'
     * fds and threads by at most 2 per agent (max), no transfer was corrupt, and the share of failed
     * short connections and bulk streams did not rise above 1%.
     */
    static String verdict(List<long[]> rows, int agentCount) {
        if (rows.size() < 4) {
            return "inconclusive: fewer than 4 samples";
        }
        int q = rows.size() / 4;
        List<long[]> first = rows.subList(0, q);
        List<long[]> last = rows.subList(rows.size() - q, rows.size());
        List<String> grew = new ArrayList<>();
        double heap0 = mean(first, 1);
        double heap1 = mean(last, 1);
        if (heap0 > 0 && heap1 > heap0 * 1.2 + (8 << 20)) {
            grew.add(String.format(Locale.ROOT, "relay heap %.1f -> %.1f MiB", heap0 / (1 << 20), heap1 / (1 << 20)));
        }
        check(grew, "relay fds", max(first, 3), max(last, 3), 16);
        check(grew, "relay threads", max(first, 4), max(last, 4), 8);
        check(grew, "agent fds", max(first, 6), max(last, 6), 2L * agentCount);
        check(grew, "agent threads", max(first, 7), max(last, 7), 2L * agentCount);
        long[] end = rows.get(rows.size() - 1);
        if (end[15] > 0) {
            grew.add(end[15] + " corrupt transfers");
        }
        long[] lastStart = rows.get(rows.size() - q - 1);
        long okLast = (end[11] - lastStart[11]) + (end[13] - lastStart[13]);
        long errLast = (end[12] - lastStart[12]) + (end[14] - lastStart[14]);
        if (errLast > Math.max(1, (okLast + errLast) / 100)) {
            grew.add("errors in the last quarter: " + errLast + " of " + (okLast + errLast));
        }
        String summary = String.format(
                Locale.ROOT,
                "%d samples over %ds; relay heap after GC %.1f -> %.1f MiB, relay fds %d -> %d, relay threads %d -> %d, "
                        + "agent fds %d -> %d, agent threads %d -> %d; short ok %d / errors %d, bulk ok %d / errors %d, corrupt %d, "
                        + "datagrams %d sent / %d received / %d not sent, relay drops %d",
                rows.size(),
                end[0],
                heap0 / (1 << 20),
                heap1 / (1 << 20),
                max(first, 3),
                max(last, 3),
                max(first, 4),
                max(last, 4),
                max(first, 6),
                max(last, 6),
                max(first, 7),
                max(last, 7),
                end[11],
                end[12],
                end[13],
                end[14],
                end[15],
                end[16],
                end[17],
                end[18],
                end[19]);
        return (grew.isEmpty() ? "flat" : "NOT flat (" + String.join("; ", grew) + ")") + ": " + summary;
    }

    static void check(List<String> grew, String what, long before, long after, long slack) {
        if (before >= 0 && after > before + slack) {
            grew.add(what + " " + before + " -> " + after);
        }
    }

    static double mean(List<long[]> rows, int col) {
        return rows.stream().mapToLong(r -> r[col]).average().orElse(0);
    }

    static long max(List<long[]> rows, int col) {
        return rows.stream().mapToLong(r -> r[col]).max().orElse(-1);
    }
}
