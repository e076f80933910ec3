package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.netlab.Cmd;
import dev.burrow.netlab.Host;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.Namespace.Finished;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.RequiresNetLab;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A UDP service over the direct path behind real kernel NATs: dnsmasq in a's namespace behind
 * {@code burrow expose dns ... --udp}, b runs {@code burrow connect A/dns PORT --udp}, and {@code dig}
 * in b's namespace gets correct answers first over the relay, then (once hole punching made the path
 * direct) as QUIC datagrams on the direct connection, which b's status counts.
 */
@RequiresNetLab
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class UdpDirectNatTest {
    static final int DNS_PORT = 5353;
    static final int FORWARD_PORT = 5300;

    @Test
    void digOverTheDirectPath() {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            d.idB = nodeId(b, d.stateB.toString());
            d.idA = nodeId(a, d.stateA.toString());
            a.start(
                    "dnsmasq",
                    List.of(
                            "dnsmasq",
                            "--keep-in-foreground",
                            "--port=" + DNS_PORT,
                            "--listen-address=127.0.0.1",
                            "--bind-interfaces",
                            "--no-resolv",
                            "--no-hosts",
                            "--conf-file=/dev/null",
                            "--pid-file=",
                            "--host-record=www.burrow.test,10.1.2.3"));
            LabProcess agentA = a.startBurrow(
                    "agent",
                    "expose",
                    "dns",
                    "127.0.0.1:" + DNS_PORT,
                    "--udp",
                    "--allow",
                    "node:" + d.idB,
                    "--relay",
                    d.relayUrl,
                    "--relay-fingerprint",
                    d.fingerprint,
                    "--state",
                    d.stateA.toString());
            agentA.awaitOutput("exposing 'dns'", DirectLab.START);
            LabProcess agentB = b.startBurrow(
                    "agent",
                    "connect",
                    d.idA + "/dns",
                    Integer.toString(FORWARD_PORT),
                    "--udp",
                    "--relay",
                    d.relayUrl,
                    "--relay-fingerprint",
                    d.fingerprint,
                    "--state",
                    d.stateB.toString());
            agentB.awaitOutput("forwarding", DirectLab.START);
            await().atMost(DirectLab.START)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> b.runBurrow(DirectLab.CMD, "ready", "--state", d.stateB.toString())
                                    .exitCode()
                            == 0);
            assertThat(dig(b)).isEqualTo("10.1.2.3"); // whatever the path
            // the forward's peer is warmed: the path turns direct without any TCP connection
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));
            long before = udp(d, b).path("directPackets").asLong();
            assertThat(dig(b)).isEqualTo("10.1.2.3");
            JsonNode udp = udp(d, b);
            assertThat(udp.path("directPackets").asLong()).isGreaterThan(before);
            assertThat(udp.path("flows").toString()).contains("\"path\":\"direct\"");
        }
    }

    private static JsonNode udp(DirectLab d, Host b) {
        return d.status(b, d.stateB).path("udp");
    }

    private static String dig(Host b) {
        Cmd.Result r = b.tryExec(
                "dig",
                "+short",
                "+time=2",
                "+tries=3",
                "-p",
                String.valueOf(FORWARD_PORT),
                "@127.0.0.1",
                "www.burrow.test",
                "A");
        return r.stdout().trim();
    }

    private static String nodeId(Host h, String state) {
        Finished f = h.runBurrow(DirectLab.CMD, "id", "--state", state);
        assertThat(f.exitCode()).as(f.output()).isZero();
        Matcher m = Pattern.compile("node ID:\\s+(\\S+)").matcher(f.output());
        assertThat(m.find()).as(f.output()).isTrue();
        return m.group(1);
    }
}
