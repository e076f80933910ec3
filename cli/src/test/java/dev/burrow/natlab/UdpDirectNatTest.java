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
import java.nio.file.Files;
import java.nio.file.Path;
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
    static final int IPERF_PORT = 5201;
    static final int ECHO_PORT = 7007;
    static final int FORWARD_IPERF = 5301;
    static final int FORWARD_ECHO = 5302;

    @Test
    void digOverTheDirectPath() {
        try (NetLab lab = NetLab.create()) {
            Hosts hosts = Hosts.behindEim(lab);
            DirectLab d = hosts.d();
            LanHost a = hosts.a();
            LanHost b = hosts.b();
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

    /**
     * Load on the direct path: a's agent (from agent.yaml) exposes iperf3 (its TCP control port and
     * UDP on the same port) and a UDP echo; once b's path to a is direct, {@code iperf3 -u} at a fixed
     * rate runs through b's forwards (loss and reordering read from its JSON; the datagrams reach a
     * as QUIC datagrams), then 200 flows at once, each a local source of its own, are answered by
     * the echo with their own text, and b's status lists them on the direct path.
     */
    @Test
    void iperf3UdpAndTwoHundredFlowsOverTheDirectPath() throws Exception {
        try (NetLab lab = NetLab.create()) {
            Hosts hosts = Hosts.behindEim(lab);
            DirectLab d = hosts.d();
            LanHost a = hosts.a();
            LanHost b = hosts.b();
            a.start("iperf3", List.of("iperf3", "-s", "-B", "127.0.0.1", "-p", String.valueOf(IPERF_PORT)));
            a.startJava("echo", NatTestUdpEcho.class.getName(), "127.0.0.1:" + ECHO_PORT)
                    .awaitOutput("udp echo listening", DirectLab.START);
            String relay = "relay:\n  url: " + d.relayUrl + "\n  fingerprint: " + d.fingerprint + "\n";
            String allow = "[node:" + d.idB + "]";
            Path yamlA = d.stateA.resolve("agent.yaml");
            Files.writeString(
                    yamlA,
                    relay + "expose:\n"
                            + "  - {name: iperf, target: 127.0.0.1:" + IPERF_PORT + ", allow: " + allow + "}\n"
                            + "  - {name: iperf-udp, protocol: udp, target: 127.0.0.1:" + IPERF_PORT
                            + ", allow: " + allow + "}\n"
                            + "  - {name: echo, protocol: udp, target: 127.0.0.1:" + ECHO_PORT + ", allow: "
                            + allow + "}\n");
            Path yamlB = d.stateB.resolve("agent.yaml");
            Files.writeString(
                    yamlB,
                    relay + "peers:\n  a: " + d.idA + "\n" + "forward:\n"
                            + "  - {peer: a, service: iperf, listen: " + FORWARD_IPERF + "}\n"
                            + "  - {peer: a, service: iperf-udp, protocol: udp, listen: " + FORWARD_IPERF + "}\n"
                            + "  - {peer: a, service: echo, protocol: udp, listen: " + FORWARD_ECHO + "}\n");
            a.startBurrow("agent", "agent", "--config", yamlA.toString(), "--state", d.stateA.toString());
            b.startBurrow("agent", "agent", "--config", yamlB.toString(), "--state", d.stateB.toString());
            for (Host h : List.of(a, b)) {
                String state = (h == a ? d.stateA : d.stateB).toString();
                await().atMost(DirectLab.START)
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> h.runBurrow(DirectLab.CMD, "ready", "--state", state)
                                        .exitCode()
                                == 0);
            }
            // one datagram opens a flow and warms the peer; then wait for the direct path
            Finished warm = b.runJava(
                    Duration.ofSeconds(90), NatTestUdpFlows.class.getName(), "127.0.0.1:" + FORWARD_ECHO, "1", "10");
            assertThat(warm.exitCode()).as(warm.output()).isZero();
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));

            long directAtA =
                    d.status(a, d.stateA).path("udp").path("directPackets").asLong();
            long relayAtA =
                    d.status(a, d.stateA).path("udp").path("relayPackets").asLong();
            // 1000-byte datagrams fit the direct path (its largest user datagram is 1068 bytes)
            LabProcess iperf = b.start(
                    "iperf3-client",
                    List.of(
                            "iperf3",
                            "-c",
                            "127.0.0.1",
                            "-p",
                            String.valueOf(FORWARD_IPERF),
                            "-u",
                            "-b",
                            "4M",
                            "-l",
                            "1000",
                            "-t",
                            "3",
                            "-J"));
            assertThat(iperf.waitFor(Duration.ofSeconds(90))).as(iperf.output()).isZero();
            String out = iperf.output();
            JsonNode r = DirectLab.JSON.readTree(out.substring(out.indexOf('{'), out.lastIndexOf('}') + 1));
            assertThat(r.path("error").isMissingNode()).as(out).isTrue();
            JsonNode sum = r.path("end").path("sum");
            long packets = sum.path("packets").asLong();
            long lost = sum.path("lost_packets").asLong();
            long outOfOrder = r.path("end")
                    .path("streams")
                    .path(0)
                    .path("udp")
                    .path("out_of_order")
                    .asLong(-1);
            long bytesSent = r.path("end").path("sum_sent").path("bytes").asLong();
            long bytesReceived =
                    r.path("end").path("sum_received").path("bytes").asLong();
            System.out.println("iperf3 -u through Burrow (direct, NAT lab): " + packets + " packets, " + lost
                    + " lost (" + sum.path("lost_percent").asDouble() + "%), out of order " + outOfOrder
                    + ", jitter " + sum.path("jitter_ms").asDouble() + " ms, bytes sent " + bytesSent + ", received "
                    + bytesReceived);
            assertThat(packets).isGreaterThan(1000); // 4 Mbit/s of 1000-byte datagrams for 3 s is 1500
            assertThat(lost).isLessThan(packets / 10); // a rate the direct path sustains
            assertThat(outOfOrder).isBetween(0L, packets / 10);
            // what arrived is what was sent less what was lost, in whole datagrams (no splits, no merges)
            assertThat(bytesReceived % 1000).isZero();
            assertThat(bytesReceived).isBetween(bytesSent - bytesSent / 10, bytesSent);
            JsonNode udpA = d.status(a, d.stateA).path("udp");
            // the data reached a as QUIC datagrams on the direct path, not as relay datagrams
            assertThat(udpA.path("directPackets").asLong() - directAtA).isGreaterThanOrEqualTo(packets - lost);
            assertThat(udpA.path("relayPackets").asLong() - relayAtA).isLessThan(packets / 10);

            Finished flows = b.runJava(
                    Duration.ofSeconds(120), NatTestUdpFlows.class.getName(), "127.0.0.1:" + FORWARD_ECHO, "200", "5");
            System.out.println(
                    "200 flows over the direct path: " + flows.output().strip());
            assertThat(flows.exitCode()).as(flows.output()).isZero();
            JsonNode udpB = udp(d, b);
            long directEcho = 0;
            for (JsonNode f : udpB.path("flows")) {
                if (f.path("service").asText().equals("echo")
                        && f.path("path").asText().equals("direct")
                        && f.path("packetsFromPeer").asLong() > 0) {
                    directEcho++;
                }
            }
            assertThat(udpB.path("openFlows").asInt()).isGreaterThanOrEqualTo(200);
            assertThat(directEcho).as("%s", udpB).isGreaterThanOrEqualTo(200);
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

    /** The lab's relay, and a and b each behind its own EIM NAT, their node IDs known. */
    private record Hosts(DirectLab d, LanHost a, LanHost b) {
        static Hosts behindEim(NetLab lab) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            d.idB = nodeId(b, d.stateB.toString());
            d.idA = nodeId(a, d.stateA.toString());
            return new Hosts(d, a, b);
        }
    }

    private static String nodeId(Host h, String state) {
        Finished f = h.runBurrow(DirectLab.CMD, "id", "--state", state);
        assertThat(f.exitCode()).as(f.output()).isZero();
        Matcher m = Pattern.compile("node ID:\\s+(\\S+)").matcher(f.output());
        assertThat(m.find()).as(f.output()).isTrue();
        return m.group(1);
    }
}
