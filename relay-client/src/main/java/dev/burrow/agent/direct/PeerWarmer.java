package dev.burrow.agent.direct;

import dev.burrow.identity.NodeKey;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which peers the direct path keeps warm: the peers the agent's forwards name, by node ID at once and
 * by name once the relay resolved the name. The set goes to {@link DirectManager#setWarm}, which
 * starts discovery and punching for new members right away (so the first connection of a forward
 * can already go direct) and releases members that left it (a reload removed their forward).
 *
 * <p>Names are resolved when the forward appears, again every {@link #NAME_REFRESH} (a node that
 * moved to another key is followed), and after a failure (no such node connected, ambiguous, relay
 * unreachable) with a backoff from {@link #NAME_RETRY_MIN} doubling to {@link #NAME_RETRY_MAX}, so
 * a forward to a node that is offline costs the relay almost nothing; a relay (re)connection retries
 * failed names at once. At most {@link #MAX_WARM_PEERS} peers are warm at once.
 *
 * <p>Thread-safe. Time advances through {@link #tick()} (the agent calls it every second), so tests
 * drive it with a fake clock.
 */
public final class PeerWarmer {
    private static final Logger log = LoggerFactory.getLogger(PeerWarmer.class);

    /**
     * Peers kept warm at once. Each warm peer costs a call-me-maybe through the relay per attempt, a
     * disco heartbeat every {@link DirectLimits#HEARTBEAT_INTERVAL}, a QUIC connection and a NAT
     * mapping held open on both sides. An agent forwards to a handful of peers; a configuration
     * naming more (a generated one, say) must not turn into that much standing traffic. Peers past
     * the bound (in configuration order, node IDs before names) are not warmed: as before warm-up
     * existed, their first connection starts punching.
     */
    public static final int MAX_WARM_PEERS = 32;
    /** A resolved name is asked again this often, to follow a node that reconnected with another key. */
    public static final Duration NAME_REFRESH = Duration.ofSeconds(60);
    /** First retry after a name did not resolve. */
    public static final Duration NAME_RETRY_MIN = Duration.ofSeconds(2);
    /** Retries of a name that keeps failing double up to this. */
    public static final Duration NAME_RETRY_MAX = Duration.ofMinutes(5);

    /** Resolves a node name to its key (in the agent: {@code PeerNameResolver::resolve}). */
    @FunctionalInterface
    public interface Resolver {
        CompletableFuture<NodeKey> resolve(String name);
    }

    private static final class Name {
        NodeKey key;
        long dueNanos;
        int failures;
        boolean inFlight;
    }

    // Final after construction.
    private final Consumer<Set<NodeKey>> target;
    private final Resolver resolver;
    private final LongSupplier nanoTime;

    // Guarded by this.
    private List<NodeKey> keys = List.of();
    private final Map<String, Name> names = new LinkedHashMap<>();
    private Set<NodeKey> pushed = Set.of();
    private boolean warnedLimit;

    /**
     * @param target receives the whole warm set whenever it changes ({@link DirectManager#setWarm})
     * @param resolver resolves names; null when the agent cannot (no fleet CA): named forwards are then not warmed
     */
    public PeerWarmer(Consumer<Set<NodeKey>> target, Resolver resolver, LongSupplier nanoTime) {
        this.target = target;
        this.resolver = resolver;
        this.nanoTime = nanoTime;
    }

    /** The forwards' peers, in configuration order: by key, and by name. Starts warming new ones now. */
    public void setTargets(List<NodeKey> byKey, List<String> byName) {
        synchronized (this) {
            keys = List.copyOf(new LinkedHashSet<>(byKey));
            Set<String> wanted = new LinkedHashSet<>(byName);
            names.keySet().retainAll(wanted);
            long now = nanoTime.getAsLong();
            for (String n : wanted) {
                if (resolver != null && !names.containsKey(n)) {
                    Name s = new Name();
                    s.dueNanos = now;
                    names.put(n, s);
                }
            }
            push();
        }
        tick();
    }

    /** The relay connection is up: names that failed are asked again now. */
    public void relayConnected() {
        synchronized (this) {
            long now = nanoTime.getAsLong();
            for (Name s : names.values()) {
                if (s.failures > 0) {
                    s.dueNanos = now;
                }
            }
        }
        tick();
    }

    /** Resolves the names that are due (the agent calls this every second). */
    public void tick() {
        Map<String, Name> due = new LinkedHashMap<>();
        synchronized (this) {
            long now = nanoTime.getAsLong();
            names.forEach((n, s) -> {
                if (!s.inFlight && now - s.dueNanos >= 0) {
                    s.inFlight = true;
                    due.put(n, s);
                }
            });
        }
        due.forEach((n, s) -> {
            CompletableFuture<NodeKey> f;
            try {
                f = resolver.resolve(n);
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            f.whenComplete((key, err) -> resolved(n, s, key, err));
        });
    }

    private synchronized void resolved(String name, Name s, NodeKey key, Throwable err) {
        s.inFlight = false;
        if (names.get(name) != s) {
            return; // the forward was removed meanwhile
        }
        long now = nanoTime.getAsLong();
        if (err != null) {
            long backoff = Math.min(NAME_RETRY_MIN.toNanos() << Math.min(s.failures, 10), NAME_RETRY_MAX.toNanos());
            s.failures++;
            s.dueNanos = now + backoff;
            if (s.key != null || s.failures == 1) {
                Throwable t = err.getCause() != null && err instanceof CompletionException ? err.getCause() : err;
                log.info(
                        "warm-up: peer {} did not resolve ({}); asking again in {} s",
                        name,
                        t.getMessage(),
                        backoff / 1_000_000_000L);
            }
            s.key = null;
        } else {
            s.failures = 0;
            s.key = key;
            s.dueNanos = now + NAME_REFRESH.toNanos();
        }
        push();
    }

    /** The warm set now (tests, status). */
    public synchronized Set<NodeKey> warm() {
        return pushed;
    }

    /** Under the lock: hands the bounded set to the target when it changed. */
    private void push() {
        Set<NodeKey> all = new LinkedHashSet<>(keys);
        for (Name s : names.values()) {
            if (s.key != null) {
                all.add(s.key);
            }
        }
        Set<NodeKey> bounded = new LinkedHashSet<>();
        for (NodeKey k : all) {
            if (bounded.size() == MAX_WARM_PEERS) {
                if (!warnedLimit) {
                    warnedLimit = true;
                    log.warn(
                            "warm-up: forwards name {} peers; only the first {} are kept warm (the rest start punching with their first connection)",
                            all.size(),
                            MAX_WARM_PEERS);
                }
                break;
            }
            bounded.add(k);
        }
        if (!bounded.equals(pushed)) {
            pushed = Set.copyOf(bounded);
            target.accept(pushed);
        }
    }
}
