package dev.burrow.agent.relay;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which relay is home: pure decision logic over RTT samples and connection events, with the time
 * passed in (nanoseconds of a monotonic clock), so it is tested with a fake clock. Not thread-safe:
 * {@link HomeRelaySelector} confines it to the relay client's event loop.
 *
 * <p>Rules:
 * <ul>
 * <li>Each relay keeps a smoothed RTT (exponentially weighted, {@link Settings#ewmaWeight} for the
 *     newest sample). A failed probe makes the relay unreachable until a probe succeeds again.</li>
 * <li><b>Initial</b>: the reachable relay with the lowest smoothed RTT, else the first configured.</li>
 * <li><b>Latency switch (hysteresis)</b>: only when the same other relay beats home by at least
 *     {@link Settings#switchFraction} of home's RTT <em>and</em> {@link Settings#switchMinGain}, in
 *     {@link Settings#switchRounds} consecutive rounds, and at least {@link Settings#minDwell} after
 *     the previous switch. A single slow round resets the streak, so two close relays never flap.</li>
 * <li><b>Drain</b> (RESTARTING or DENY DRAINING): the relay is excluded for the drain window (its
 *     probes may still succeed while it drains) and home moves at once to the best other relay.</li>
 * <li><b>Death</b> (connection lost, ping timeout, connect failure): the relay is unreachable until a
 *     probe succeeds; home moves at once to the best other relay.</li>
 * <li>Order of preference for a move: reachable by RTT, then never measured, then unreachable
 *     ones with the oldest failure first (so retries rotate), then draining ones; configuration
 *     order breaks ties. When every relay is down the client's backoff paces the rotation.</li>
 * <li>Coming back to a relay that drained or died happens only by the latency rule.</li>
 * </ul>
 */
public final class HomeRelayPolicy {

    /**
     * @param switchFraction relative RTT gain needed for a latency switch (0.30 = 30 % faster)
     * @param switchMinGain  absolute RTT gain needed as well (small RTTs differ by noise)
     * @param switchRounds   consecutive measurement rounds the same relay must win
     * @param minDwell       least time between two latency switches
     * @param ewmaWeight     weight of the newest sample in the smoothed RTT
     * @param drainExclusion least time a draining relay is left alone (its own {@code tryFor} may be longer)
     */
    public record Settings(
            double switchFraction,
            Duration switchMinGain,
            int switchRounds,
            Duration minDwell,
            double ewmaWeight,
            Duration drainExclusion) {
        /** 30 %: a relay that is only marginally faster is not worth dropping a warm connection for. */
        public static final double DEFAULT_SWITCH_FRACTION = 0.30;
        /** 10 ms: below that, RTT differences are scheduling noise and nobody notices them. */
        public static final Duration DEFAULT_SWITCH_MIN_GAIN = Duration.ofMillis(10);
        /** 3 rounds (minutes at the default probe interval): a passing congestion does not move us. */
        public static final int DEFAULT_SWITCH_ROUNDS = 3;
        /** 5 minutes between latency switches: bounds churn on the relays even if RTTs oscillate slowly. */
        public static final Duration DEFAULT_MIN_DWELL = Duration.ofMinutes(5);
        /** 0.3: a sample counts, but one outlier cannot make a relay look twice as fast. */
        public static final double DEFAULT_EWMA_WEIGHT = 0.3;
        /** 30 s: a drained relay's replacement pod is usually ready by then; it must still win on latency to become home. */
        public static final Duration DEFAULT_DRAIN_EXCLUSION = Duration.ofSeconds(30);

        public static final Settings DEFAULTS = new Settings(
                DEFAULT_SWITCH_FRACTION,
                DEFAULT_SWITCH_MIN_GAIN,
                DEFAULT_SWITCH_ROUNDS,
                DEFAULT_MIN_DWELL,
                DEFAULT_EWMA_WEIGHT,
                DEFAULT_DRAIN_EXCLUSION);

        public Settings {
            if (!(switchFraction >= 0 && switchFraction < 1)) {
                throw new IllegalArgumentException("switchFraction must be in [0, 1)");
            }
            if (switchMinGain == null || switchMinGain.isNegative()) {
                throw new IllegalArgumentException("switchMinGain must be >= 0");
            }
            if (switchRounds < 1) {
                throw new IllegalArgumentException("switchRounds must be >= 1");
            }
            if (minDwell == null || minDwell.isNegative() || drainExclusion == null || drainExclusion.isNegative()) {
                throw new IllegalArgumentException("durations must be >= 0");
            }
            if (!(ewmaWeight > 0 && ewmaWeight <= 1)) {
                throw new IllegalArgumentException("ewmaWeight must be in (0, 1]");
            }
        }
    }

    /** A decided change of home. */
    public record Move(URI from, URI to, RelaySwitchReason reason, String why) {}

    /** What status shows about one relay. {@code smoothedRttMillis}/{@code lastRttMillis} are null until measured. */
    public record CandidateView(
            URI url,
            String region,
            Double smoothedRttMillis,
            Double lastRttMillis,
            String state,
            String lastError,
            boolean home) {}

    /** State of one relay. */
    private static final class Entry {
        final RelayCandidate relay;
        final int order;
        double srttMillis = Double.NaN;
        double lastRttMillis = Double.NaN;
        boolean reachable; // last probe or connection succeeded
        boolean measured; // ever had a successful sample
        long lastFailureNanos; // when it last failed (probe or connection); 0 = never
        boolean failedOnce;
        long drainingUntilNanos;
        boolean draining;
        String lastError;

        Entry(RelayCandidate relay, int order) {
            this.relay = relay;
            this.order = order;
        }

        boolean drainingAt(long now) {
            return draining && now - drainingUntilNanos < 0;
        }

        String state(long now) {
            if (drainingAt(now)) {
                return "draining";
            }
            if (reachable) {
                return "up";
            }
            return failedOnce ? "down" : "unknown";
        }
    }

    // Final after construction.
    private final Settings settings;

    // Guarded by the caller (HomeRelaySelector's lock): this class has no lock of its own.
    private final Map<URI, Entry> entries = new LinkedHashMap<>();
    private Entry home;
    private String homeReason = "no relay chosen yet";
    private long lastSwitchNanos;
    private boolean everSwitched;
    private Entry challenger;
    private int streak;

    public HomeRelayPolicy(List<RelayCandidate> relays, Settings settings) {
        if (relays.isEmpty()) {
            throw new IllegalArgumentException("no relays");
        }
        this.settings = Objects.requireNonNull(settings, "settings");
        int i = 0;
        for (RelayCandidate r : relays) {
            if (entries.putIfAbsent(r.url(), new Entry(r, i++)) != null) {
                throw new IllegalArgumentException("relay " + r.url() + " is listed twice");
            }
        }
    }

    public Settings settings() {
        return settings;
    }

    public List<URI> urls() {
        return List.copyOf(entries.keySet());
    }

    /** The current home, or null before {@link #chooseInitial}. */
    public URI home() {
        return home == null ? null : home.relay.url();
    }

    /** Why the current home was chosen (for status). */
    public String homeReason() {
        return homeReason;
    }

    // ------------------------------------------------------------------ samples

    /** A successful measurement of {@code url}. */
    public void sample(URI url, Duration rtt, long now) {
        Entry e = entries.get(url);
        if (e == null) {
            return;
        }
        double ms = rtt.toNanos() / 1e6;
        e.lastRttMillis = ms;
        e.srttMillis = e.measured ? e.srttMillis + settings.ewmaWeight() * (ms - e.srttMillis) : ms;
        e.measured = true;
        e.reachable = true;
        e.lastError = null;
    }

    /** A failed measurement of {@code url} (timeout, refused, TLS failure). */
    public void probeFailed(URI url, String error, long now) {
        Entry e = entries.get(url);
        if (e == null) {
            return;
        }
        markDown(e, error, now);
    }

    private static void markDown(Entry e, String error, long now) {
        e.reachable = false;
        e.failedOnce = true;
        e.lastFailureNanos = now;
        e.lastError = error;
    }

    // ------------------------------------------------------------------ decisions

    /** Chooses the first home: the fastest reachable relay, else the first configured. */
    public URI chooseInitial(long now) {
        Entry best = bestOther(null, now);
        Entry chosen = best; // ranked: measured and reachable, untried, down (oldest failure first), draining
        if (chosen.reachable && chosen.measured) {
            homeReason = String.format(Locale.ROOT, "initial: lowest RTT (%.1f ms)", chosen.srttMillis);
        } else {
            homeReason = "initial: no RTT measured yet (first configured relay not known to be down)";
        }
        home = chosen;
        return chosen.relay.url();
    }

    /**
     * After a measurement round: a latency switch when the hysteresis rule holds, else empty. A
     * returned move is already applied ({@link #home()} is its target).
     */
    public Optional<Move> evaluate(long now) {
        if (home == null || !home.reachable || !home.measured || home.drainingAt(now)) {
            resetStreak();
            return Optional.empty(); // home's own trouble is handled by homeLost, not by latency
        }
        Entry best = null;
        for (Entry e : entries.values()) {
            if (e != home
                    && e.reachable
                    && e.measured
                    && !e.drainingAt(now)
                    && (best == null || e.srttMillis < best.srttMillis)) {
                best = e;
            }
        }
        if (best == null || !clearlyBetter(best, home)) {
            resetStreak();
            return Optional.empty();
        }
        if (best != challenger) {
            challenger = best;
            streak = 0;
        }
        streak++;
        if (streak < settings.switchRounds()) {
            return Optional.empty();
        }
        if (everSwitched && now - lastSwitchNanos < settings.minDwell().toNanos()) {
            return Optional.empty(); // keep the streak: switch once the dwell time has passed
        }
        String why = String.format(
                Locale.ROOT, "lower RTT: %.1f ms vs %.1f ms for %d rounds", best.srttMillis, home.srttMillis, streak);
        return Optional.of(switchTo(best, RelaySwitchReason.LATENCY, why, now));
    }

    private boolean clearlyBetter(Entry challenger, Entry incumbent) {
        double gain = incumbent.srttMillis - challenger.srttMillis;
        return gain >= settings.switchMinGain().toNanos() / 1e6
                && gain >= settings.switchFraction() * incumbent.srttMillis;
    }

    private void resetStreak() {
        challenger = null;
        streak = 0;
    }

    /**
     * The home relay drains or died: marks it and moves home to the best other relay. Empty when no
     * other relay is configured (the client then keeps retrying home, as with a single relay).
     *
     * @param drainFor how long to leave a draining relay alone (its RESTARTING {@code tryFor}); ignored for DEAD
     */
    public Optional<Move> homeLost(URI url, RelaySwitchReason reason, String why, Duration drainFor, long now) {
        Entry lost = entries.get(url);
        if (lost == null) {
            return Optional.empty();
        }
        if (reason == RelaySwitchReason.DRAINING) {
            Duration d = drainFor == null || drainFor.compareTo(settings.drainExclusion()) < 0
                    ? settings.drainExclusion()
                    : drainFor;
            lost.draining = true;
            lost.drainingUntilNanos = now + d.toNanos();
            lost.lastError = why;
        } else {
            markDown(lost, why, now);
        }
        if (lost != home) {
            return Optional.empty();
        }
        Entry next = bestOther(lost, now);
        if (next == null) {
            return Optional.empty();
        }
        return Optional.of(switchTo(
                next,
                reason,
                "previous home " + (reason == RelaySwitchReason.DRAINING ? "drains" : "died") + " (" + why + ")",
                now));
    }

    /**
     * The relay for the next connection attempt after a failed one: home while it is usable, else
     * the best other relay (which becomes home). Rotates through the relays while all are down.
     */
    public URI nextAttempt(URI failed, String why, long now) {
        Entry f = failed == null ? null : entries.get(failed);
        if (f != null && f == home) {
            Optional<Move> m = homeLost(failed, RelaySwitchReason.DEAD, why, null, now);
            if (m.isPresent()) {
                return m.get().to();
            }
        } else if (f != null) {
            markDown(f, why, now);
        }
        if (home == null) {
            return chooseInitial(now);
        }
        if (home.failedOnce && !home.reachable || home.drainingAt(now)) {
            Entry next = bestOther(home, now);
            int hr = rank(home, now);
            if (next != null
                    && (rank(next, now) < hr
                            || rank(next, now) == hr && hr == 2 && next.lastFailureNanos - home.lastFailureNanos < 0)) {
                // a better relay, or (all down) the one that failed longest ago: attempts rotate
                switchTo(next, RelaySwitchReason.DEAD, "previous home unreachable", now);
            }
        }
        return home.relay.url();
    }

    /** The client is connected to {@code url}: it is reachable and is home. */
    public void connected(URI url, long now) {
        Entry e = entries.get(url);
        if (e == null) {
            return;
        }
        e.reachable = true;
        e.lastError = null;
        if (home != e) {
            home = e;
            homeReason = "connected";
        }
    }

    private Move switchTo(Entry to, RelaySwitchReason reason, String why, long now) {
        URI from = home == null ? null : home.relay.url();
        home = to;
        homeReason = reason.tag() + ": " + why;
        lastSwitchNanos = now;
        everSwitched = true;
        resetStreak();
        return new Move(from, to.relay.url(), reason, why);
    }

    /** The best relay other than {@code exclude}, or null when there is none. */
    private Entry bestOther(Entry exclude, long now) {
        List<Entry> others = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e != exclude) {
                others.add(e);
            }
        }
        return others.stream()
                .min(Comparator.<Entry>comparingInt(e -> rank(e, now))
                        .thenComparingDouble(e -> rank(e, now) == 0 ? e.srttMillis : 0)
                        .thenComparingLong(e -> rank(e, now) == 2 ? e.lastFailureNanos - now : 0)
                        .thenComparingInt(e -> e.order))
                .orElse(null);
    }

    /** 0 reachable and measured, 1 reachable but not measured or never tried, 2 down, 3 draining. */
    private static int rank(Entry e, long now) {
        if (e.drainingAt(now)) {
            return 3;
        }
        if (e.reachable && e.measured) {
            return 0;
        }
        if (e.reachable || !e.failedOnce) {
            return 1;
        }
        return 2;
    }

    /** Every relay with its RTT and state, in configuration order. */
    public List<CandidateView> view(long now) {
        List<CandidateView> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            out.add(new CandidateView(
                    e.relay.url(),
                    e.relay.region(),
                    e.measured ? round(e.srttMillis) : null,
                    Double.isNaN(e.lastRttMillis) ? null : round(e.lastRttMillis),
                    e.state(now),
                    e.lastError,
                    e == home));
        }
        return out;
    }

    private static double round(double ms) {
        return Math.round(ms * 10) / 10.0;
    }
}
