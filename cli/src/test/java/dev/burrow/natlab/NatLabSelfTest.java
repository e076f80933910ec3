package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.netlab.Host;
import dev.burrow.netlab.LabCapabilities;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NatFiltering;
import dev.burrow.netlab.NatMapping;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.PublicHost;
import dev.burrow.netlab.RequiresNetLab;
import dev.burrow.netlab.UdpMappingClient;
import dev.burrow.netlab.UdpReflector;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The lab measured, not assumed: what each NAT type does to real UDP flows through the kernel.
 * One lab for the class: a reflector with three endpoints (two ports on one IP, a second IP), a
 * second public host to poke from, and one site per NAT type.
 */
@RequiresNetLab
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NatLabSelfTest {
    private static final Duration RUN = Duration.ofSeconds(30);
    /** Clients bind this port so port preservation is visible (below the remap range, outside the ephemeral range). */
    private static final int CLIENT_PORT = 40000;

    private static final Pattern MAPPED = Pattern.compile("^MAPPED (\\S+) (\\S+):(\\d+)$", Pattern.MULTILINE);

    private NetLab lab;
    private PublicHost server;
    private PublicHost other;
    private List<String> reflectors;
    private final Map<String, LanHost> clients = new LinkedHashMap<>();

    @BeforeAll
    void buildLab() {
        lab = NetLab.create();
        server = lab.addPublicHost("server");
        other = lab.addPublicHost("other");
        InetAddress alt = server.addAddress();
        reflectors = List.of(server.ip() + ":3478", server.ip() + ":3479", alt.getHostAddress() + ":3478");
        LabProcess reflector =
                server.startJava("reflector", UdpReflector.class.getName(), reflectors.toArray(String[]::new));
        clients.put("eim", lab.addHostBehindNat("eim", NatBehaviour.EIM));
        clients.put("remap", lab.addHostBehindNat("remap", NatBehaviour.EIM_REMAPPED));
        clients.put("sym", lab.addHostBehindNat("sym", NatBehaviour.SYMMETRIC));
        clients.put(
                "symfr",
                lab.addHostBehindNat(
                        "symfr",
                        new NatBehaviour(
                                NatMapping.ADDRESS_AND_PORT_DEPENDENT_FULLY_RANDOM,
                                NatFiltering.ADDRESS_AND_PORT_DEPENDENT,
                                false)));
        clients.put("blocked", lab.addHostBehindNat("blocked", NatBehaviour.UDP_BLOCKED));
        clients.put("full", lab.addHostBehindNat("full", NatBehaviour.FULL_CONE));
        clients.put("restr", lab.addHostBehindNat("restr", NatBehaviour.RESTRICTED_CONE));
        reflector.awaitOutput("^READY", RUN);
    }

    @AfterAll
    void removeLab() {
        if (lab != null) {
            lab.close();
            assertThat(lab.leftovers()).isEmpty();
            assertThat(NetLab.namespaceNames()).noneMatch(n -> n.startsWith(lab.prefix()));
        }
    }

    @Test
    void everyLanReachesThePublicInternetOverIcmpEvenWithUdpBlocked() {
        org.junit.jupiter.api.Assumptions.assumeTrue(LabCapabilities.get().ping(), "ping not installed (iputils-ping)");
        for (LanHost c : clients.values()) {
            assertThat(c.ping(server.address())).as("ping from %s", c.label()).isTrue();
        }
        // Nothing routes private space on the internet: a public host cannot reach a LAN directly.
        assertThat(server.ping(clients.get("eim").address())).isFalse();
    }

    @Test
    void endpointIndependentMappingPreservesThePortForEveryDestination() {
        List<Mapped> m = probe(clients.get("eim"));
        assertThat(m).hasSize(3).allSatisfy(x -> {
            assertThat(x.ip())
                    .isEqualTo(clients.get("eim").router().publicAddress().getHostAddress());
            assertThat(x.port()).isEqualTo(CLIENT_PORT);
        });
    }

    @Test
    void twoLanHostsOnOnePortShareThePublicPortUntilTheyMeetTheSameDestination() {
        // The documented exception to port preservation: the NAT keeps a port while the 5-tuple is unique.
        // A site of its own: conntrack state from other tests must not decide the outcome.
        var router = lab.addSite("shared-gw", NatBehaviour.EIM);
        LanHost first = router.addHost("shared1");
        LanHost second = router.addHost("shared2");
        assertThat(probe(first, reflectors.get(0))).extracting(Mapped::port).containsExactly(CLIENT_PORT);
        List<Mapped> m = probe(second, reflectors.get(2), reflectors.get(0));
        assertThat(m.get(0).port()).as("different destination: port kept").isEqualTo(CLIENT_PORT);
        assertThat(m.get(1).port())
                .as("same destination as the first host: port changed")
                .isNotEqualTo(CLIENT_PORT);
    }

    @Test
    void remappedEndpointIndependentMappingKeepsOneNewPortForEveryDestination() {
        List<Mapped> m = probe(clients.get("remap"));
        assertThat(m).hasSize(3);
        assertThat(m)
                .extracting(Mapped::ip)
                .containsOnly(clients.get("remap").router().publicAddress().getHostAddress());
        assertThat(m).extracting(Mapped::port).containsOnly(m.get(0).port());
        assertThat(m.get(0).port())
                .isBetween(NatMapping.REMAP_LOW, NatMapping.REMAP_HIGH)
                .isNotEqualTo(CLIENT_PORT);
    }

    @Test
    void masqueradeRandomGivesEachDestinationItsOwnMapping() {
        assertSymmetric(clients.get("sym"));
    }

    @Test
    void masqueradeFullyRandomGivesEachDestinationItsOwnMapping() {
        assertSymmetric(clients.get("symfr"));
    }

    @Test
    void droppingTheFirstDatagramOfAFlowDefeatsOnlyClientsThatDoNotRetry() {
        var router = lab.addSite("first-gw", NatBehaviour.EIM);
        LanHost client = router.addHost("first");
        router.dropFirstOutboundDatagram();
        String dest = reflectors.get(0);
        var once = client.runJava(
                RUN, UdpMappingClient.class.getName(), "--port", "41000", "--tries", "1", "--timeout-ms", "500", dest);
        assertThat(once.output()).contains("TIMEOUT " + dest);
        // A new flow (another source port): its first try is dropped, the second gets through.
        var twice = client.runJava(
                RUN, UdpMappingClient.class.getName(), "--port", "41001", "--tries", "2", "--timeout-ms", "500", dest);
        assertThat(twice.output()).contains("MAPPED " + dest);
    }

    @Test
    void udpBlockedTimesOutForEveryDestination() {
        var run = clients.get("blocked")
                .runJava(
                        RUN,
                        UdpMappingClient.class.getName(),
                        "--tries",
                        "2",
                        "--timeout-ms",
                        "300",
                        reflectors.get(0),
                        reflectors.get(2));
        assertThat(run.output())
                .contains("TIMEOUT " + reflectors.get(0))
                .contains("TIMEOUT " + reflectors.get(2))
                .doesNotContain("MAPPED");
    }

    @Test
    void portRestrictedFilteringAdmitsOnlyTheContactedIpAndPort() {
        assertThat(inboundAfterPokes(clients.get("eim"))).isEmpty();
    }

    @Test
    void addressRestrictedFilteringAdmitsAnyPortOfTheContactedIp() {
        assertThat(inboundAfterPokes(clients.get("restr"))).containsExactly(server.ip() + ":5000");
    }

    @Test
    void endpointIndependentFilteringAdmitsAnyone() {
        assertThat(inboundAfterPokes(clients.get("full")))
                .containsExactlyInAnyOrder(server.ip() + ":5000", other.ip() + ":5000");
    }

    @Test
    void idleMappingsExpireAfterTheConfiguredTimeout() throws InterruptedException {
        // Full cone, so the mapping can be observed from outside without the client sending again.
        var router = lab.addSite("idle-gw", NatBehaviour.FULL_CONE);
        router.setUdpMappingTimeout(Duration.ofSeconds(4));
        LanHost client = router.addHost("idle");
        LabProcess listener = client.startJava(
                "listener",
                UdpMappingClient.class.getName(),
                "--port",
                String.valueOf(CLIENT_PORT),
                "--listen-ms",
                "14000",
                reflectors.get(0));
        String mapped = listener.awaitOutput("^MAPPED \\S+ (\\S+)$", RUN).group(1);
        listener.awaitOutput("^LISTENING", RUN);
        other.runJava(RUN, UdpMappingClient.class.getName(), "--port", "5000", "--send-only", mapped);
        listener.awaitOutput("^INBOUND " + Pattern.quote(other.ip()) + ":5000 ", RUN);
        // Idle longer than the timeout: the mapping (and the inbound flow's own entry) must be gone.
        Thread.sleep(Duration.ofSeconds(6));
        other.runJava(RUN, UdpMappingClient.class.getName(), "--port", "5000", "--send-only", mapped);
        assertThat(listener.waitFor(RUN)).isZero();
        assertThat(Pattern.compile("^INBOUND ", Pattern.MULTILINE)
                        .matcher(listener.output())
                        .results()
                        .count())
                .as(listener.output())
                .isEqualTo(1);
    }

    private void assertSymmetric(LanHost client) {
        // Ask the first reflector again at the end: a mapping, once made, is stable for its destination.
        List<Mapped> m = probe(client, reflectors.get(0), reflectors.get(1), reflectors.get(2), reflectors.get(0));
        assertThat(m).hasSize(4);
        assertThat(m)
                .extracting(Mapped::ip)
                .containsOnly(client.router().publicAddress().getHostAddress());
        assertThat(List.of(m.get(0).port(), m.get(1).port(), m.get(2).port())).doesNotHaveDuplicates();
        assertThat(m.get(3).port()).isEqualTo(m.get(0).port());
    }

    private List<Mapped> probe(LanHost client) {
        return probe(client, reflectors.toArray(String[]::new));
    }

    /** Runs the mapping client from {@code client}'s port 40000 against {@code destinations}, in order. */
    private List<Mapped> probe(LanHost client, String... destinations) {
        List<String> args = new ArrayList<>(List.of("--port", String.valueOf(CLIENT_PORT)));
        args.addAll(List.of(destinations));
        var run = client.runJava(RUN, UdpMappingClient.class.getName(), args.toArray(String[]::new));
        assertThat(run.exitCode()).as(run.output()).isZero();
        List<Mapped> out = new ArrayList<>();
        Matcher matcher = MAPPED.matcher(run.output());
        while (matcher.find()) {
            out.add(new Mapped(matcher.group(1), matcher.group(2), Integer.parseInt(matcher.group(3))));
        }
        assertThat(out).as("every destination answered: %s", run.output()).hasSize(destinations.length);
        return out;
    }

    /**
     * The client maps a port through the server's first reflector and listens; then the server
     * (same IP, port 5000) and another public host (port 5000) send to the mapped address. Returns
     * the sources whose datagrams got through.
     */
    private List<String> inboundAfterPokes(LanHost client) {
        LabProcess listener = client.startJava(
                "listener",
                UdpMappingClient.class.getName(),
                "--port",
                String.valueOf(CLIENT_PORT),
                "--listen-ms",
                "4000",
                reflectors.get(0));
        Matcher m = listener.awaitOutput("^MAPPED \\S+ (\\S+)$", RUN);
        String mapped = m.group(1);
        listener.awaitOutput("^LISTENING", RUN);
        for (Host poker : List.of(server, other)) {
            var run = poker.runJava(RUN, UdpMappingClient.class.getName(), "--port", "5000", "--send-only", mapped);
            assertThat(run.exitCode()).as(run.output()).isZero();
        }
        assertThat(listener.waitFor(RUN)).isZero();
        List<String> from = new ArrayList<>();
        Matcher in = Pattern.compile("^INBOUND (\\S+) ", Pattern.MULTILINE).matcher(listener.output());
        while (in.find()) {
            from.add(in.group(1));
        }
        return from;
    }

    private record Mapped(String destination, String ip, int port) {}
}
