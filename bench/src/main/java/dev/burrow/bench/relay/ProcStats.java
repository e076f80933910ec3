package dev.burrow.bench.relay;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and resident memory of a process from {@code /proc} (Linux). */
final class ProcStats {
    /** Kernel clock ticks per second of utime/stime ({@code getconf CLK_TCK}); 100 on every Linux we run. */
    static final double CLK_TCK = Double.parseDouble(System.getProperty("bench.clkTck", "100"));

    private ProcStats() {}

    /** User + system CPU seconds used so far by {@code pid} (all threads), or NaN when unknown. */
    static double cpuSeconds(long pid) {
        if (pid <= 0) {
            return Double.NaN;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // fields after "(comm)": state is field 3, utime 14, stime 15
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / CLK_TCK;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Resident set size in bytes, or -1. */
    static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return -1;
    }

    static long self() {
        return ProcessHandle.current().pid();
    }
}
