package dev.burrow.cli.netcheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.agent.netcheck.NetcheckReport;
import dev.burrow.agent.portmap.PortMapProbe;
import dev.burrow.agent.portmap.PortMapProtocol;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class NetcheckCommandTest {
    private static final NetcheckReport REPORT = new NetcheckReport(
            true,
            new InetSocketAddress("203.0.113.10", 40000),
            null,
            true,
            List.of(
                    new NetcheckReport.StunResult(
                            new InetSocketAddress("203.0.113.100", 3478),
                            new InetSocketAddress("203.0.113.10", 40000),
                            Duration.ofMillis(12),
                            null),
                    new NetcheckReport.StunResult(
                            new InetSocketAddress("203.0.113.100", 3479),
                            new InetSocketAddress("203.0.113.10", 40001),
                            Duration.ofMillis(13),
                            null),
                    new NetcheckReport.StunResult(new InetSocketAddress("198.51.100.1", 3478), null, null, "timeout")),
            List.of(new NetcheckReport.RelayLatency(
                    "https://relay.example:443",
                    new InetSocketAddress("203.0.113.100", 3478),
                    Duration.ofMillis(12),
                    Duration.ofMillis(15),
                    null)),
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
        assertThat(t)
                .contains("UDP:               yes")
                .contains("public IPv4:       203.0.113.10:40000")
                .contains("(hard NAT): yes")
                .contains("preferred relay:   https://relay.example:443")
                .contains("203.0.113.100:3479")
                .contains("timeout")
                .contains("12.0 ms");
    }

    @Test
    void thePortMappingProtocolsTheGatewayOffersAreShown() throws Exception {
        NetcheckReport r = new NetcheckReport(
                REPORT.udp(),
                REPORT.ipv4(),
                REPORT.ipv6(),
                REPORT.mappingVariesByDestination(),
                REPORT.stun(),
                REPORT.relays(),
                REPORT.preferredRelay(),
                new PortMapProbe(
                        new InetSocketAddress("10.1.0.1", 5351),
                        List.of(PortMapProtocol.PCP, PortMapProtocol.NAT_PMP),
                        java.net.InetAddress.getByName("203.0.113.10"),
                        null));
        assertThat(NetcheckCommand.text(r))
                .contains("port mapping:      pcp, nat-pmp (gateway 10.1.0.1:5351, external 203.0.113.10)");
        JsonNode j = new ObjectMapper().readTree(NetcheckCommand.json(r));
        assertThat(j.at("/portMapping/offered").toString()).isEqualTo("[\"pcp\",\"nat-pmp\"]");
        assertThat(j.at("/portMapping/gateway").asText()).isEqualTo("10.1.0.1:5351");
        assertThat(j.at("/portMapping/externalAddress").asText()).isEqualTo("203.0.113.10");

        NetcheckReport none = new NetcheckReport(
                false,
                null,
                null,
                null,
                List.of(),
                List.of(),
                null,
                new PortMapProbe(
                        new InetSocketAddress("10.1.0.1", 5351),
                        List.of(),
                        null,
                        "pcp: the gateway has no port-mapping server (port unreachable)"));
        assertThat(NetcheckCommand.text(none))
                .contains(
                        "port mapping:      none (gateway 10.1.0.1:5351): pcp: the gateway has no port-mapping server");
        assertThat(NetcheckCommand.text(REPORT)).contains("port mapping:      - (no IPv4 default gateway");
        assertThat(new ObjectMapper()
                        .readTree(NetcheckCommand.json(REPORT))
                        .get("portMapping")
                        .isNull())
                .isTrue();
    }

    @Test
    void theIpv6AddressesAnAgentWouldAnnounceAreShown() throws Exception {
        NetcheckReport r = new NetcheckReport(
                REPORT.udp(),
                REPORT.ipv4(),
                REPORT.ipv6(),
                REPORT.mappingVariesByDestination(),
                REPORT.stun(),
                REPORT.relays(),
                REPORT.preferredRelay(),
                null,
                List.of(java.net.InetAddress.getByName("2001:db8:1:0:0:0:0:10")));
        assertThat(NetcheckCommand.text(r)).contains("IPv6 addresses:    2001:db8:1::10 (direct-path candidates)");
        assertThat(new ObjectMapper()
                        .readTree(NetcheckCommand.json(r))
                        .get("ipv6HostAddresses")
                        .toString())
                .isEqualTo("[\"2001:db8:1::10\"]");
        assertThat(NetcheckCommand.text(REPORT)).contains("IPv6 addresses:    - (no global IPv6 address");
        assertThat(new ObjectMapper().readTree(NetcheckCommand.json(REPORT)).get("ipv6HostAddresses"))
                .isEmpty();
    }

    @Test
    void noStunAnswerSaysSoRatherThanThatUdpIsImpossible() {
        NetcheckReport none = new NetcheckReport(
                false,
                null,
                null,
                null,
                List.of(new NetcheckReport.StunResult(new InetSocketAddress("127.0.0.1", 3478), null, null, "timeout")),
                List.of(),
                null);
        assertThat(NetcheckCommand.text(none))
                .contains("UDP:               unknown: no STUN server answered")
                .doesNotContain("impossible");
    }

    @Test
    void readsTheRelaysOfAnAgentConfiguration(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        java.nio.file.Path yaml = tmp.resolve("agent.yaml");
        java.nio.file.Files.writeString(yaml, "relay:\n  url: https://127.0.0.1:9\n");
        picocli.CommandLine cl = dev.burrow.cli.Main.newCommandLine();
        java.io.StringWriter out = new java.io.StringWriter();
        cl.setOut(new java.io.PrintWriter(out));
        java.io.StringWriter err = new java.io.StringWriter();
        cl.setErr(new java.io.PrintWriter(err));
        int code = cl.execute(
                "netcheck", "--config", yaml.toString(), "--relay-stun-port", "9", "--timeout", "500ms", "-o", "json");
        assertThat(code).as("nothing answers: " + err).isEqualTo(1);
        JsonNode j = new ObjectMapper().readTree(out.toString());
        assertThat(j.get("relays").get(0).get("relay").asText()).isEqualTo("https://127.0.0.1:9");
    }
}
