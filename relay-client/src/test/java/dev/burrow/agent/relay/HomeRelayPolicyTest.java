package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The home relay rules with a fake clock and hand-made RTT samples. */
class HomeRelayPolicyTest {
    static final URI A = URI.create("https://a.example:443");
    static final URI B = URI.create("https://b.example:443");
    static final URI C = URI.create("https://c.example:443");
    static final Duration ROUND = Duration.ofSeconds(60);

    long now = 1_000_000_000L;

    HomeRelayPolicy policy(URI... urls) {
        return new HomeRelayPolicy(
                java.util.Arrays.stream(urls).map(RelayCandidate::new).toList(), HomeRelayPolicy.Settings.DEFAULTS);
    }

    void round(HomeRelayPolicy p, URI url, long ms) {
        p.sample(url, Duration.ofMillis(ms), now);
    }

    void tick() {
        now += ROUND.toNanos();
    }

    @Test
    void initialHomeIsTheFastestReachableRelay() {
        HomeRelayPolicy p = policy(A, B, C);
        round(p, A, 80);
        round(p, B, 20);
        p.probeFailed(C, "connection refused", now);
        assertThat(p.chooseInitial(now)).isEqualTo(B);
        assertThat(p.homeReason()).contains("lowest RTT");
    }

    @Test
    void initialHomeWithoutMeasurementsIsTheFirstConfigured() {
        HomeRelayPolicy p = policy(A, B);
        assertThat(p.chooseInitial(now)).isEqualTo(A);
        assertThat(p.homeReason()).contains("no RTT measured");
    }

    @Test
    void initialHomeSkipsRelaysThatFailed() {
        HomeRelayPolicy p = policy(A, B);
        p.probeFailed(A, "timeout", now);
        assertThat(p.chooseInitial(now)).isEqualTo(B);
    }

    @Test
    void switchesForLatencyOnlyAfterSeveralConsecutiveClearlyBetterRounds() {
        HomeRelayPolicy p = policy(A, B);
        round(p, A, 50);
        round(p, B, 52);
        assertThat(p.chooseInitial(now)).isEqualTo(A);
        p.connected(A, now);
        // B becomes much faster: 50 -> 20 ms samples; EWMA needs a few rounds, and the rule 3 wins in a row.
        int rounds = 0;
        Optional<HomeRelayPolicy.Move> move = Optional.empty();
        while (move.isEmpty() && rounds < 20) {
            tick();
            round(p, A, 50);
            round(p, B, 20);
            move = p.evaluate(now);
            rounds++;
        }
        assertThat(move).isPresent();
        assertThat(rounds).isGreaterThanOrEqualTo(HomeRelayPolicy.Settings.DEFAULT_SWITCH_ROUNDS);
        assertThat(move.get().reason()).isEqualTo(RelaySwitchReason.LATENCY);
        assertThat(move.get().from()).isEqualTo(A);
        assertThat(move.get().to()).isEqualTo(B);
        assertThat(p.home()).isEqualTo(B);
        assertThat(p.homeReason()).startsWith("latency:");
    }

    @Test
    void aSmallOrRelativelySmallGainNeverSwitches() {
        HomeRelayPolicy p = policy(A, B);
        round(p, A, 40);
        round(p, B, 45);
        p.chooseInitial(now);
        for (int i = 0; i < 50; i++) {
            tick();
            round(p, A, 40);
            round(p, B, 32); // 20 % faster: under the 30 % margin
            assertThat(p.evaluate(now)).isEmpty();
        }
        HomeRelayPolicy q = policy(A, B);
        round(q, A, 20);
        round(q, B, 25);
        q.chooseInitial(now);
        for (int i = 0; i < 50; i++) {
            tick();
            round(q, A, 20);
            round(q, B, 12); // 40 % faster but only 8 ms: under the absolute margin
            assertThat(q.evaluate(now)).isEmpty();
        }
        assertThat(p.home()).isEqualTo(A);
        assertThat(q.home()).isEqualTo(A);
    }

    @Test
    void oscillatingRttsNeverFlap() {
        HomeRelayPolicy p = policy(A, B);
        round(p, A, 30);
        round(p, B, 30);
        p.chooseInitial(now);
        int switches = 0;
        for (int i = 0; i < 200; i++) {
            tick();
            // Each relay alternately looks much faster: never three clear wins in a row for one of them.
            boolean aFast = (i / 2) % 2 == 0;
            round(p, A, aFast ? 10 : 60);
            round(p, B, aFast ? 60 : 10);
            if (p.evaluate(now).isPresent()) {
                switches++;
            }
        }
        assertThat(switches).isZero();
    }

