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
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Measurement for docs/benchmarks.md (prints, asserts nothing about time): from the first
 * connection through b's forward (which asks for a direct path) to the verified direct path (first
 * pong) and to the QUIC connection being up, with no added delay, 20 ms and 100 ms on a's link
 * (a delay box delays both directions, so the round trip grows by twice that).
 */
@RequiresNetLab
@Tag("bench")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DirectPathTimingNatTest {

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
                long t0 = System.nanoTime();
                d.fetchIntact(b, 64 * 1024);
                long fetched = System.nanoTime();
                agentB.awaitOutput("direct path to \\S+ via", Duration.ofSeconds(60));
                long verified = System.nanoTime();
                agentB.awaitOutput("QUIC connection to \\S+ at \\S+ up", Duration.ofSeconds(60));
                long quic = System.nanoTime();
                report.append(String.format(Locale.ROOT,
                        "added delay %3d ms on a's link: first fetch (relay) %.0f ms, verified direct path %.0f ms, QUIC up %.0f ms after connect%n",
                        delay, (fetched - t0) / 1e6, (verified - t0) / 1e6, (quic - t0) / 1e6));
            }
        }
        System.out.print(report);
    }
}
