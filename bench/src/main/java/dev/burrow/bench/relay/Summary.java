package dev.burrow.bench.relay;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/** Turns the {@code RESULT key=value ...} lines of one run into the tables of docs/benchmarks.md (median [min–max] over rounds). */
final class Summary {
    static void print(Args a) throws Exception {
        Path file = Path.of(a.required("file"));
        a.done();
        List<Map<String, String>> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
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
            rows.add(kv);
        }
        throughput(rows.stream().filter(r -> r.containsKey("frames_per_s")).toList());
        latency(rows.stream().filter(r -> r.containsKey("p50_us")).toList());
        idle(rows.stream().filter(r -> "idle".equals(r.get("label"))).toList());
    }

    private static void throughput(List<Map<String, String>> rows) {
        if (rows.isEmpty()) {
            return;
        }
        System.out.println();
        System.out.println(
                "Throughput (payload " + rows.get(0).get("size") + " B, TLS both legs), median [min-max] over rounds:");
        System.out.printf(
                Locale.ROOT,
                "%-9s %-8s %5s %6s %26s %20s %11s %24s %10s %7s %9s%n",
                "relay",
                "(actual)",
                "pairs",
                "rounds",
                "frames/s",
                "Gbit/s",
                "relay CPU",
                "relay CPU s/GiB",
                "load CPU",
                "drops",
                "refused");
        Map<String, List<Map<String, String>>> groups = group(rows, r -> r.get("label") + " " + r.get("pairs"));
        Map<String, Double> medianFps = new LinkedHashMap<>();
        for (var e : groups.entrySet()) {
            List<Map<String, String>> g = e.getValue();
            double[] fps = values(g, "frames_per_s");
            medianFps.put(e.getKey(), median(fps));
            System.out.printf(
                    Locale.ROOT,
                    "%-9s %-8s %5s %6d %26s %20s %11s %24s %10s %7.0f %9.0f%n",
                    g.get(0).get("label"),
                    g.get(0).get("transport"),
                    g.get(0).get("pairs"),
                    g.size(),
                    spread(fps, "%.0f"),
                    spread(values(g, "gbit_per_s"), "%.3f"),
                    fmt("%.2f", median(values(g, "relay_cpu_util"))),
                    spread(values(g, "relay_cpu_s_per_gib"), "%.1f"),
                    fmt("%.2f", median(values(g, "load_cpu_util"))),
                    sum(values(g, "relay_drops")),
                    sum(values(g, "send_refused")));
        }
        String base = rows.get(0).get("label");
        StringBuilder ratios = new StringBuilder("frames/s relative to " + base + " (same pairs):");
        for (var e : medianFps.entrySet()) {
            String[] k = e.getKey().split(" ");
            Double b = medianFps.get(base + " " + k[1]);
            if (!k[0].equals(base) && b != null && b > 0) {
                ratios.append(
                        String.format(Locale.ROOT, " %s/%s %s pairs = %.2f;", k[0], base, k[1], e.getValue() / b));
            }
        }
        System.out.println(ratios);
    }

    private static void latency(List<Map<String, String>> rows) {
        if (rows.isEmpty()) {
            return;
        }
        System.out.println();
        System.out.println("Ping-pong of "
                + "64-byte messages, one in flight, round trip in microseconds, median [min-max] over rounds:");
        System.out.printf(
                Locale.ROOT,
                "%-11s %6s %9s %20s %20s %20s %20s%n",
                "path",
                "rounds",
                "samples",
                "p50",
                "p90",
                "p99",
                "p99.9");
        Map<String, List<Map<String, String>>> groups = group(rows, r -> r.get("label"));
        for (var e : groups.entrySet()) {
            List<Map<String, String>> g = e.getValue();
            System.out.printf(
                    Locale.ROOT,
                    "%-11s %6d %9s %20s %20s %20s %20s%n",
                    e.getKey(),
                    g.size(),
                    g.get(0).get("samples"),
                    spread(values(g, "p50_us"), "%.1f"),
                    spread(values(g, "p90_us"), "%.1f"),
                    spread(values(g, "p99_us"), "%.1f"),
                    spread(values(g, "p999_us"), "%.1f"));
        }
        List<Map<String, String>> relay = groups.getOrDefault("relay", List.of());
        List<Map<String, String>> direct = groups.getOrDefault("direct-tls", List.of());
        if (!relay.isEmpty() && relay.size() == direct.size()) {
            StringBuilder added =
                    new StringBuilder("added by the relay (relay - direct, per round, median [min-max]):");
            for (String p : List.of("p50_us", "p99_us", "p999_us")) {
                double[] d = new double[relay.size()];
                double[] ratio = new double[relay.size()];
                for (int i = 0; i < d.length; i++) {
                    double rv = Double.parseDouble(relay.get(i).get(p));
                    double dv = Double.parseDouble(direct.get(i).get(p));
                    d[i] = rv - dv;
                    ratio[i] = rv / dv;
                }
                added.append(String.format(
                        Locale.ROOT,
                        " %s +%s us (x%s);",
                        p.replace("_us", ""),
                        spread(d, "%.1f"),
                        spread(ratio, "%.2f")));
            }
            System.out.println(added);
        }
    }

    private static void idle(List<Map<String, String>> rows) {
        if (rows.isEmpty()) {
            return;
        }
        System.out.println();
        System.out.println("Idle authenticated clients, relay heap in use after a full GC:");
        System.out.printf(
                Locale.ROOT,
                "%8s %13s %14s %10s %20s %18s %19s %12s%n",
                "clients",
                "relay counts",
                "heap used MiB",
                "RSS MiB",
                "heap bytes/client",
                "clients per GiB",
                "RSS bytes/client",
                "connects/s");
        for (Map<String, String> r : rows) {
            System.out.printf(
                    Locale.ROOT,
                    "%8s %13s %14s %10s %20s %18s %19s %12s%n",
                    r.get("clients"),
                    r.get("relay_clients"),
                    r.get("heap_used_mib"),
                    r.get("rss_mib"),
                    r.getOrDefault("heap_bytes_per_client", "-"),
                    r.getOrDefault("clients_per_gib_heap", "-"),
                    r.getOrDefault("rss_bytes_per_client", "-"),
                    r.getOrDefault("connect_per_s", "-"));
        }
    }

    private static Map<String, List<Map<String, String>>> group(
            List<Map<String, String>> rows, Function<Map<String, String>, String> key) {
        Map<String, List<Map<String, String>>> m = new LinkedHashMap<>();
        for (Map<String, String> r : rows) {
            m.computeIfAbsent(key.apply(r), k -> new ArrayList<>()).add(r);
        }
        return m;
    }

    private static double[] values(List<Map<String, String>> g, String key) {
        ToDoubleFunction<Map<String, String>> f = r -> {
            try {
                return Double.parseDouble(r.getOrDefault(key, "NaN"));
            } catch (NumberFormatException e) {
                return Double.NaN;
            }
        };
        return g.stream().mapToDouble(f).toArray();
    }

    static double median(double[] v) {
        double[] s = Arrays.stream(v).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (s.length == 0) {
            return Double.NaN;
        }
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double sum(double[] v) {
        return Arrays.stream(v).filter(x -> !Double.isNaN(x)).sum();
    }

    private static String spread(double[] v, String f) {
        double[] s = Arrays.stream(v).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (s.length == 0) {
            return "n/a";
        }
        if (s.length == 1) {
            return fmt(f, s[0]);
        }
        return fmt(f, median(s)) + " [" + fmt(f, s[0]) + "-" + fmt(f, s[s.length - 1]) + "]";
    }

    private static String fmt(String f, double v) {
        return String.format(Locale.ROOT, f, v);
    }
}
