package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code burrow demo} prints commands for the user to try while it runs; each works when pasted as
 * printed: the {@code curl} line reaches the web service through the tunnel, and the two
 * {@code status --state DIR} lines reach each agent's local API and show the other agent as a peer.
 */
class DemoPrintedCommandsE2eTest {
    @Test
    void theCommandsTheDemoPrintsWorkAsPrinted() throws Exception {
        try (BurrowProcess demo = BurrowProcess.start("demo-printed", "demo")) {
            await("demo up")
                    .atMost(Duration.ofSeconds(120))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        assertThat(demo.isAlive()).as(demo.logText()).isTrue();
                        return demo.logText().contains("Stop with Ctrl-C.");
                    });
            List<String> lines = demo.logText().lines().map(String::strip).toList();
            List<String> status = lines.stream()
                    .filter(l -> l.matches("\\S*burrow status --state \\S+"))
                    .toList();
            assertThat(status).as(demo.logText()).hasSize(2);
            for (String line : status) {
                String[] words = line.split(" ");
                assertThat(words[0])
                        .as("the program as started (no -Dburrow.command here)")
                        .isEqualTo("burrow");
                String out = BurrowProcess.output(
                        "demo-printed-status", Map.of(), 30, Arrays.copyOfRange(words, 1, words.length));
                assertThat(out).as(line).contains("relay").containsIgnoringCase("connected");
            }
            String curl = lines.stream()
                    .filter(l -> l.startsWith("Try:  curl "))
                    .findFirst()
                    .orElseThrow();
            URI uri = URI.create(curl.substring("Try:  curl ".length()).strip());
            HttpResponse<String> r = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(uri)
                                    .timeout(Duration.ofSeconds(30))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("Hello from behind the NAT");
        }
    }
}
