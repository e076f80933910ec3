package dev.burrow.bench.soak;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the soak run reads from its processes: Prometheus text, /proc counts, heap after GC, a free port. */
final class SoakProbes {
    private SoakProbes() {}

    /** Sum of every series of a metric (all tags). */
    static double metric(String text, String name) {
        double sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                try {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                } catch (NumberFormatException ignored) {
                    // NaN or malformed: skip
                }
            }
        }
        return sum;
    }

    /** {@code tag=value} for every series of a metric, e.g. drops by reason. */
    static String byTag(String text, String name, String tag) {
        List<String> parts = new ArrayList<>();
        Pattern p = Pattern.compile(
                "^" + Pattern.quote(name) + "\\{.*?" + tag + "=\"([^\"]*)\".*\\} (\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(text);
        while (m.find()) {
            double v = Double.parseDouble(m.group(2));
            if (v > 0) {
                parts.add(m.group(1) + "=" + (long) v);
            }
        }
        return parts.isEmpty() ? "none" : String.join(" ", parts);
    }

    /** Heap used right after a full GC in {@code pid}, via jcmd; -1 when jcmd is not available. */
    static long heapAfterGc(long pid) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd)) {
            return -1;
        }
        try {
            run(jcmd.toString(), String.valueOf(pid), "GC.run");
            String info = run(jcmd.toString(), String.valueOf(pid), "GC.heap_info");
            // SerialGC: "def new generation total 4800K, used 1234K" and "tenured generation total ..., used ..."
            Matcher m = Pattern.compile("used (\\d+)K").matcher(info);
            long used = 0;
            while (m.find()) {
                used += Long.parseLong(m.group(1)) * 1024;
            }
            return used;
        } catch (Exception e) {
            return -1;
        }
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return text;
    }

    static long count(long pid, String dir) {
        try (var s = Files.list(Path.of("/proc", String.valueOf(pid), dir))) {
            return s.count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    static long rss(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return -1;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
