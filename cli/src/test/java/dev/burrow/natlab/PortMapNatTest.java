package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.Namespace.Finished;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NatRouter;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.NetLabSupport;
import dev.burrow.netlab.PublicHost;
import dev.burrow.netlab.RequiresNetLab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 16, item 3 (port mapping), behind real kernel NATs: both agents behind endpoint-dependent
 * ("symmetric") NATs, which alone keep them on the relay. With Debian's miniupnpd (PCP and NAT-PMP,
 * or UPnP IGD) on a's router, a maps its direct-path sockets, b reaches a at the mapped address, and the path
 * goes direct; without it, a's agent gives up at once (the gateway has no server: port unreachable)
 * and the path stays relayed, with the reason in the status.
 */
@RequiresNetLab
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PortMapNatTest {
    static final Path MINIUPNPD = Path.of("/usr/sbin/miniupnpd");
    static final long BYTES = 2L << 20;
    static final Duration DIRECT_WITHIN = Duration.ofSeconds(60);
    /** The router's public address, as miniupnpd (via STUN) and the agent's mapping see it. */
    static final String MAPPED =
            "port mapping \\((server|client)\\): UDP (\\d+) mapped to ([0-9.]+):(\\d+) by (pcp|nat-pmp|upnp)";

    @Test
    void aPortMappedByPcpTakesTwoSymmetricNatsDirect() {
        mappedPortTakesTwoSymmetricNatsDirect(true, "pcp", "[\"pcp\",\"nat-pmp\"]");
    }

    /** The same with miniupnpd speaking only UPnP IGD: the agent falls through PCP and NAT-PMP to it. */
    @Test
    void aPortMappedByUpnpTakesTwoSymmetricNatsDirect() {
        mappedPortTakesTwoSymmetricNatsDirect(false, "upnp", "[\"upnp\"]");
    }

    private void mappedPortTakesTwoSymmetricNatsDirect(boolean pcp, String protocol, String offered) {
        NetLabSupport.requireFeature(
                Files.isExecutable(MINIUPNPD),
                "miniupnpd not installed (scripts/install-test-deps.sh installs miniupnpd-nftables)",
                true);
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            NatRouter gw = lab.addSite("a-gw", NatBehaviour.EIM);
            LabProcess upnpd = startMiniupnpd(lab, gw, pcp);
            // Now the NAT the agents would stay relayed behind.
            gw.setBehaviour(NatBehaviour.SYMMETRIC);
            LanHost a = gw.addHost("a");
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC);

            // netcheck reports what the gateway offers.
            JsonNode pm = netcheck(d, a).path("portMapping");
            assertThat(pm.path("offered").toString()).as("%s", pm).isEqualTo(offered);
            assertThat(pm.path("gateway").asText()).isEqualTo(gw.lanGateway().getHostAddress() + ":5351");
            if (pcp) {
                assertThat(pm.path("externalAddress").asText())
                        .isEqualTo(gw.publicAddress().getHostAddress());
            }

            d.startAgents(a, b, BYTES, 0);
            Matcher mapped = d.agentA.awaitOutput(MAPPED, DirectLab.START);
            assertThat(mapped.group(3)).isEqualTo(gw.publicAddress().getHostAddress());
            assertThat(mapped.group(5)).isEqualTo(protocol);
            upnpd.awaitOutput(pcp ? "PCP.*MAP" : "AddPortMapping", Duration.ofSeconds(10));

            d.fetchIntact(b, BYTES); // relay first; it asks for a direct path
            await("b's path to a goes direct through a's mapped port")
                    .atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));
            d.fetchIntact(b, BYTES);
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
            JsonNode peer = d.peer(b);
            assertThat(peer.path("endpoint").asText())
                    .as("b reaches a at a mapped port: %s", peer)
                    .startsWith(gw.publicAddress().getHostAddress() + ":");
            List<String> mappedPorts = mappedPorts(d.agentA.output());
            assertThat(mappedPorts).contains(peer.path("endpoint").asText().replaceAll(".*:", ""));
            // b's status says the path goes through a's port mapping (a's NAT_INFO named it)
            assertThat(peer.path("reason").asText())
                    .as("%s", peer)
                    .startsWith("direct: via the peer's port mapping (" + (pcp ? "PCP" : "UPnP") + ") at ");
            // a's status shows its mappings: protocol, external address, lease
            JsonNode maps = d.status(a, d.stateA).path("direct").path("portMappings");
            assertThat(maps.size()).as("%s", maps).isEqualTo(2);
            for (JsonNode m : maps) {
                assertThat(m.path("protocol").asText()).as("%s", m).isEqualTo(protocol);
                assertThat(m.path("external").asText())
                        .as("%s", m)
                        .startsWith(gw.publicAddress().getHostAddress() + ":");
                assertThat(m.path("lifetimeSeconds").asLong()).as("%s", m).isPositive();
                assertThat(m.path("expiresInSeconds").asLong())
                        .as("%s", m)
                        .isPositive()
                        .isLessThanOrEqualTo(m.path("lifetimeSeconds").asLong());
            }

            // miniupnpd holds a redirect for each mapped port in its nftables chain.
            String rules = gw.exec("nft", "list", "table", "inet", "filter").stdout();
            for (String port : mappedPorts) {
                assertThat(rules).as("miniupnpd's rules").contains("dport " + port + " ");
            }

            // Agent a exits: its mappings are deleted on the gateway.
            d.agentA.close();
            assertThat(d.agentA.output()).containsPattern("port mapping \\((server|client)\\): \\S+ deleted");
            for (String port : mappedPorts) {
                await("the mapping of port " + port + " is gone from the gateway")
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> !gw.exec("nft", "list", "table", "inet", "filter")
                                .stdout()
                                .contains("dport " + port + " "));
            }
            lab.close();
            assertThat(lab.leftovers()).isEmpty();
        }
    }

    /**
     * {@code direct.port-mapping: false} in agent.yaml: with miniupnpd (PCP) on the gateway the agent
     * asks it nothing, says so in its log and status, and the pair of symmetric NATs stays relayed.
     */
    @Test
    void portMappingSwitchedOffInAgentYamlAsksTheGatewayNothing() throws Exception {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            NatRouter gw = lab.addSite("a-gw", NatBehaviour.EIM);
            LabProcess upnpd = startMiniupnpd(lab, gw, true);
            gw.setBehaviour(NatBehaviour.SYMMETRIC);
            LanHost a = gw.addHost("a");
            Path yaml = d.stateA.resolve("agent.yaml");
            Files.writeString(
                    yaml,
                    String.join(
                            "\n",
                            "relay:",
                            "  url: " + d.relayUrl,
                            "  fingerprint: " + d.fingerprint,
                            "expose:",
                            "  - name: bulk",
                            "    target: 127.0.0.1:" + DirectLab.SOURCE_PORT,
                            "    allow: [tag:lab]",
                            "direct:",
                            "  port-mapping: false",
                            ""));
            LabProcess agent =
                    a.startBurrow("agent", "agent", "--config", yaml.toString(), "--state", d.stateA.toString());
            agent.awaitOutput("port mapping disabled \\(direct.port-mapping: false\\)", DirectLab.START);
            await().atMost(DirectLab.START)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> a.runBurrow(DirectLab.CMD, "ready", "--state", d.stateA.toString())
                                    .exitCode()
                            == 0);
            JsonNode maps = d.status(a, d.stateA).path("direct").path("portMappings");
            assertThat(maps.size()).as("%s", maps).isEqualTo(2);
            for (JsonNode m : maps) {
                assertThat(m.path("protocol").isNull()).as("%s", m).isTrue();
                assertThat(m.path("status").asText()).as("%s", m).startsWith("off");
            }
            Thread.sleep(2000); // a request, had one been sent, would have reached miniupnpd by now
            assertThat(upnpd.output()).doesNotContainPattern("PCP.*MAP");
            assertThat(agent.output()).doesNotContainPattern(MAPPED);
            lab.close();
            assertThat(lab.leftovers()).isEmpty();
        }
    }

    @Test
    void withoutAServerOnTheGatewayTheAgentGivesUpAndStaysOnTheRelay() {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC);
            JsonNode pm = netcheck(d, a).path("portMapping");
            assertThat(pm.path("offered").size()).as("%s", pm).isZero();
            assertThat(pm.path("problem").asText()).contains("port unreachable");
            d.startAgents(a, b, BYTES, 0);
            // Nothing listens on the gateway's PCP port: the first try is answered with port
            // unreachable, so the agent gives up at once (bounded anyway by 2 tries x 250 ms per protocol).
            Matcher gaveUp = d.agentA.awaitOutput(
                    "port mapping \\((server|client)\\): no mapping from gateway [0-9.]+:5351: (.*)",
                    Duration.ofSeconds(30));
            assertThat(gaveUp.group(2)).contains("pcp: ").contains("nat-pmp: ");
            d.fetchIntact(b, BYTES);
            // Punching runs for 5 s per upgrade; give it that and more, then the path is still the relay.
            await().pollDelay(Duration.ofSeconds(15))
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> d.peer(b) != null);
            JsonNode peer = d.peer(b);
            assertThat(peer.path("path").asText()).as("%s", peer).isEqualTo("relay");
            assertThat(peer.path("reason").asText()).as("%s", peer).startsWith("relay");
            d.fetchIntact(b, BYTES);
            assertThat(d.lastForwardPath(b)).isEqualTo("relay");
            assertThat(d.agentA.output()).doesNotContainPattern(MAPPED);
            lab.close();
            assertThat(lab.leftovers()).isEmpty();
        }
    }

    private static JsonNode netcheck(DirectLab d, LanHost h) {
        Finished f = h.runBurrow(DirectLab.CMD, "netcheck", "--relay", d.relayUrl, "--timeout", "2", "-o", "json");
        assertThat(f.exitCode()).as(f.output()).isZero();
        try {
            return DirectLab.JSON.readTree(f.output().substring(f.output().indexOf('{')));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every external port a's agent logged as mapped. */
    private static List<String> mappedPorts(String output) {
        return java.util.regex.Pattern.compile(MAPPED)
                .matcher(output)
                .results()
                .map(m -> m.group(4))
                .distinct()
                .toList();
    }

    /**
     * Starts miniupnpd on the router: NAT-PMP and PCP only, or UPnP IGD only. miniupnpd refuses to map
     * when its external address is private or reserved, as the lab's documentation addresses are,
     * unless a STUN check shows the interface unfiltered: so it runs against an RFC 5780 STUN server
     * in the lab while the router is still a port-preserving NAT with its input firewall open, and
     * the router becomes symmetric afterwards. miniupnpd's nftables rules go into its own table
     * {@code inet filter} (forwarding stays open, as the lab's routers are).
     */
    static LabProcess startMiniupnpd(NetLab lab, NatRouter gw, boolean pcpAndNatPmp) {
        PublicHost stunHost = lab.addPublicHost("stun5780");
        String alt = stunHost.addAddress().getHostAddress();
        stunHost.startBurrow(
                        "stun-5780",
                        "stun-server",
                        "--listen",
                        stunHost.ip() + ":3478",
                        "--rfc5780-alt",
                        alt + ":3479",
                        "--threads",
                        "1")
                .awaitOutput("^stun-server: udp", DirectLab.START);
        gw.setFirewallInput(false);
        gw.nft("table inet filter {\n"
                + " chain miniupnpd {\n }\n"
                + " chain prerouting_miniupnpd {\n }\n"
                + " chain postrouting_miniupnpd {\n }\n"
                + " chain forward {\n  type filter hook forward priority 0; policy accept;\n  jump miniupnpd\n }\n"
                + " chain prerouting {\n  type nat hook prerouting priority -100; policy accept;\n"
                + "  jump prerouting_miniupnpd\n }\n"
                + " chain postrouting {\n  type nat hook postrouting priority 100; policy accept;\n"
                + "  jump postrouting_miniupnpd\n }\n"
                + "}\n");
        Path conf = lab.workDir().resolve(gw.label() + "-miniupnpd.conf");
        try {
            Files.writeString(
                    conf,
                    String.join(
                            "\n",
                            "ext_ifname=" + NatRouter.WAN,
                            "listening_ip=" + NatRouter.LAN_BRIDGE,
                            "enable_natpmp=" + (pcpAndNatPmp ? "yes" : "no"),
                            "enable_upnp=" + (pcpAndNatPmp ? "no" : "yes"),
                            "secure_mode=yes",
                            "system_uptime=no",
                            "ext_perform_stun=yes",
                            "ext_stun_host=" + stunHost.ip(),
                            "ext_stun_port=3478",
                            "lease_file=" + lab.workDir().resolve(gw.label() + "-miniupnpd.leases"),
                            "uuid=3f8b2e4c-1111-4a5b-9c3d-2e4f5a6b7c8d",
                            "allow 1024-65535 " + gw.lanSubnet() + " 1024-65535",
                            "deny 0-65535 0.0.0.0/0 0-65535",
                            ""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        LabProcess p = gw.start("miniupnpd", List.of(MINIUPNPD.toString(), "-d", "-f", conf.toString()));
        p.awaitOutput("Port forwarding is now enabled", Duration.ofSeconds(30));
        p.awaitOutput(
                pcpAndNatPmp ? "Listening for NAT-PMP/PCP traffic" : "HTTP listening on port", Duration.ofSeconds(30));
        gw.setFirewallInput(true);
        return p;
    }
}
