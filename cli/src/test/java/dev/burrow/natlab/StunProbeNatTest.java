package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.netlab.Host;
import dev.burrow.netlab.Impairment;
import dev.burrow.netlab.LabCapabilities;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.Namespace.Finished;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.NetLabSupport;
import dev.burrow.netlab.PublicHost;
import dev.burrow.netlab.RequiresNetLab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * {@code burrow stun-probe} behind real kernel NATs, against {@code burrow stun-server}s in the lab's
 * public internet. Two plain servers on one IP and two ports (enough to tell endpoint-independent
 * from address-and-port-dependent mapping), and one RFC 5780 server on a second host with an
 * alternate IP (needed for filtering).
 */
@RequiresNetLab
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StunProbeNatTest {
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration PROBE = Duration.ofSeconds(40);
    private static final ObjectMapper JSON = new ObjectMapper();

    private NetLab lab;
    private String plainA;
    private String plainB;
    private String rfc5780;

    @BeforeAll
    void buildLab() {
        lab = NetLab.create();
        PublicHost stun = lab.addPublicHost("stun");
        PublicHost stun5780 = lab.addPublicHost("stun5780");
        String alt = stun5780.addAddress().getHostAddress();
        plainA = stun.ip() + ":3478";
        plainB = stun.ip() + ":3479";
        rfc5780 = stun5780.ip() + ":3478";
        List<LabProcess> servers = List.of(
                stun.startBurrow("stun-a", "stun-server", "--listen", plainA, "--threads", "1"),
                stun.startBurrow("stun-b", "stun-server", "--listen", plainB, "--threads", "1"),
                stun5780.startBurrow(
                        "stun-5780",
                        "stun-server",
                        "--listen",
                        rfc5780,
                        "--rfc5780-alt",
                        alt + ":3479",
                        "--threads",
                        "1"));
        for (LabProcess s : servers) {
            s.awaitOutput("^stun-server: udp", START);
        }
    }

    @AfterAll
    void removeLab() {
        if (lab != null) {
            lab.close();
            assertThat(lab.leftovers()).isEmpty();
        }
    }

    @Test
    void endpointIndependentNatIsReportedWithTheRoutersPublicAddress() {
        LanHost client = lab.addHostBehindNat("eim", NatBehaviour.EIM);
        JsonNode r = probeOk(client, plainA, plainB);
        assertThat(r.get("mapping").asText()).isEqualTo("endpoint_independent");
        assertThat(r.get("nat").asBoolean()).isTrue();
        assertThat(endpoints(r))
                .hasSize(1)
                .allSatisfy(e ->
                        assertThat(e).startsWith(client.router().publicAddress().getHostAddress() + ":"));
    }

    @Test
    void symmetricNatIsReportedAsAddressAndPortDependent() {
        LanHost client = lab.addHostBehindNat("sym", NatBehaviour.SYMMETRIC);
        JsonNode r = probeOk(client, plainA, plainB);
        assertThat(r.get("mapping").asText()).isEqualTo("address_and_port_dependent");
        assertThat(r.get("nat").asBoolean()).isTrue();
        assertThat(endpoints(r))
                .hasSize(2)
                .allSatisfy(e ->
                        assertThat(e).startsWith(client.router().publicAddress().getHostAddress() + ":"));
    }

    @Test
    void publicHostIsReportedWithoutNat() {
        PublicHost client = lab.addPublicHost("pubclient");
        JsonNode r = probeOk(client, plainA, plainB);
        assertThat(r.get("nat").asBoolean()).isFalse();
        assertThat(r.get("mapping").asText()).isEqualTo("endpoint_independent");
        assertThat(endpoints(r)).hasSize(1).allSatisfy(e -> assertThat(e).startsWith(client.ip() + ":"));
    }

    @Test
    void blockedUdpIsReportedClearlyWithinTheTimeout() {
        LanHost client = lab.addHostBehindNat("blocked", NatBehaviour.UDP_BLOCKED);
        Finished run = probe(client, "--timeout", "2s", plainA, plainB);
        assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
        JsonNode r = parse(run);
        assertThat(r.get("nat").isNull()).isTrue();
        assertThat(r.get("mapping").asText()).isEqualTo("unknown");
        assertThat(endpoints(r)).isEmpty();
        assertThat(r.get("observations")).hasSize(2).allSatisfy(o -> {
            assertThat(o.get("mapped").isNull()).isTrue();
            assertThat(o.get("error").asText()).isEqualTo("no answer");
        });
    }

    @Test
    void rfc5780ProbeBehindPortRestrictedConeNat() {
        JsonNode r = probeOk(lab.addHostBehindNat("prc", NatBehaviour.EIM), rfc5780);
        assertThat(r.get("mapping").asText()).isEqualTo("endpoint_independent");
        assertThat(r.get("filtering").asText()).as(r.toPrettyString()).isEqualTo("address_and_port_dependent");
    }

    @Test
    void rfc5780ProbeBehindRestrictedConeNat() {
        JsonNode r = probeOk(lab.addHostBehindNat("rc", NatBehaviour.RESTRICTED_CONE), rfc5780);
        assertThat(r.get("mapping").asText()).isEqualTo("endpoint_independent");
        assertThat(r.get("filtering").asText()).as(r.toPrettyString()).isEqualTo("address_dependent");
    }

    @Test
    void rfc5780ProbeBehindFullConeNat() {
        JsonNode r = probeOk(lab.addHostBehindNat("fc", NatBehaviour.FULL_CONE), rfc5780);
        assertThat(r.get("mapping").asText()).isEqualTo("endpoint_independent");
        assertThat(r.get("filtering").asText()).as(r.toPrettyString()).isEqualTo("endpoint_independent");
    }

    @Test
    void rfc5780ProbeBehindSymmetricNat() {
        JsonNode r = probeOk(lab.addHostBehindNat("sym5780", NatBehaviour.SYMMETRIC), rfc5780);
        assertThat(r.get("mapping").asText()).isEqualTo("address_and_port_dependent");
        assertThat(r.get("filtering").asText()).as(r.toPrettyString()).isEqualTo("address_and_port_dependent");
    }

    @Test
    void probeSurvivesDelayAndLossThroughRetransmissions() {
        NetLabSupport.requireFeature(
                LabCapabilities.get().delay(), "no way to delay a link (no netem, no socat or /dev/net/tun)", true);
        LanHost client = lab.addHostBehindNat("lossy", NatBehaviour.EIM);
        // 50 ms each way and 5 % loss each way on the router's internet link. An 8 s budget allows
        // five transmissions per transaction (RFC 8489 schedule), so a lost request or answer is retried.
        client.router().impairWan(new Impairment(Duration.ofMillis(50), 5));
        JsonNode r = probeOk(client, "--timeout", "8s", plainA, plainB);
        assertThat(r.get("mapping").asText()).isEqualTo("endpoint_independent");
        assertThat(r.get("observations")).allSatisfy(o -> {
            assertThat(o.get("mapped").isNull()).as(r.toPrettyString()).isFalse();
            // A lower bound only: nothing can answer faster than the added delay.
            assertThat(o.get("millis").asLong()).isGreaterThanOrEqualTo(50);
        });
    }

    @Test
    void probeRetransmitsWhenEveryFirstRequestIsLost() {
        LanHost client = lab.addHostBehindNat("firstlost", NatBehaviour.EIM);
        client.router().dropFirstOutboundDatagram();
        JsonNode r = probeOk(client, plainA, plainB);
        assertThat(r.get("mapping").asText()).isEqualTo("endpoint_independent");
        assertThat(r.get("observations")).hasSize(2).allSatisfy(o -> {
            assertThat(o.get("mapped").isNull()).as(r.toPrettyString()).isFalse();
            // Answered only after the retransmission one RTO (500 ms, RFC 8489) later.
            assertThat(o.get("millis").asLong()).isGreaterThanOrEqualTo(500);
        });
    }

    // ---------------------------------------------------------------- helpers

    private Finished probe(Host client, String... args) {
        List<String> cmd = new ArrayList<>(List.of("stun-probe", "-o", "json"));
        cmd.addAll(List.of(args));
        return client.runBurrow(PROBE, cmd.toArray(String[]::new));
    }

    private JsonNode probeOk(Host client, String... args) {
        Finished run = probe(client, args);
        assertThat(run.exitCode()).as(run.output()).isZero();
        return parse(run);
    }

    private static JsonNode parse(Finished run) {
        String out = run.output();
        int start = out.indexOf('{');
        assertThat(start).as("JSON in output: %s", out).isNotNegative();
        try {
            return JSON.readTree(out.substring(start, out.lastIndexOf('}') + 1));
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + out, e);
        }
    }

    private static List<String> endpoints(JsonNode r) {
        List<String> out = new ArrayList<>();
        r.get("publicEndpoints").forEach(n -> out.add(n.asText()));
        return out;
    }
}
