package dev.burrow.relay.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.BurrowVersion;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The relay's scrape as an operator's dashboard meets it: every series {@code docs/operations.md}
 * lists is there on a fresh relay (before any client), names follow Prometheus conventions, and the
 * JVM and process meters come along.
 */
class RelayMetricsSeriesTest {
    static final Path OPERATIONS = Path.of("..", "docs", "operations.md");
    /** A metric name in backticks in the first cell of a table row. */
    static final Pattern DOCUMENTED = Pattern.compile("`(burrow_relay_[a-z_]+)`");

    @Test
    void everyDocumentedSeriesExistsOnAFreshRelay() throws Exception {
        try (RelayServer relay = TestRelays.start(Map.of())) {
            String scrape = relay.prometheus().scrape();
            Set<String> names = scrapedNames(scrape);
            assertThat(documentedNames())
                    .hasSizeGreaterThan(20)
                    .allSatisfy(n -> assertThat(names)
                            .as("%s is documented in docs/operations.md but a fresh relay does not export it", n)
                            .anyMatch(s -> s.equals(n) || s.equals(n + "_bucket")));
            assertThat(names)
                    .as("base units said once")
                    .noneMatch(n -> n.contains("bytes_bytes") || n.contains("seconds_seconds"));
            assertThat(scrape)
                    .contains("burrow_relay_info{transport=\"nio\",version=\"" + BurrowVersion.get() + "\"} 1");
            assertThat(scrape).contains("burrow_relay_protocol_violations_total{kind=\"FRAME_TOO_LARGE\"} 0");
            assertThat(scrape).contains("burrow_relay_circuit_setup_seconds_bucket{le=\"0.001\"} 0");
            assertThat(scrape).contains("burrow_relay_mesh_links 0");
            assertThat(names)
                    .contains(
                            "jvm_memory_used_bytes",
                            "jvm_threads_live_threads",
                            "process_cpu_usage",
                            "process_uptime_seconds",
                            "jvm_classes_loaded_classes");
        }
    }

    @Test
    void anAuthenticatedClientIsCountedInTheHandshakeHistogram() throws Exception {
        try (RelayServer relay = TestRelays.start(Map.of());
                TestRelayClient c = TestRelayClient.connect(
                        relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE))) {
            assertThat(c.authenticate(NodeIdentity.ephemeral("metrics"), false))
                    .isInstanceOf(RelayFrame.ServerAccept.class);
            assertThat(relay.prometheus().scrape())
                    .containsPattern("burrow_relay_handshake_duration_seconds_count [1-9]");
        }
    }

    static Set<String> documentedNames() throws Exception {
        String doc = Files.readString(OPERATIONS);
        int from = doc.indexOf("## Metrics and alerts");
        int to = doc.indexOf("Alert on:", from);
        Set<String> out = new LinkedHashSet<>();
        for (String line : doc.substring(from, to).split("\n")) {
            if (line.startsWith("| `burrow_relay_")) {
                Matcher m = DOCUMENTED.matcher(line.substring(0, line.indexOf('|', 2)));
                while (m.find()) {
                    out.add(m.group(1));
                }
            }
        }
        return out;
    }

    static Set<String> scrapedNames(String scrape) {
        Set<String> out = new LinkedHashSet<>();
        for (String line : scrape.split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                int brace = line.indexOf('{');
                out.add(line.substring(0, brace >= 0 ? brace : line.indexOf(' ')));
            }
        }
        return out;
    }
}
