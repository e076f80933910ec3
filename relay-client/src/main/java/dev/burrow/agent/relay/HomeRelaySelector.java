package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.DenyReason;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks and keeps a home relay among several for one {@link RelayClient}: measures every relay
 * periodically (with jitter) through a {@link RelayProber}, feeds the samples and the client's
 * connection events to a {@link HomeRelayPolicy}, and moves the client when the policy says so
 * ({@link RelayClient#moveTo}: make-before-break, circuits stay).
 *
 * <pre>
 * HomeRelaySelector home = new HomeRelaySelector(candidates, settings, prober, switches::record);
 * RelayClient client = new RelayClient(config.toBuilder().relaySelector(home).build(), ...);
 * home.start(client);   // first measurement round (bounded), then client.start()
 * home.snapshot();      // for status
 * </pre>
 *
 * <p>Reactions: RESTARTING from home moves to the best other relay after a small random delay
 * (at most the relay's {@code reconnectIn}, capped by {@link #MAX_DRAIN_MOVE_DELAY}, so a draining
 * relay's clients do not all land on the next relay in the same millisecond); a lost home
 * connection moves at once, skipping the client's backoff; a failed connection attempt marks that
 * relay down and the client's next attempt (after its backoff) goes to the best other relay, so
 * with every relay down the attempts rotate at the backoff's pace. Thread-safe: state is guarded by
 * this object's lock; timers run on the client's event loop.
 */
public final class HomeRelaySelector implements RelayUrlSelector, RelayClientListener {
    private static final Logger log = LoggerFactory.getLogger(HomeRelaySelector.class);

    /** Largest number of relays one agent measures: a region map, not a fleet inventory (bounds probe traffic). */
    public static final int MAX_RELAYS = 16;
    /** A measurement round per minute: one TLS handshake per relay per agent per minute is cheap for a fleet. */
    public static final Duration DEFAULT_PROBE_INTERVAL = Duration.ofSeconds(60);
    /** Rounds are spread by up to ±20 % so agents started together do not probe together. */
    public static final double PROBE_JITTER = 0.20;
    /** A probe that takes 5 s says "unreachable" (a control connection would be as bad). */
    public static final Duration DEFAULT_PROBE_TIMEOUT = Duration.ofSeconds(5);
    /** The first round waits at most this long before the first connection (it usually takes one RTT or two). */
    public static final Duration DEFAULT_INITIAL_WAIT = Duration.ofSeconds(3);
    /** Spreading a drain's reconnect storm: at most 2 s, whatever the relay's {@code reconnectIn} says. */
    public static final Duration MAX_DRAIN_MOVE_DELAY = Duration.ofSeconds(2);

    /** What status shows. */
    public record Snapshot(
            URI home, String homeReason, List<HomeRelayPolicy.CandidateView> candidates, long switches) {}

    // Final after construction.
    private final HomeRelayPolicy policy;
    private final RelayProber prober;
    private final Consumer<RelaySwitchReason> switchRecorder;
    private final Duration probeInterval;
    private final Duration initialWait;
    private final LongSupplier clock;

    // Guarded by this lock: probe rounds and moves run on the client's loop, status and close on any thread.
    private RelayClient client;
    private URI connectedUrl;
    private URI attemptUrl;
    private int movesSinceLoss;
    private long switches;
    private boolean closed;
    private boolean roundRunning;
    private ScheduledFuture<?> nextRound;

    /**
     * @param switchRecorder told of every switch (metrics); never null
     */
    public HomeRelaySelector(
            List<RelayCandidate> candidates,
            HomeRelayPolicy.Settings settings,
            RelayProber prober,
            Consumer<RelaySwitchReason> switchRecorder,
            Duration probeInterval,
            Duration initialWait,
            LongSupplier clock) {
        if (candidates.size() > MAX_RELAYS) {
            throw new IllegalArgumentException("at most " + MAX_RELAYS + " relays, got " + candidates.size());
        }
        this.policy = new HomeRelayPolicy(candidates, settings);
        this.prober = Objects.requireNonNull(prober, "prober");
        this.switchRecorder = Objects.requireNonNull(switchRecorder, "switchRecorder");
        if (probeInterval.isNegative() || probeInterval.isZero()) {
            throw new IllegalArgumentException("probeInterval must be positive");
        }
        this.probeInterval = probeInterval;
        this.initialWait = initialWait;
        this.clock = clock;
    }

    public HomeRelaySelector(
            List<RelayCandidate> candidates, RelayProber prober, Consumer<RelaySwitchReason> switchRecorder) {
        this(
                candidates,
                HomeRelayPolicy.Settings.DEFAULTS,
                prober,
                switchRecorder,
                DEFAULT_PROBE_INTERVAL,
                DEFAULT_INITIAL_WAIT,
                System::nanoTime);
    }

    /**
     * Attaches to {@code relayClient} (which must use this selector as its {@link RelayClientConfig#relaySelector}),
     * runs a first measurement round bounded by the initial wait, picks the first home and starts the client.
     * The returned future completes when the client was started.
     */
    public CompletableFuture<Void> start(RelayClient relayClient) {
        synchronized (this) {
            if (client != null) {
                throw new IllegalStateException("already started");
            }
            client = relayClient;
        }
        relayClient.addListener(this);
        CompletableFuture<Void> started = new CompletableFuture<>();
        CompletableFuture<Void> first = round();
        CompletableFuture.anyOf(
                        first,
                        CompletableFuture.runAsync(
                                () -> {},
                                CompletableFuture.delayedExecutor(initialWait.toMillis(), TimeUnit.MILLISECONDS)))
                .whenComplete((v, e) -> {
                    URI home;
                    synchronized (this) {
                        home = policy.chooseInitial(clock.getAsLong());
                    }
                    log.info("home relay: {} ({})", home, policy.homeReason());
                    try {
                        relayClient.start();
                        started.complete(null);
                    } catch (Exception ex) {
                        started.completeExceptionally(ex);
                    }
                    scheduleRound();
                });
        return started;
    }

    public void close() {
        synchronized (this) {
            closed = true;
            if (nextRound != null) {
                nextRound.cancel(false);
            }
        }
    }

    public synchronized Snapshot snapshot() {
        return new Snapshot(policy.home(), policy.homeReason(), policy.view(clock.getAsLong()), switches);
    }

    // ------------------------------------------------------------------ measuring

    private void scheduleRound() {
        RelayClient c;
        synchronized (this) {
            if (closed) {
                return;
            }
            c = client;
        }
        double factor = 1 + (ThreadLocalRandom.current().nextDouble() * 2 - 1) * PROBE_JITTER;
        long delay = (long) (probeInterval.toNanos() * factor);
        try {
            ScheduledFuture<?> f = c.loop()
                    .schedule(
                            () -> round().whenComplete((v, e) -> {
                                evaluate();
                                scheduleRound();
                            }),
                            delay,
                            TimeUnit.NANOSECONDS);
            synchronized (this) {
                nextRound = f;
            }
        } catch (RejectedExecutionException e) {
            // client closed: no more rounds
        }
    }

    /** Probes every relay in parallel; completes when all answered or failed (each probe has its own timeout). */
    CompletableFuture<Void> round() {
        synchronized (this) {
            if (roundRunning || closed) {
                return CompletableFuture.completedFuture(null);
            }
            roundRunning = true;
        }
        List<CompletableFuture<?>> all = new ArrayList<>();
        for (URI url : policy.urls()) {
            CompletableFuture<Duration> p;
            try {
                p = prober.probe(url);
            } catch (RuntimeException e) {
                p = CompletableFuture.failedFuture(e);
            }
            all.add(p.handle((rtt, err) -> {
                synchronized (this) {
                    long now = clock.getAsLong();
                    if (err == null) {
                        policy.sample(url, rtt, now);
                    } else {
                        policy.probeFailed(url, describe(err), now);
                    }
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            synchronized (this) {
                roundRunning = false;
            }
        });
    }

    private void evaluate() {
        HomeRelayPolicy.Move move;
        synchronized (this) {
            if (closed || connectedUrl == null || !connectedUrl.equals(policy.home())) {
                return; // only a settled connection is moved for latency
            }
            move = policy.evaluate(clock.getAsLong()).orElse(null);
        }
        if (move != null) {
            apply(move, Duration.ZERO);
        }
    }

    private void apply(HomeRelayPolicy.Move move, Duration delay) {
        RelayClient c;
        synchronized (this) {
            switches++;
            attemptUrl = move.to();
            c = client;
        }
        log.info(
                "home relay: switching from {} to {} ({}: {})",
                move.from(),
                move.to(),
                move.reason().tag(),
                move.why());
        try {
            switchRecorder.accept(move.reason());
        } catch (RuntimeException e) {
            log.debug("switch recorder failed", e);
        }
        if (c == null) {
            return;
        }
        if (delay.isZero()) {
            c.moveTo(move.to());
        } else {
            try {
                c.loop().schedule(() -> c.moveTo(move.to()), delay.toNanos(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                // closed
            }
        }
    }

    private static String describe(Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        String m = c.getMessage();
        return m == null || m.isBlank() ? c.getClass().getSimpleName() : m;
    }

    // ------------------------------------------------------------------ RelayUrlSelector

    @Override
    public synchronized URI select(URI configured, URI previous, Reason reason) {
        long now = clock.getAsLong();
        URI next =
                reason == Reason.INITIAL && policy.home() != null ? policy.home() : policy.nextAttempt(null, null, now);
        attemptUrl = next;
        return next;
    }

    // ------------------------------------------------------------------ client events

    @Override
    public void connected(RelayConnectionInfo info) {
        synchronized (this) {
            connectedUrl = info.relayUrl();
            attemptUrl = null;
            movesSinceLoss = 0;
            policy.connected(info.relayUrl(), clock.getAsLong());
        }
    }

    @Override
    public void restarting(Duration reconnectIn, Duration tryFor) {
        HomeRelayPolicy.Move move;
        synchronized (this) {
            if (connectedUrl == null) {
                return;
            }
            move = policy.homeLost(
                            connectedUrl,
                            RelaySwitchReason.DRAINING,
                            "relay announced RESTARTING",
                            tryFor,
                            clock.getAsLong())
                    .orElse(null);
        }
        if (move != null) {
            long cap = Math.min(reconnectIn.toNanos(), MAX_DRAIN_MOVE_DELAY.toNanos());
            long delay = cap <= 0 ? 0 : ThreadLocalRandom.current().nextLong(cap + 1);
            apply(move, Duration.ofNanos(delay));
        }
    }

    @Override
    public void disconnected(Throwable cause, Duration retryIn) {
        HomeRelayPolicy.Move move = null;
        synchronized (this) {
            long now = clock.getAsLong();
            if (connectedUrl != null) {
                URI lost = connectedUrl;
                connectedUrl = null;
                move = policy.homeLost(lost, RelaySwitchReason.DEAD, describe(cause), null, now)
                        .orElse(null);
            } else if (attemptUrl != null) {
                policy.probeFailed(attemptUrl, describe(cause), now); // the backoff paces the next attempt elsewhere
            }
        }
        if (move != null) {
            apply(move, Duration.ZERO); // no waiting for the backoff on a dead relay
        }
    }

    @Override
    public void denied(RelayDeniedException denial, Duration retryIn) {
        synchronized (this) {
            long now = clock.getAsLong();
            URI at = attemptUrl != null ? attemptUrl : connectedUrl;
            connectedUrl = null;
            if (at == null) {
                return;
            }
            if (denial.reason() == DenyReason.DRAINING) {
                policy.homeLost(at, RelaySwitchReason.DRAINING, "relay is draining", null, now);
            } else {
                policy.probeFailed(at, denial.getMessage(), now);
            }
        }
    }

    @Override
    public void moveFailed(URI target, Throwable cause) {
        URI next;
        RelayClient c;
        synchronized (this) {
            long now = clock.getAsLong();
            if (cause instanceof RelayDeniedException d && d.reason() == DenyReason.DRAINING) {
                policy.homeLost(target, RelaySwitchReason.DRAINING, "relay is draining", null, now);
            }
            next = policy.nextAttempt(target, describe(cause), now);
            c = client;
            if (closed
                    || next.equals(connectedUrl)
                    || ++movesSinceLoss >= policy.urls().size()) {
                if (connectedUrl != null) {
                    policy.connected(connectedUrl, now); // stay where we are
                }
                return;
            }
        }
        log.info("home relay: {} failed ({}); trying {}", target, describe(cause), next);
        c.moveTo(next);
    }
}
