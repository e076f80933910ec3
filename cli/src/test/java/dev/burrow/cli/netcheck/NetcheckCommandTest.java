package dev.burrow.cli.netcheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.agent.netcheck.NetcheckReport;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class NetcheckCommandTest {
    private static final NetcheckReport REPORT = new NetcheckReport(true, new InetSocketAddress("203.0.113.10", 40000), null, true,
            List.of(new NetcheckReport.StunResult(new InetSocketAddress("203.0.113.100", 3478), new InetSocketAddress("203.0.113.10", 40000),
                            Duration.ofMillis(12), null),
                    new NetcheckReport.StunResult(new InetSocketAddress("203.0.113.100", 3479), new InetSocketAddress("203.0.113.10", 40001),
                            Duration.ofMillis(13), null),
                    new NetcheckReport.StunResult(new InetSocketAddress("198.51.100.1", 3478), null, null, "timeout")),
            List.of(new NetcheckReport.RelayLatency("https://relay.example:443", new InetSocketAddress("203.0.113.100", 3478),
                    Duration.ofMillis(12), Duration.ofMillis(15), null)),
            "https://relay.example:443");

    @Test
    void jsonHasEveryField() throws Exception {
        JsonNode j = new ObjectMapper().readTree(NetcheckCommand.json(REPORT));
        assertThat(j.get("udp").asBoolean()).isTrue();
        assertThat(j.get("ipv4").asText()).isEqualTo("203.0.113.10:40000");
        assertThat(j.get("ipv6").isNull()).isTrue();
        assertThat(j.get("mappingVariesByDestination").asBoolean()).isTrue();
        assertThat(j.get("preferredRelay").asText()).isEqualTo("https://relay.example:443");
        assertThat(j.get("stun")).hasSize(3);
        assertThat(j.get("stun").get(2).get("error").asText()).isEqualTo("timeout");
        assertThat(j.get("relays").get(0).get("stunRttMillis").asDouble()).isEqualTo(12.0);
        assertThat(j.get("relays").get(0).get("tcpConnectMillis").asDouble()).isEqualTo(15.0);
    }

    @Test
    void textIsATable() {
        String t = NetcheckCommand.text(REPORT);
        assertThat(t).contains("UDP:               yes").contains("public IPv4:       203.0.113.10:40000")
                .contains("(hard NAT): yes").contains("preferred relay:   https://relay.example:443")
                .contains("203.0.113.100:3479").contains("timeout").contains("12.0 ms");
    }
}
