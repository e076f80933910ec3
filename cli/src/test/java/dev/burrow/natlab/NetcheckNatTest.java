package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.netlab.Host;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.Namespace.Finished;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.PublicHost;
import dev.burrow.netlab.RequiresNetLab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * {@code burrow netcheck} behind real NATs: a relay (TLS and its STUN server) and a second STUN
 * server in public; from an EIM NAT, a symmetric NAT, a UDP-blocking NAT and a public host.
 */
@RequiresNetLab
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NetcheckNatTest {
    private static final Duration START = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private NetLab lab;
    private String relayUrl;
    private String extraStun;

    @BeforeAll
    void buildLab() {
        lab = NetLab.create();
        PublicHost relay = lab.addPublicHost("relay");
        relayUrl = "https://" + relay.ip() + ":7443";
        extraStun = relay.ip() + ":3479";
        LabProcess r = relay.startBurrow(
                "relay",
                "relay",
                "--dev",
                "--listen",
                relay.ip() + ":7443",
                "--stun-listen",
                relay.ip() + ":3478",
                "--admin-listen",
                "off");
        r.awaitOutput("listening", START);
        relay.startBurrow("stun-b", "stun-server", "--listen", extraStun, "--threads", "1")
                .awaitOutput("^stun-server: udp", START);
    }

    @AfterAll
    void removeLab() {
        if (lab != null) {
            lab.close();
            assertThat(lab.leftovers()).isEmpty();
        }
    }

    private JsonNode netcheck(Host h, int expectedExit) {
        Finished f = h.runBurrow(
                Duration.ofSeconds(60),
                "netcheck",
                "--relay",
                relayUrl,
                "--stun",
                extraStun,
                "--timeout",
                "2",
                "-o",
                "json");
        assertThat(f.exitCode()).as(f.output()).isEqualTo(expectedExit);
        try {
            return JSON.readTree(f.output().substring(f.output().indexOf('{')));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void eimNatIsEasy() {
        LanHost h = lab.addHostBehindNat("eim", NatBehaviour.EIM);
        JsonNode r = netcheck(h, 0);
        assertThat(r.get("udp").asBoolean()).isTrue();
        assertThat(r.get("ipv4").asText()).startsWith(h.router().publicAddress().getHostAddress() + ":");
        assertThat(r.get("mappingVariesByDestination").asBoolean()).isFalse();
        assertThat(r.get("preferredRelay").asText()).isEqualTo(relayUrl);
        assertThat(r.get("relays").get(0).get("stunRttMillis").isNumber()).isTrue();
    }

    @Test
    void symmetricNatIsHard() {
        LanHost h = lab.addHostBehindNat("sym", NatBehaviour.SYMMETRIC);
        JsonNode r = netcheck(h, 0);
        assertThat(r.get("udp").asBoolean()).isTrue();
        assertThat(r.get("mappingVariesByDestination").asBoolean()).isTrue();
    }

    @Test
    void udpBlockedStillFindsTheRelayOverTcp() {
        LanHost h = lab.addHostBehindNat("blocked", NatBehaviour.UDP_BLOCKED);
        JsonNode r = netcheck(h, 0);
        assertThat(r.get("udp").asBoolean()).isFalse();
        assertThat(r.get("ipv4").isNull()).isTrue();
        assertThat(r.get("preferredRelay").asText()).isEqualTo(relayUrl);
        assertThat(r.get("relays").get(0).get("stunRttMillis").isNull()).isTrue();
        assertThat(r.get("relays").get(0).get("tcpConnectMillis").isNumber()).isTrue();
    }

    @Test
    void publicHostSeesItsOwnAddress() {
        PublicHost h = lab.addPublicHost("pub");
        JsonNode r = netcheck(h, 0);
        assertThat(r.get("ipv4").asText()).startsWith(h.ip() + ":");
        assertThat(r.get("mappingVariesByDestination").asBoolean()).isFalse();
    }
}
