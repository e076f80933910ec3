package dev.burrow.agent.forward;

import dev.burrow.agent.stream.StreamRefusedException;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeKey;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Resolves a node name to the key of the one connected node that carries it, by asking the relay
 * (LOOKUP_NAME), with a short cache. The relay answers only from certificates it verified as issued by
 * its fleet CA, but its answer is still only a hint: {@link PeerStreamDialer} checks the name in the
 * peer's certificate after the end-to-end TLS handshake, so a lying relay can at worst make a
 * connection fail, never reach the wrong node.
 *
 * <p>No node: refused ("no node named X is connected to the relay or its mesh"); several: refused as ambiguous
 * (a name should belong to one node; picking one would be a guess). Only single answers are cached,
 * and a failed connection drops the entry so the next one asks again.
 */
public final class PeerNameResolver {
    /** How long an answer is reused: short, so a node that moves to another key is found again soon. */
    public static final Duration CACHE_TTL = Duration.ofSeconds(30);
    /** Names cached at once; beyond this the cache is emptied (an agent forwards to a handful of names). */
    public static final int MAX_CACHED_NAMES = 256;

    /** Asks the relay (in the agent: {@code RelayClient::lookupName}). */
    @FunctionalInterface
    public interface Lookup {
        CompletableFuture<List<NodeKey>> lookup(String name);
    }

    private record Cached(NodeKey key, long expiresAtNanos) {}

    // Final after construction.
    private final Lookup lookup;
    private final LongSupplier nanoTime;

    // Any thread (concurrent maps).
    private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
    /** Lookups under way, one per name: a burst of local connections asks the relay once. */
    private final ConcurrentHashMap<String, CompletableFuture<List<NodeKey>>> inFlight = new ConcurrentHashMap<>();

    public PeerNameResolver(Lookup lookup) {
        this(lookup, System::nanoTime);
    }

    PeerNameResolver(Lookup lookup, LongSupplier nanoTime) {
        this.lookup = lookup;
        this.nanoTime = nanoTime;
    }

    /**
     * The key of the one connected node named {@code name}; fails with {@link StreamRefusedException}
     * when none or several are, or with the lookup's own failure (relay unreachable, timeout).
     */
    public CompletableFuture<NodeKey> resolve(String name) {
        Cached c = cache.get(name);
        long now = nanoTime.getAsLong();
        if (c != null && now - c.expiresAtNanos < 0) {
            return CompletableFuture.completedFuture(c.key);
        }
        CompletableFuture<List<NodeKey>> mine = new CompletableFuture<>();
        CompletableFuture<List<NodeKey>> answer = inFlight.putIfAbsent(name, mine);
        if (answer == null) {
            answer = mine;
            try {
                lookup.lookup(name).whenComplete((keys, err) -> {
                    inFlight.remove(name, mine); // before completing: later callers then see the cache
                    if (err != null) {
                        mine.completeExceptionally(err);
                    } else {
                        mine.complete(keys);
                    }
                });
            } catch (RuntimeException e) {
                inFlight.remove(name, mine);
                mine.completeExceptionally(e);
            }
        }
        return answer.thenCompose(keys -> {
            if (keys.isEmpty()) {
                cache.remove(name);
                return CompletableFuture.failedFuture(new StreamRefusedException(
                        StreamStatusCode.PEER_NOT_FOUND,
                        "no node named " + name + " is connected to the relay or its mesh",
                        "relay"));
            }
            if (keys.size() > 1) {
                cache.remove(name);
                return CompletableFuture.failedFuture(new StreamRefusedException(
                        StreamStatusCode.PEER_NOT_FOUND,
                        "name " + name + " is ambiguous: " + keys.size()
                                + " connected nodes carry it; connect by node ID instead",
                        "relay"));
            }
            NodeKey key = keys.get(0);
            if (cache.size() >= MAX_CACHED_NAMES) {
                cache.clear();
            }
            cache.put(name, new Cached(key, nanoTime.getAsLong() + CACHE_TTL.toNanos()));
            return CompletableFuture.completedFuture(key);
        });
    }

    /** Forgets the answer for {@code name} (a connection to it failed: ask the relay again next time). */
    public void invalidate(String name) {
        cache.remove(name);
    }
}
