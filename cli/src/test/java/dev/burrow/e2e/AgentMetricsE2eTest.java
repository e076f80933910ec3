package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Socket;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real agent process serves Prometheus /metrics on its opt-in address; a forwarded connection shows in it. */
class AgentMetricsE2eTest {
    @TempDir
    Path tmp;

    @Test
    void theConnectingAgentCountsAForwardedConnectionInItsMetrics() throws Exception {
        try (OpsDemo demo = new OpsDemo(tmp)) {
            String metricsUrl = "http://127.0.0.1:" + demo.metricsPort + "/metrics";
            var before = OpsDemo.get(metricsUrl);
            assertThat(before.statusCode()).isEqualTo(200);
            assertThat(before.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
            // Every documented series is there from start, at zero.
            assertThat(before.body())
                    .contains("burrow_agent_streams_opened_total{direction=\"outbound\"} 0.0")
                    .contains("burrow_agent_streams_refused_total{code=\"not_allowed\",direction=\"outbound\"} 0.0")
                    .contains("burrow_agent_streams_ended_total{direction=\"outbound\",outcome=\"closed\"} 0.0")
                    .contains("burrow_agent_streams_open{direction=\"outbound\",path=\"relay\"}")
                    .contains("burrow_agent_peers{path=\"direct\"}")
                    .contains("burrow_agent_relay_connected 1.0")
                    .contains("burrow_agent_relay_rtt_seconds")
                    // hard-NAT spraying and port mapping (tests set BURROW_PORTMAP=off: nothing held)
                    .contains("burrow_agent_direct_spray_packets_total 0.0")
                    .contains("burrow_agent_direct_quic_dead_peer_closes_total 0.0")
                    .contains("burrow_agent_direct_sprays_total{outcome=\"succeeded\"} 0.0")
                    .contains("burrow_agent_direct_sprays_total{outcome=\"skipped_both_hard\"} 0.0")
                    .contains("burrow_agent_direct_portmappings{protocol=\"pcp\"} 0.0")
                    .contains("burrow_agent_direct_portmapping_lease_seconds NaN");

            assertThat(demo.fetchThroughForward()).contains(OpsDemo.GREETING);

            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(20))
                    .untilAsserted(() -> {
                        String m = OpsDemo.get(metricsUrl).body();
                        assertThat(value(m, "burrow_agent_streams_opened_total{direction=\"outbound\"}"))
                                .isEqualTo(1.0);
                        assertThat(value(m, "burrow_agent_stream_bytes_total{direction=\"outbound\",way=\"in\"}"))
                                .isGreaterThan(0);
                        assertThat(value(m, "burrow_agent_peer_bytes_total{way=\"from_peers\"}"))
                                .isGreaterThan(0);
                    });
            assertThat(OpsDemo.get("http://127.0.0.1:" + demo.metricsPort + "/nothing")
                            .statusCode())
                    .isEqualTo(404);
            // A client that connects and sends nothing is dropped by the read deadline; the endpoint still answers.
            try (Socket idle = new Socket("127.0.0.1", demo.metricsPort)) {
                idle.setSoTimeout(15_000);
                assertThat(idle.getInputStream().read()).isEqualTo(-1);
            }
            assertThat(OpsDemo.get(metricsUrl).statusCode()).isEqualTo(200);
        }
    }

    static double value(String scrape, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE)
                .matcher(scrape);
        if (!m.find()) {
            throw new AssertionError("no series " + series + " in\n" + scrape);
        }
        return Double.parseDouble(m.group(1));
    }
}