    @Test
    void aSingleSlowRoundResetsTheStreak() {
        HomeRelayPolicy p = policy(A, B);
        round(p, A, 100);
        round(p, B, 100);
        p.chooseInitial(now);
        p.connected(A, now);
        HomeRelayPolicy.Settings s = HomeRelayPolicy.Settings.DEFAULTS;
        // Make B's smoothed RTT clearly better, then interrupt the streak before it is long enough.
        for (int i = 0; i < s.switchRounds() - 1; i++) {
            tick();
            round(p, B, 1);
            round(p, A, 100);
            assertThat(p.evaluate(now)).isEmpty();
        }
        tick();
        p.probeFailed(B, "timeout", now); // unreachable this round: streak broken
        assertThat(p.evaluate(now)).isEmpty();
        for (int i = 0; i < s.switchRounds() - 1; i++) {
            tick();
            round(p, B, 1);
            round(p, A, 100);
            assertThat(p.evaluate(now)).isEmpty();
        }
        tick();
        round(p, B, 1);
        round(p, A, 100);
        assertThat(p.evaluate(now)).isPresent();
    }

    @Test
    void latencySwitchesAreSpacedByTheDwellTime() {
        HomeRelayPolicy.Settings s = new HomeRelayPolicy.Settings(
                0.3, Duration.ofMillis(10), 1, Duration.ofMinutes(10), 1.0, Duration.ofSeconds(30));
        HomeRelayPolicy p = new HomeRelayPolicy(List.of(new RelayCandidate(A), new RelayCandidate(B)), s);
        round(p, A, 100);
        round(p, B, 100);
        p.chooseInitial(now);
        tick();
        round(p, A, 100);
        round(p, B, 10);
        assertThat(p.evaluate(now)).map(HomeRelayPolicy.Move::to).contains(B);
        // A is now much faster again; one round is enough by these settings, but the dwell time is not over.
        for (int i = 0; i < 9; i++) {
            tick();
            round(p, A, 10);
            round(p, B, 100);
            assertThat(p.evaluate(now)).as("round %d", i).isEmpty();
        }
        tick();
        round(p, A, 10);
        round(p, B, 100);
        assertThat(p.evaluate(now)).map(HomeRelayPolicy.Move::to).contains(A);
    }

    @Test
    void drainMovesAtOnceToTheBestOtherRelayAndExcludesTheDrainingOne() {
        HomeRelayPolicy p = policy(A, B, C);
        round(p, A, 10);
        round(p, B, 40);
        round(p, C, 30);
        p.chooseInitial(now);
        p.connected(A, now);
        Optional<HomeRelayPolicy.Move> m =
                p.homeLost(A, RelaySwitchReason.DRAINING, "RESTARTING", Duration.ofSeconds(25), now);
        assertThat(m).isPresent();
        assertThat(m.get().to()).isEqualTo(C);
        assertThat(m.get().reason()).isEqualTo(RelaySwitchReason.DRAINING);
        p.connected(C, now);
        // A keeps answering probes while it drains, and is the fastest: still no move back during the drain.
        for (int i = 0; i < 10; i++) {
            now += Duration.ofSeconds(2).toNanos();
            round(p, A, 10);
            round(p, C, 30);
            assertThat(p.evaluate(now)).isEmpty();
        }
        assertThat(p.view(now))
                .filteredOn(v -> v.url().equals(A))
                .first()
                .extracting(HomeRelayPolicy.CandidateView::state)
                .isEqualTo("draining");
    }

    @Test
    void aRelayThatDrainedComesBackOnlyByTheLatencyRule() {
        HomeRelayPolicy p = policy(A, B);
        round(p, A, 10);
        round(p, B, 40);
        p.chooseInitial(now);
        p.connected(A, now);
        p.homeLost(A, RelaySwitchReason.DRAINING, "RESTARTING", Duration.ofSeconds(25), now);
        p.connected(B, now);
        now += HomeRelayPolicy.Settings.DEFAULT_DRAIN_EXCLUSION.toNanos();
        int rounds = 0;
        Optional<HomeRelayPolicy.Move> back = Optional.empty();
        while (back.isEmpty() && rounds < 50) {
            tick();
            round(p, A, 10);
            round(p, B, 40);
            back = p.evaluate(now);
            rounds++;
        }
        assertThat(back).map(HomeRelayPolicy.Move::reason).contains(RelaySwitchReason.LATENCY);
        assertThat(rounds).isGreaterThanOrEqualTo(HomeRelayPolicy.Settings.DEFAULT_SWITCH_ROUNDS);
        // and not before the dwell time since the drain move
        assertThat(Duration.ofNanos(
                        (long) rounds * ROUND.toNanos() + HomeRelayPolicy.Settings.DEFAULT_DRAIN_EXCLUSION.toNanos()))
                .isGreaterThanOrEqualTo(HomeRelayPolicy.Settings.DEFAULT_MIN_DWELL);
    }

