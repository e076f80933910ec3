package dev.burrow.natlab;

import dev.burrow.netlab.Impairment;
import dev.burrow.netlab.LabCapabilities;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.NetLabSupport;
import dev.burrow.netlab.RequiresNetLab;
import java.time.Duration;
import java.time.LocalTime;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Measurement for docs/benchmarks.md (prints, asserts nothing about time): from the first
 * connection through b's forward (which asks for a direct path) to the verified direct path (first
 * pong) and to the QUIC connection being up, with no added delay, 20 ms and 100 ms on a's link
 * (a delay box delays both directions, so the round trip grows by twice that).
 */
@RequiresNetLab
@Tag("bench")
@EnabledIfEnvironmentVariable(
        named = "BURROW_BENCH",
        matches = "1",
        disabledReason = "a measurement: BURROW_BENCH=1 to run it")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DirectPathTimingNatTest {

    /** The timestamp (HH:mm:ss.SSS, the agent's log format) of the first log line containing {@code text}. */
    private static LocalTime stamp(String log, String text) {
        for (String line : log.split("\n")) {
            if (line.contains(text) && line.length() > 12) {
                return LocalTime.parse(line.substring(0, 12));
            }
        }
        throw new AssertionError("no '" + text + "' in the agent's log:\n" + log);
    }

    @Test
    void timeToDirectPath() {
        NetLabSupport.requireFeature(LabCapabilities.get().delay(), "delay needs netem or socat + /dev/net/tun", true);
        StringBuilder report = new StringBuilder();
        for (int delay : new int[] {0, 20, 100}) {
            try (NetLab lab = NetLab.create()) {
                DirectLab d = new DirectLab(lab);
                LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
                LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
                if (delay > 0) {
                    a.impair(Impairment.delay(Duration.ofMillis(delay)));
                }
                d.startAgents(a, b, 64 * 1024, 0);
                LabProcess agentB = d.agentB;
                d.fetchIntact(b, 64 * 1024);
                agentB.awaitOutput("QUIC connection (to|from) \\S+ at \\S+ up", Duration.ofSeconds(60));
                String log = agentB.output();
                // the agent's own log timestamps: the connection made b ask for a direct path (call-me-maybe)
                LocalTime asked = stamp(log, "call-me-maybe to ");
                LocalTime verified = stamp(log, "direct path to ");
                LocalTime quic = stamp(log, "QUIC connection ");
                report.append(String.format(
                        Locale.ROOT,
                        "added delay %3d ms on a's link: verified direct path %4d ms, QUIC up %4d ms after the first connection%n",
                        delay,
                        Duration.between(asked, verified).toMillis(),
                        Duration.between(asked, quic).toMillis()));
            }
        }
        System.out.print(report);
    }
}
