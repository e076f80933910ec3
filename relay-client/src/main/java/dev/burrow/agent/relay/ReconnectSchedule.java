package dev.burrow.agent.relay;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * When and why the link dials again after losing (or failing to open) its connection: the
 * jittered exponential backoff, the longer pause after a definitive DENY, and a relay's RESTARTING
 * plan (reconnect at once when its {@code reconnectIn} is due, keep trying for its {@code tryFor}).
 * Takes the time as an argument, so its decisions need no clock. Owned by the event loop.
 */
final class ReconnectSchedule {
    /** The next attempt: after {@code delay}, telling the URL selector {@code reason}; the link shows {@code state} meanwhile. */
    record Plan(Duration delay, RelayUrlSelector.Reason reason, RelayConnectionState state) {}

    // Final after construction.
    private final RelayClientConfig config;
    private final RandomGenerator random;
    private final Backoff backoff;

    // Owned by the event loop: the RESTARTING plan of the relay we are on, if any.
    private boolean restartPlanned;
    private long restartReconnectAtNanos;
    private long restartTryUntilNanos;

    ReconnectSchedule(RelayClientConfig config, RandomGenerator random) {
        this.config = config;
        this.random = random;
        this.backoff = new Backoff(config.backoffBase(), config.backoffCap(), random);
    }

    /** The relay announced RESTARTING at {@code now}. */
    void restarting(long now, long reconnectInMillis, long tryForMillis) {
        restartPlanned = true;
        restartReconnectAtNanos = now + TimeUnit.MILLISECONDS.toNanos(reconnectInMillis);
        restartTryUntilNanos = restartReconnectAtNanos + TimeUnit.MILLISECONDS.toNanos(tryForMillis);
    }

    /** A connection was accepted: any restart plan is over. */
    void connected() {
        restartPlanned = false;
    }

    /** True while the restart plan's {@code tryFor} window is open (renewals make sense). */
    boolean inRestartWindow(long now) {
        return now - restartTryUntilNanos < 0;
    }

    /** The next backoff delay (a renewal that failed is retried at this pace). */
    Duration nextBackoff() {
        return backoff.next();
    }

    /**
     * The plan after connection {@code h} closed with {@code cause} at {@code now}: a connection that
     * had been up for {@code stableAfter} resets the backoff first.
     */
    Plan afterLoss(Throwable cause, boolean wasReady, long readyAtNanos, long now) {
        if (wasReady && now - readyAtNanos >= config.stableAfter().toNanos()) {
            backoff.reset();
        }
        if (cause instanceof RelayDeniedException denial) {
            if (denial.definitive()) {
                return new Plan(
                        Backoff.jitter(config.deniedBackoff(), random),
                        RelayUrlSelector.Reason.DENIED,
                        RelayConnectionState.DENIED);
            }
            return new Plan(backoff.next(), RelayUrlSelector.Reason.DENIED, RelayConnectionState.BACKING_OFF);
        }
        Duration delay;
        RelayUrlSelector.Reason reason;
        if (restartPlanned && now < restartReconnectAtNanos) {
            backoff.reset();
            delay = Duration.ofNanos(restartReconnectAtNanos - now);
            reason = RelayUrlSelector.Reason.RESTARTING;
        } else if (restartPlanned && now < restartTryUntilNanos) {
            delay = backoff.next();
            reason = RelayUrlSelector.Reason.RESTARTING;
        } else if (restartPlanned) {
            restartPlanned = false;
            delay = backoff.next();
            reason = RelayUrlSelector.Reason.RESTART_WINDOW_EXPIRED;
        } else {
            delay = backoff.next();
            reason = RelayUrlSelector.Reason.RECONNECT;
        }
        return new Plan(delay, reason, RelayConnectionState.BACKING_OFF);
    }
}
