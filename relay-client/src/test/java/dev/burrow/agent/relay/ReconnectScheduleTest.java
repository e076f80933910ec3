package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.testing.TestIdentities;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The link's reconnect decisions, with times passed in (no clock, no sockets). */
class ReconnectScheduleTest {
    private static final long MS = 1_000_000L;
    private static final IOException LOST = new IOException("connection reset");

    private final ReconnectSchedule schedule = new ReconnectSchedule(
            RelayClientConfig.builder(URI.create("https://r:1"), RelayTrust.system(), TestIdentities.ephemeral("x"))
                    .backoff(Duration.ofMillis(500), Duration.ofSeconds(30))
                    .build(),
            new Random(1));

    @Test
    void aLostConnectionBacksOff() {
        ReconnectSchedule.Plan plan = schedule.afterLoss(LOST, false, 0, 0);
        assertThat(plan.reason()).isEqualTo(RelayUrlSelector.Reason.RECONNECT);
        assertThat(plan.state()).isEqualTo(RelayConnectionState.BACKING_OFF);
        assertThat(plan.delay().toMillis()).isBetween(250L, 500L);
        assertThat(schedule.afterLoss(LOST, false, 0, 0).delay().toMillis()).isBetween(500L, 1000L);
    }

    @Test
    void aRestartingRelayIsRedialledWhenItsReconnectInIsDueThenWithinItsWindow() {
        schedule.restarting(0, 1000, 5000);
        ReconnectSchedule.Plan early = schedule.afterLoss(LOST, true, 0, 200 * MS);
        assertThat(early.reason()).isEqualTo(RelayUrlSelector.Reason.RESTARTING);
        assertThat(early.delay()).isEqualTo(Duration.ofMillis(800));
        assertThat(schedule.afterLoss(LOST, false, 0, 2000 * MS).reason())
                .isEqualTo(RelayUrlSelector.Reason.RESTARTING);
        assertThat(schedule.inRestartWindow(5999 * MS)).isTrue();
        assertThat(schedule.inRestartWindow(6000 * MS)).isFalse();
        assertThat(schedule.afterLoss(LOST, false, 0, 7000 * MS).reason())
                .isEqualTo(RelayUrlSelector.Reason.RESTART_WINDOW_EXPIRED);
        assertThat(schedule.afterLoss(LOST, false, 0, 8000 * MS).reason()).isEqualTo(RelayUrlSelector.Reason.RECONNECT);
    }

    @Test
    void aNewConnectionEndsTheRestartPlan() {
        schedule.restarting(0, 1000, 5000);
        schedule.connected();
        assertThat(schedule.afterLoss(LOST, true, 0, 200 * MS).reason()).isEqualTo(RelayUrlSelector.Reason.RECONNECT);
    }
}
