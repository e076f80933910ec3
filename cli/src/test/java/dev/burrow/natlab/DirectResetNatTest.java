package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.fault.ResetEndpoint;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.LanHost;
import dev.burrow.netlab.Namespace.Finished;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.RequiresNetLab;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 19 on the direct path: a reset from either end of a forwarded stream reaches the other end
 * as a reset while the stream is backed up behind a slow reader, when the stream travels on the
 * hole-punched QUIC path (the relay-path variants, per relay transport, are the fault suite's
 * {@code *ResetFaultTest}). Real processes behind real kernel NATs: a relay, agent a exposing a
 * {@link ResetEndpoint} target, agent b forwarding a port to it; the other end of each stream is a
 * {@link ResetEndpoint} in b's namespace.
 */
@RequiresNetLab
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DirectResetNatTest {
    /** Bytes sent before the reset: far more than every buffer on the way holds when the reader is slow. */
    static final long END_AT = 8L << 20;

    static final long SEED = 7;
    /** How long the far end may take to learn of the reset (liveness, not performance: it hung forever before). */
    static final long LIVENESS_MILLIS = 30_000;

    @Test
    void resetsFromEitherEndReachASlowReaderOnTheDirectPath() {
        try (NetLab lab = NetLab.create()) {
            DirectLab d = new DirectLab(lab);
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.EIM);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.EIM);
            String target = "127.0.0.1:" + DirectLab.SOURCE_PORT;
            String forward = "127.0.0.1:" + DirectLab.FORWARD_PORT;
            d.startAgents(
                    a,
                    b,
                    "reset endpoint listening",
                    ResetEndpoint.class.getName(),
                    "serve",
                    target,
                    Long.toString(END_AT),
                    Long.toString(SEED));
            LabProcess targetProcess = d.source;
            // The first connections go through the relay and start hole punching; wait for direct.
            await("b's path to a is direct")
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> {
                        Finished w = b.runJava(Duration.ofSeconds(30), ResetEndpoint.class.getName(), "warm", forward);
                        assertThat(w.exitCode()).as(w.output()).isZero();
                        return "direct".equals(d.peerPath(b)) && "direct".equals(d.lastForwardPath(b));
                    });

            // a's target resets mid-stream; b's client reads slowly.
            Finished client = b.runJava(
                    Duration.ofSeconds(180),
                    ResetEndpoint.class.getName(),
                    "fetch-slow",
                    forward,
                    Long.toString(END_AT),
                    Long.toString(SEED));
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
            long sent = millis(targetProcess.awaitOutput("RESET_SENT (\\d+)", Duration.ofSeconds(30)));
            assertReaderSawReset(client.output(), sent, "target reset, client reading slowly");

            // b's client resets mid-stream; a's target reads slowly.
            Finished sender = b.runJava(
                    Duration.ofSeconds(180),
                    ResetEndpoint.class.getName(),
                    "send-reset",
                    forward,
                    Long.toString(END_AT),
                    Long.toString(SEED));
            assertThat(sender.exitCode()).as(sender.output()).isZero();
            Matcher sentAt =
                    java.util.regex.Pattern.compile("RESET_SENT (\\d+)").matcher(sender.output());
            assertThat(sentAt.find()).as(sender.output()).isTrue();
            assertThat(d.lastForwardPath(b)).isEqualTo("direct");
            Matcher end = targetProcess.awaitOutput("READER_END .*", Duration.ofSeconds(150));
            assertReaderSawReset(end.group(), Long.parseLong(sentAt.group(1)), "client reset, target reading slowly");
        }
    }

    private static long millis(Matcher m) {
        return Long.parseLong(m.group(1));
    }

    /** The reader's line says RESET, no wrong byte, nothing past the end point, within the liveness bound. */
    private static void assertReaderSawReset(String output, long resetSentAt, String what) {
        Matcher m = java.util.regex.Pattern.compile("READER_END (\\w+) received=(\\d+) mismatch=(-?\\d+) at=(\\d+)")
                .matcher(output);
        assertThat(m.find()).as("%s: %s", what, output).isTrue();
        assertThat(m.group(1)).as("%s: %s", what, output).isEqualTo("RESET");
        assertThat(Long.parseLong(m.group(3)))
                .as("%s: every byte is the stream's: %s", what, output)
                .isEqualTo(-1);
        assertThat(Long.parseLong(m.group(2)))
                .as("%s: nothing past the end point: %s", what, output)
                .isLessThanOrEqualTo(END_AT);
        assertThat(Long.parseLong(m.group(4)) - resetSentAt)
                .as("%s: seen within %d ms of the reset: %s", what, LIVENESS_MILLIS, output)
                .isLessThanOrEqualTo(LIVENESS_MILLIS);
        System.out.printf(
                "%s (direct path): %s, %d ms after the reset%n",
                what, m.group(), Long.parseLong(m.group(4)) - resetSentAt);
    }
}
