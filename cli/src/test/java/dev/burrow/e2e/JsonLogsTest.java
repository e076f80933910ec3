package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code BURROW_LOG_FORMAT=json} as log pipelines read it: the demo (a relay and two agents in one
 * process, a request through the tunnel) writes nothing but JSON objects to stderr, each with an
 * ISO-8601 UTC timestamp, a level, a logger and a rendered message, and lifecycle events carry
 * {@code event} and their keys as fields of their own. Bad logging settings stop the start.
 */
class JsonLogsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyLineOfADemoRunIsAJsonObjectWithRenderedMessageAndEventFields(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("stdout.txt");
        Path err = tmp.resolve("stderr.txt");
        ProcessBuilder pb = BurrowProcess.processBuilder(
                List.of("-Dlogback.configurationFile=" + shippedConfig()),
                Map.of("BURROW_LOG_FORMAT", "json", "HOME", tmp.toString()),
                "demo",
                "--check");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertThat(p.waitFor(180, TimeUnit.SECONDS))
                    .as("demo --check finishes")
                    .isTrue();
        } finally {
            p.destroyForcibly();
        }
        List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8);
        assertThat(p.exitValue())
                .as("demo --check exit code; stdout: %s; stderr: %s", Files.readString(out), lines)
                .isZero();
        assertThat(lines).isNotEmpty();
        List<JsonNode> events = new ArrayList<>();
        for (String line : lines) {
            JsonNode n = JSON.readTree(line);
            assertThat(n.isObject()).as(line).isTrue();
            assertThat(Instant.parse(n.path("@timestamp").asText())).as(line).isNotNull();
            assertThat(n.path("@timestamp").asText()).as("UTC").endsWith("Z");
            assertThat(n.path("level").asText()).as(line).isIn("TRACE", "DEBUG", "INFO", "WARN", "ERROR");
            assertThat(n.path("logger_name").asText()).as(line).isNotEmpty();
            assertThat(n.path("message").asText())
                    .as("rendered, not a template: " + line)
                    .isNotEmpty()
                    .doesNotContain("{}");
            if (n.has("event")) {
                events.add(n);
            }
        }
        assertThat(events).as("lifecycle events").anySatisfy(e -> {
            assertThat(e.path("event").asText()).isEqualTo("relay_started");
            assertThat(e.path("listen").asText()).isNotEmpty();
            assertThat(e.path("message").asText()).doesNotContain("event=");
        });
    }

    @Test
    void anUnknownLogFormatOrLevelStopsTheStartWithOneLine(@TempDir Path tmp) throws Exception {
        for (Map<String, String> env :
                List.of(Map.of("BURROW_LOG_FORMAT", "xml"), Map.of("BURROW_LOG_LEVEL", "LOUD"))) {
            Path err = tmp.resolve("err-" + env.hashCode() + ".txt");
            Process p = BurrowProcess.processBuilder(List.of(), env, "id")
                    .redirectErrorStream(true)
                    .redirectOutput(err.toFile())
                    .start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String text = Files.readString(err);
            assertThat(p.exitValue()).as(text).isEqualTo(2);
            assertThat(text.strip())
                    .as("one line naming the variable and the choices")
                    .doesNotContain("\n")
                    .startsWith("burrow: " + env.keySet().iterator().next() + "=");
        }
    }

    /** The logback.xml the jar ships (the tests' class path also has test-jars' logback-test.xml). */
    static Path shippedConfig() throws URISyntaxException {
        return Path.of(JsonLogsTest.class.getResource("/logback.xml").toURI());
    }
}
