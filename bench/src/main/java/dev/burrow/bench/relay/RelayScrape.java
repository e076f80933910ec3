package dev.burrow.bench.relay;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads counters from the relay's Prometheus {@code /metrics} (admin port). */
final class RelayScrape {
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI metrics;

    /** @param adminOrNull {@code host:port} of the admin listener, or null (every value is then NaN) */
    RelayScrape(String adminOrNull) {
        this.metrics = adminOrNull == null ? null : URI.create("http://" + adminOrNull + "/metrics");
    }

    /** A snapshot of the counters this bench reports. */
    record Counters(
            double forwarded, double drops, double queueFull, double gone, double writeTimeout, String transport) {
        Counters minus(Counters o) {
            return new Counters(
                    forwarded - o.forwarded,
                    drops - o.drops,
                    queueFull - o.queueFull,
                    gone - o.gone,
                    writeTimeout - o.writeTimeout,
                    transport);
        }
    }

    Counters read() {
        if (metrics == null) {
            return new Counters(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, "?");
        }
        String text;
        try {
            text = http.send(
                            HttpRequest.newBuilder(metrics)
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
        } catch (Exception e) {
            return new Counters(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, "?");
        }
        double forwarded = 0, drops = 0, queueFull = 0, gone = 0, writeTimeout = 0;
        String transport = "?";
        for (String line : text.split("\n")) {
            if (line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("burrow_relay_datagrams_forwarded_total")) {
                forwarded += value(line);
            } else if (line.startsWith("burrow_relay_drops_total")) {
                double v = value(line);
                drops += v;
                if (line.contains("queue_full")) {
                    queueFull += v;
                } else if (line.contains("\"gone\"")) {
                    gone += v;
                } else if (line.contains("write_timeout")) {
                    writeTimeout += v;
                }
            } else if (line.startsWith("burrow_relay_info") && line.contains("transport=\"")) {
                int i = line.indexOf("transport=\"") + 11;
                transport = line.substring(i, line.indexOf('"', i));
            }
        }
        return new Counters(forwarded, drops, queueFull, gone, writeTimeout, transport);
    }

    /** Sum of the samples of one metric (all tag values), or NaN. */
    double sum(String metric) {
        if (metrics == null) {
            return Double.NaN;
        }
        try {
            String text = http.send(
                            HttpRequest.newBuilder(metrics)
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            double total = 0;
            for (String line : text.split("\n")) {
                if (line.startsWith(metric + " ") || line.startsWith(metric + "{")) {
                    total += value(line);
                }
            }
            return total;
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    private static double value(String line) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
}
