package dev.burrow.bench.tunnel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Tables of {@code bench/tunnel-bench.sh}: {@code RESULT label=PATH kind=KIND key=value ...} lines grouped by
 * kind and path, each column as median [min-max] over rounds, plus each path's median relative to the
 * first path's (the plain connection, or whichever path came first).
 *
 * <pre>java ... dev.burrow.bench.tunnel.TunnelSummary RESULTS_FILE</pre>
 */
public final class TunnelSummary {
    private TunnelSummary() {}

    public static void main(String[] args) throws Exception {
        Map<String, Map<String, List<Map<String, String>>>> byKind = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (!line.startsWith("RESULT ")) {
                continue;
            }
            Map<String, String> kv = new LinkedHashMap<>();
            for (String part : line.substring(7).trim().split("\\s+")) {
                int eq = part.indexOf('=');
                if (eq > 0) {
                    kv.put(part.substring(0, eq), part.substring(eq + 1));
                }
            }
            byKind.computeIfAbsent(kv.get("kind"), k -> new LinkedHashMap<>())
                    .computeIfAbsent(kv.get("label"), k -> new ArrayList<>())
                    .add(kv);
        }
        for (var kind : byKind.entrySet()) {
            List<String> columns = new ArrayList<>();
            for (var rows : kind.getValue().values()) {
                for (String k : rows.get(0).keySet()) {
                    if (!List.of("label", "kind", "round").contains(k) && !columns.contains(k)) {
                        columns.add(k);
                    }
                }
            }
            System.out.println();
            System.out.println(kind.getKey() + " (median [min-max] over rounds):");
            StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-8s %6s", "path", "rounds"));
            for (String c : columns) {
                head.append(String.format(Locale.ROOT, " %24s", c));
            }
            System.out.println(head);
            String main = columns.contains("gbit_per_s") ? "gbit_per_s" : "p50_us";
            Double base = null;
            StringBuilder ratios = new StringBuilder(main + " relative to the first path:");
            for (var path : kind.getValue().entrySet()) {
                StringBuilder row = new StringBuilder(String.format(
                        Locale.ROOT, "%-8s %6d", path.getKey(), path.getValue().size()));
                for (String c : columns) {
                    row.append(String.format(Locale.ROOT, " %24s", spread(values(path.getValue(), c))));
                }
                System.out.println(row);
                double m = median(values(path.getValue(), main));
                if (base == null) {
                    base = m;
                }
                ratios.append(String.format(Locale.ROOT, " %s %.2f;", path.getKey(), m / base));
            }
            System.out.println(ratios);
        }
    }

    private static double[] values(List<Map<String, String>> rows, String key) {
        return rows.stream()
                .mapToDouble(r -> {
                    try {
                        return Double.parseDouble(r.getOrDefault(key, "NaN"));
                    } catch (NumberFormatException e) {
                        return Double.NaN;
                    }
                })
                .filter(v -> !Double.isNaN(v))
                .sorted()
                .toArray();
    }

    private static double median(double[] s) {
        if (s.length == 0) {
            return Double.NaN;
        }
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String spread(double[] s) {
        if (s.length == 0) {
            return "-";
        }
        String f = Math.abs(median(s)) >= 100 ? "%.0f" : "%.2f";
        String m = String.format(Locale.ROOT, f, median(s));
        if (s.length == 1 || s[0] == s[s.length - 1]) {
            return m;
        }
        return m + " [" + String.format(Locale.ROOT, f, s[0]) + "-" + String.format(Locale.ROOT, f, s[s.length - 1])
                + "]";
    }
}
