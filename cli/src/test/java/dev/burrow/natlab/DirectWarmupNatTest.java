package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NatRouter;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.RequiresNetLab;
import java.time.Duration;
import java.time.LocalTime;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Warm-up (issue 16, item 1): a forward to a peer starts discovery and punching when it is
 * configured, not with its first connection. Both agents start, the test waits until both report
 * ready (connected to the relay, forward listening) plus one second, and then opens the FIRST
 * connection through b's forward: it must travel on the direct path (the forward's last path in b's
 * status, and the peer's path there), carry its data intact (SHA-256), and be the forward's only
 * connection so far.
 */
@RequiresNetLab
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DirectWarmupNatTest {
    static final long SIZE = 1 << 20;
    /** The brief: one second after both agents are up, the first connection already goes direct. */
    static final Duration AFTER_READY = Duration.ofSeconds(1);

    private static final Pattern STAMP = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3})", Pattern.MULTILINE);

    /** Case: both behind endpoint-independent NATs (the common home router). */
    @Test
    void firstConnectionGoesDirectBehindEimNats() throws Exception {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            firstConnectionDirect(d, a, b, "easy x easy");
        }
    }

    /**
     * Case: double NAT on both sides: a carrier-grade NAT (endpoint-independent, as RFC 6888 asks of
     * one) in front of each home router (also endpoint-independent).
     */
    @Test
    void firstConnectionGoesDirectThroughDoubleNat() throws Exception {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            NatRouter cgnA = lab.addSite("a-cgn", NatBehaviour.EIM);
            NatRouter cgnB = lab.addSite("b-cgn", NatBehaviour.EIM);
            LanHost a = lab.addSiteBehind(cgnA, "a-gw", NatBehaviour.EIM).addHost("a");
            LanHost b = lab.addSiteBehind(cgnB, "b-gw", NatBehaviour.EIM).addHost("b");
            firstConnectionDirect(d, a, b, "double NAT");
        }
    }

    private static void firstConnectionDirect(DirectLab d, LanHost a, LanHost b, String label) throws Exception {
        d.startAgents(a, b, SIZE, 0);
        Thread.sleep(AFTER_READY.toMillis());
        d.fetchIntact(b, SIZE);

        JsonNode status = d.status(b, d.stateB);
        JsonNode forward = status.path("forwards").get(0);
        assertThat(forward.path("acceptedConnections").asLong())
                .as("the fetch was the forward's first connection: %s", forward)
                .isEqualTo(1);
        assertThat(forward.path("path").asText())
                .as("the first connection's path: %s", status)
                .isEqualTo("direct");
        assertThat(d.peerPath(b)).isEqualTo("direct");
        assertThat(d.peer(b).path("reason").asText()).startsWith("direct: punched via ");

        String log = d.agentB.output();
        LocalTime started = firstStamp(log);
        LocalTime direct = stampOf(log, Pattern.compile("QUIC connection (to|from) \\S+ at \\S+ up"));
        System.out.printf(
                "%s: agent b start to direct path (QUIC up) %d ms%n",
                label, Duration.between(started, direct).toMillis());
    }

    private static LocalTime firstStamp(String log) {
        Matcher m = STAMP.matcher(log);
        assertThat(m.find()).as(log).isTrue();
        return LocalTime.parse(m.group(1));
    }

    private static LocalTime stampOf(String log, Pattern p) {
        for (String line : log.split("\n")) {
            Matcher s = STAMP.matcher(line);
            if (p.matcher(line).find() && s.find()) {
                return LocalTime.parse(s.group(1));
            }
        }
        throw new AssertionError("no '" + p + "' in the agent's log:\n" + log);
    }
}
