package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.Namespace.Finished;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.RequiresNetLab;
import dev.burrow.netlab.SiteIpv6;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * IPv6 on the direct path (issue 16, item 4), in a dual-stack lab: each agent's site routes IPv6
 * with no NAT behind a stateful firewall that drops unsolicited inbound ({@code
 * SiteIpv6.STATEFUL_FIREWALL}), and the relay is reached over IPv4. The agents announce their global
 * IPv6 addresses (the fe80:: link-local ones are skipped), punch both firewalls and, where IPv4
 * cannot go direct, take the IPv6 path; where only one side has IPv6 nothing changes.
 */
@RequiresNetLab
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DirectIpv6NatTest {
    static final long SIZE = 1 << 20;
    static final Duration DIRECT_WITHIN = Duration.ofSeconds(30);

    /**
     * Both agents behind symmetric IPv4 NATs (which keep a pair on the relay: see DirectPathNatTest)
     * and IPv6 firewalls: the path goes direct over IPv6, carries the data intact, and status shows
     * the peer's IPv6 endpoint.
     */
    @Test
    void bothBehindIpv6FirewallsGoDirectOverIpv6() {
        try (NetLab lab = NetLab.createDualStack()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC, SiteIpv6.STATEFUL_FIREWALL);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC, SiteIpv6.STATEFUL_FIREWALL);
            d.startAgents(a, b, SIZE, 0);
            await().atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));
            d.fetchIntact(b, SIZE);
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");

            String a6 = "[" + a.ipv6() + "]:";
            JsonNode peer = d.peer(b);
            assertThat(peer.path("endpoint").asText()).startsWith(a6);
            assertThat(peer.path("reason").asText()).startsWith("direct: punched via " + a6);
            Finished text = b.runBurrow(DirectLab.CMD, "status", "--state", d.stateB.toString());
            assertThat(text.exitCode()).as(text.output()).isZero();
            assertThat(text.output()).contains("direct: punched via " + a6);
            // netcheck shows the IPv6 address an agent announces there.
            Finished nc = a.runBurrow(DirectLab.CMD, "netcheck", "--relay", d.relayUrl, "--timeout", "2s");
            assertThat(nc.output()).contains("IPv6 addresses:    " + a.ipv6() + " (direct-path candidates)");
            // The agents announced their global IPv6 addresses and never a link-local one.
            assertThat(d.agentB.output())
                    .containsPattern(Pattern.quote("[" + b.ipv6() + "]:") + "\\d+ \\(local\\)")
                    .doesNotContainPattern("\\[fe80:[^\\]]*\\]:\\d+ \\(local\\)");
        }
    }

    /**
     * Both families can go direct (endpoint-independent IPv4 NATs and IPv6 firewalls on both sides):
     * IPv6 is preferred when its round trip is no worse, so the path and the QUIC connection are on
     * IPv6.
     */
    @Test
    void bothFamiliesDirectPrefersIpv6() {
        try (NetLab lab = NetLab.createDualStack()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM, SiteIpv6.STATEFUL_FIREWALL);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM, SiteIpv6.STATEFUL_FIREWALL);
            d.startAgents(a, b, SIZE, 0);
            await().atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));
            d.fetchIntact(b, SIZE);
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
            assertThat(d.peer(b).path("endpoint").asText()).startsWith("[" + a.ipv6() + "]:");
            // Whichever side is the pair's QUIC client, the connection runs over IPv6.
            assertThat(d.agentB.output()).containsPattern("QUIC connection (to|from) \\S+ at /\\[2001:db8:");
        }
    }

    /**
     * Only a has IPv6 (b's site is IPv4 only), both behind endpoint-independent NATs: b ignores a's
     * IPv6 candidates and the pair goes direct over IPv4 as it always did.
     */
    @Test
    void onlyOneSideWithIpv6StaysOnIpv4() {
        try (NetLab lab = NetLab.createDualStack()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM, SiteIpv6.STATEFUL_FIREWALL);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            d.startAgents(a, b, SIZE, 0);
            await().atMost(DIRECT_WITHIN)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> "direct".equals(d.peerPath(b)));
            d.fetchIntact(b, SIZE);
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
            JsonNode peer = d.peer(b);
            assertThat(peer.path("endpoint").asText())
                    .startsWith(a.router().publicAddress().getHostAddress() + ":");
            assertThat(d.agentA.output()).contains("[" + a.ipv6() + "]:"); // a did announce IPv6
            // b (no IPv6) punched IPv4 only: no path and no QUIC connection over IPv6.
            assertThat(d.agentB.output())
                    .doesNotContainPattern("direct path to \\S+ via /\\[")
                    .doesNotContainPattern("QUIC connection to \\S+ at /\\[");
        }
    }

    /**
     * Only a has IPv6 and both are behind symmetric IPv4 NATs: IPv6 cannot help a side that has
     * none, so the pair stays on the relay as before, with its reason in status, and traffic is
     * intact.
     */
    @Test
    void onlyOneSideWithIpv6BehindSymmetricNatsStaysOnTheRelay() throws Exception {
        try (NetLab lab = NetLab.createDualStack()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC, SiteIpv6.STATEFUL_FIREWALL);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC);
            d.startAgents(a, b, SIZE, 0);
            d.fetchIntact(b, SIZE);
            Thread.sleep(DirectPathNatTest.NO_DIRECT_AFTER.toMillis());
            assertThat(d.peerPath(b)).isEqualTo("relay");
            assertThat(d.peer(b).path("reason").asText()).startsWith("relay: ");
            d.fetchIntact(b, SIZE);
            assertThat(d.lastForwardPath(b)).isEqualTo("relay");
        }
    }
}
