package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.PublicHost;
import dev.burrow.netlab.RequiresNetLab;
import dev.burrow.netlab.UdpMappingClient;
import dev.burrow.netlab.UdpPuncher;
import dev.burrow.netlab.UdpReflector;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Groundwork for direct paths (issue 5): which pairs of lab NATs a plain UDP hole punch gets
 * through, with nothing but a reflector to learn public endpoints. Each peer learns its mapping
 * from the reflector, then both send to the other's learned endpoint from the same socket for a
 * few seconds. This is the expected-outcome matrix an agent's hole punching must at least match.
 */
@RequiresNetLab
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HolePunchMatrixTest {
    private static final Duration RUN = Duration.ofSeconds(30);
    private static final int PORT = 40000;

    private NetLab lab;
    private String reflector;

    @BeforeAll
    void buildLab() {
        lab = NetLab.create();
        PublicHost server = lab.addPublicHost("server");
        reflector = server.ip() + ":3478";
        server.startJava("reflector", UdpReflector.class.getName(), reflector).awaitOutput("^READY", RUN);
    }

    @AfterAll
    void removeLab() {
        if (lab != null) {
            lab.close();
            assertThat(lab.leftovers()).isEmpty();
        }
    }

    @Test
    void eimToEimPunchesThroughBothWays() {
        Outcome o = punch("ea", NatBehaviour.EIM, "eb", NatBehaviour.EIM);
        assertThat(o.aHeardB()).as(o.toString()).isTrue();
        assertThat(o.bHeardA()).as(o.toString()).isTrue();
    }

    @Test
    void eimToEimFailsWhenARouterAnswersUnsolicitedPackets() throws InterruptedException {
        // Measured kernel behaviour: b's router accepts a's early packets (to itself, ICMP port
        // unreachable) and keeps a conntrack entry a:40000 -> b:40000, so when b then sends to a
        // from 40000 the NAT must pick another port, which a's router drops. Both routers here
        // accept; a starts first so its packets certainly reach b's router before b sends.
        LanHost a = lab.addHostBehindNat("oa", NatBehaviour.EIM);
        LanHost b = lab.addHostBehindNat("ob", NatBehaviour.EIM);
        a.router().setFirewallInput(false);
        b.router().setFirewallInput(false);
        Outcome o = punch(a, b, Duration.ofSeconds(1));
        assertThat(o.aHeardB()).as(o.toString()).isFalse();
        assertThat(o.bHeardA()).as(o.toString()).isFalse();
    }

    @Test
    void remappedEimPunchesThroughToo() {
        Outcome o = punch("ra", NatBehaviour.EIM_REMAPPED, "rb", NatBehaviour.EIM);
        assertThat(o.aHeardB()).as(o.toString()).isTrue();
        assertThat(o.bHeardA()).as(o.toString()).isTrue();
    }

    @Test
    void symmetricToPortRestrictedFailsBothWays() {
        // The symmetric side sends from a new port the other side never learned; the other side's
        // packets go to a mapping that only admits the reflector.
        LanHost a = lab.addHostBehindNat("sa", NatBehaviour.SYMMETRIC);
        LanHost b = lab.addHostBehindNat("sb", NatBehaviour.EIM);
        Outcome o = punch(a, b, Duration.ZERO);
        assertThat(o.aHeardB()).as(o.toString()).isFalse();
        assertThat(o.bHeardA()).as(o.toString()).isFalse();
        // Why, in the routers' conntrack tables (what hard-NAT spraying works around): a's router
        // mapped a's packets to b onto a port X nobody announced, and has had no reply; b's router
        // holds only b's unanswered flow to the port a announced (the reflector's view), so it drops
        // what comes from X.
        String[] bPub = o.bPublic().split(":");
        String[] aPub = o.aPublic().split(":");
        String ctA = a.router().exec("cat", "/proc/net/nf_conntrack").stdout();
        Matcher toB = Pattern.compile("udp .* dst=" + Pattern.quote(bPub[0]) + " sport=" + PORT + " dport=" + bPub[1]
                        + " \\[UNREPLIED\\] src=\\S+ dst=\\S+ sport=\\d+ dport=(\\d+)")
                .matcher(ctA);
        assertThat(toB.find()).as("a's router, flow to b:%n%s", ctA).isTrue();
        assertThat(toB.group(1))
                .as("a's public port towards b is not the announced one")
                .isNotEqualTo(aPub[1]);
        String ctB = b.router().exec("cat", "/proc/net/nf_conntrack").stdout();
        assertThat(ctB)
                .as("b's router: only b's unanswered flow to a's announced endpoint")
                .containsPattern("udp .* dst=" + Pattern.quote(aPub[0]) + " sport=" + PORT + " dport=" + aPub[1]
                        + " \\[UNREPLIED\\]")
                .doesNotContainPattern(
                        "dst=" + Pattern.quote(aPub[0]) + " sport=" + PORT + " dport=" + toB.group(1) + " ");
    }

    @Test
    void symmetricToFullConeGetsThroughOneWayOnly() {
        // The full cone admits the symmetric side's new port; replying to the observed source
        // (a peer-reflexive candidate) would then finish the path; sending to the learned one does not.
        Outcome o = punch("fa", NatBehaviour.SYMMETRIC, "fb", NatBehaviour.FULL_CONE);
        assertThat(o.bHeardA()).as(o.toString()).isTrue();
        assertThat(o.aHeardB()).as(o.toString()).isFalse();
    }

    @Test
    void symmetricToSymmetricFails() {
        Outcome o = punch("ya", NatBehaviour.SYMMETRIC, "yb", NatBehaviour.SYMMETRIC);
        assertThat(o.aHeardB()).as(o.toString()).isFalse();
        assertThat(o.bHeardA()).as(o.toString()).isFalse();
    }

    private record Outcome(
            String aPublic, String bPublic, boolean aHeardB, boolean bHeardA, String aLog, String bLog) {}

    private Outcome punch(String aLabel, NatBehaviour aNat, String bLabel, NatBehaviour bNat) {
        return punch(lab.addHostBehindNat(aLabel, aNat), lab.addHostBehindNat(bLabel, bNat), Duration.ZERO);
    }

    /** Learns both public endpoints, then punches; {@code bStartsLater} delays b's start after a's. */
    private Outcome punch(LanHost a, LanHost b, Duration bStartsLater) {
        String aPublic = learn(a);
        String bPublic = learn(b);
        LabProcess pa =
                a.startJava("punch", UdpPuncher.class.getName(), "--port", String.valueOf(PORT), "--peer", bPublic);
        if (!bStartsLater.isZero()) {
            pa.awaitOutput("^STARTED", RUN);
            try {
                Thread.sleep(bStartsLater);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        LabProcess pb =
                b.startJava("punch", UdpPuncher.class.getName(), "--port", String.valueOf(PORT), "--peer", aPublic);
        assertThat(pa.waitFor(RUN)).as(pa.output()).isZero();
        assertThat(pb.waitFor(RUN)).as(pb.output()).isZero();
        // Whatever arrives comes from the peer's router; which port it came from is in the logs.
        String aRouter = b.router().publicAddress().getHostAddress();
        String bRouter = a.router().publicAddress().getHostAddress();
        return new Outcome(
                aPublic,
                bPublic,
                pa.output().contains("RECEIVED " + aRouter + ":"),
                pb.output().contains("RECEIVED " + bRouter + ":"),
                pa.output(),
                pb.output());
    }

    /** The public endpoint of {@code host}'s port 40000, as the reflector sees it. */
    private String learn(LanHost host) {
        var run = host.runJava(RUN, UdpMappingClient.class.getName(), "--port", String.valueOf(PORT), reflector);
        Matcher m = Pattern.compile("^MAPPED \\S+ (\\S+)$", Pattern.MULTILINE).matcher(run.output());
        assertThat(m.find()).as(run.output()).isTrue();
        return m.group(1);
    }
}
