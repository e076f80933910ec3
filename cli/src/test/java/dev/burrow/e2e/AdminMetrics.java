package dev.burrow.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads a relay process's Prometheus text from its admin port (process tests). */
public final class AdminMetrics {
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private AdminMetrics() {}

    /** The relay's Prometheus text, or "" when it does not answer. */
    public static String text(int adminPort) {
        try {
            HttpResponse<String> res = HTTP.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics"))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return res.statusCode() == 200 ? res.body() : "";
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** The sum of the samples whose line starts with {@code nameAndLabels} (a name, optionally with a {@code {labels}} prefix); 0 when absent. */
    public static double sample(int adminPort, String nameAndLabels) {
        double total = 0;
        for (String line : text(adminPort).split("\n")) {
            if (line.startsWith(nameAndLabels) && !line.startsWith("#")) {
                String[] parts = line.trim().split(" ");
                total += Double.parseDouble(parts[parts.length - 1]);
            }
        }
        return total;
    }

    public static double meshEvent(int adminPort, String event) {
        return sample(adminPort, "burrow_relay_mesh_events_total{event=\"" + event + "\"");
    }

    public static double meshLinks(int adminPort) {
        return sample(adminPort, "burrow_relay_mesh_links ");
    }
}