    @Test
    void deathMovesAtOnceAndTheDeadRelayStaysOutUntilAProbeSucceeds() {
        HomeRelayPolicy p = policy(A, B);
        round(p, A, 10);
        round(p, B, 40);
        p.chooseInitial(now);
        p.connected(A, now);
        Optional<HomeRelayPolicy.Move> m = p.homeLost(A, RelaySwitchReason.DEAD, "ping timeout", null, now);
        assertThat(m).map(HomeRelayPolicy.Move::to).contains(B);
        assertThat(m).map(HomeRelayPolicy.Move::reason).contains(RelaySwitchReason.DEAD);
        p.connected(B, now);
        assertThat(p.view(now))
                .filteredOn(v -> v.url().equals(A))
                .first()
                .extracting(HomeRelayPolicy.CandidateView::state)
                .isEqualTo("down");
        tick();
        p.probeFailed(A, "connection refused", now);
        round(p, B, 40);
        assertThat(p.evaluate(now)).isEmpty();
        assertThat(p.home()).isEqualTo(B);
    }

    @Test
    void whenEveryRelayIsDownAttemptsRotateOldestFailureFirst() {
        HomeRelayPolicy p = policy(A, B, C);
        p.chooseInitial(now);
        p.connected(A, now);
        assertThat(p.homeLost(A, RelaySwitchReason.DEAD, "lost", null, now))
                .map(HomeRelayPolicy.Move::to)
                .contains(B);
        now += 1_000_000;
        assertThat(p.nextAttempt(B, "refused", now)).isEqualTo(C);
        now += 1_000_000;
        assertThat(p.nextAttempt(C, "refused", now)).isEqualTo(A); // A failed longest ago
        now += 1_000_000;
        assertThat(p.nextAttempt(A, "refused", now)).isEqualTo(B);
        now += 1_000_000;
        assertThat(p.nextAttempt(B, "refused", now)).isEqualTo(C);
        assertThat(p.view(now)).extracting(HomeRelayPolicy.CandidateView::state).containsOnly("down");
    }

    @Test
    void failedAttemptsReportedAsProbeFailuresAlsoRotate() {
        // The selector marks a failed connection attempt down, then asks for the next relay.
        HomeRelayPolicy p = policy(A, B, C);
        assertThat(p.chooseInitial(now)).isEqualTo(A);
        List<URI> attempts = new java.util.ArrayList<>();
        URI current = A;
        for (int i = 0; i < 6; i++) {
            now += 1_000_000;
            p.probeFailed(current, "refused", now);
            current = p.nextAttempt(null, null, now);
            attempts.add(current);
        }
        assertThat(attempts).containsExactly(B, C, A, B, C, A);
    }

    @Test
    void aDrainingHomeIsLeftForARelayThatIsMerelyDown() {
        HomeRelayPolicy p = policy(A, B);
        p.chooseInitial(now);
        p.probeFailed(B, "refused", now);
        p.homeLost(A, RelaySwitchReason.DRAINING, "DENY DRAINING", null, now);
        assertThat(p.nextAttempt(null, null, now)).isEqualTo(B);
    }

    @Test
    void nextAttemptKeepsAHealthyHome() {
        HomeRelayPolicy p = policy(A, B);
        round(p, A, 10);
        round(p, B, 20);
        p.chooseInitial(now);
        assertThat(p.nextAttempt(null, null, now)).isEqualTo(A);
    }

    @Test
    void aSingleRelayHasNowhereToGo() {
        HomeRelayPolicy p = policy(A);
        p.chooseInitial(now);
        p.connected(A, now);
        assertThat(p.homeLost(A, RelaySwitchReason.DRAINING, "RESTARTING", Duration.ofSeconds(25), now))
                .isEmpty();
        assertThat(p.nextAttempt(A, "refused", now)).isEqualTo(A);
    }

    @Test
    void rejectsDuplicatesAndEmptyLists() {
        assertThatThrownBy(() -> policy(A, A)).hasMessageContaining("twice");
        assertThatThrownBy(() -> policy()).hasMessageContaining("no relays");
    }

    @Test
    void smoothedRttFollowsSamplesWithTheConfiguredWeight() {
        HomeRelayPolicy p = policy(A);
        round(p, A, 100);
        round(p, A, 0);
        assertThat(p.view(now).get(0).smoothedRttMillis()).isEqualTo(70.0);
        assertThat(p.view(now).get(0).lastRttMillis()).isEqualTo(0.0);
    }
}
