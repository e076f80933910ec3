package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Which peers are kept warm as forwards come and go: a fake clock, a fake resolver, no sockets. */
class PeerWarmerTest {
    private static final long S = 1_000_000_000L;

    private final AtomicLong clock = new AtomicLong(1_000 * S);
    private final List<Set<NodeKey>> pushed = new ArrayList<>();
    private final Map<String, List<CompletableFuture<NodeKey>>> lookups = new HashMap<>();
    private final PeerWarmer warmer = new PeerWarmer(
            pushed::add,
            name -> {
                CompletableFuture<NodeKey> f = new CompletableFuture<>();
                lookups.computeIfAbsent(name, n -> new ArrayList<>()).add(f);
                return f;
            },
            clock::get);

    private static NodeKey key(String name) {
        return NodeIdentity.ephemeral(name).nodeKey();
    }

    private Set<NodeKey> last() {
        return pushed.get(pushed.size() - 1);
    }

    private int asked(String name) {
        return lookups.getOrDefault(name, List.of()).size();
    }

    private CompletableFuture<NodeKey> lastLookup(String name) {
        List<CompletableFuture<NodeKey>> l = lookups.get(name);
        return l.get(l.size() - 1);
    }

    @Test
    void aForwardByKeyWarmsItsPeerAtOnceAndRemovingItReleasesIt() {
        NodeKey a = key("a");
        NodeKey b = key("b");
        warmer.setTargets(List.of(a), List.of());
        assertThat(last()).containsExactly(a);

        warmer.setTargets(List.of(a, b), List.of()); // a reload adds a forward
        assertThat(last()).containsExactlyInAnyOrder(a, b);

        int before = pushed.size();
        warmer.setTargets(List.of(b, a, a), List.of()); // same peers, other order, duplicates: nothing to do
        assertThat(pushed).hasSize(before);

        warmer.setTargets(List.of(b), List.of()); // a reload removes a's forward
        assertThat(last()).containsExactly(b);
        warmer.setTargets(List.of(), List.of());
        assertThat(last()).isEmpty();
        assertThat(warmer.warm()).isEmpty();
    }

    @Test
    void aForwardByNameWarmsThePeerOnceTheRelayResolvedIt() {
        NodeKey db = key("db");
        warmer.setTargets(List.of(), List.of("db"));
        assertThat(asked("db")).isEqualTo(1);
        assertThat(pushed).isEmpty(); // nothing known yet

        lastLookup("db").complete(db);
        assertThat(last()).containsExactly(db);

        warmer.tick(); // resolved: not asked again until the refresh
        assertThat(asked("db")).isEqualTo(1);
        clock.addAndGet(PeerWarmer.NAME_REFRESH.toNanos());
        warmer.tick();
        assertThat(asked("db")).isEqualTo(2);
        NodeKey moved = key("db-after-reinstall");
        lastLookup("db").complete(moved); // the node came back with another key: follow it
        assertThat(last()).containsExactly(moved);

        warmer.setTargets(List.of(), List.of()); // forward removed
        assertThat(last()).isEmpty();
    }

    @Test
    void aNameThatDoesNotResolveIsAskedAgainWithBackoffAndAtOnceWhenTheRelayConnects() {
        warmer.setTargets(List.of(), List.of("offline"));
        lastLookup("offline").completeExceptionally(new IllegalStateException("no node named offline"));
        assertThat(pushed).isEmpty();

        // backoff: 2 s, then 4 s, then 8 s ... (the relay is not asked every tick)
        long[] waits = {2, 4, 8, 16};
        for (long w : waits) {
            int n = asked("offline");
            clock.addAndGet(w * S - 1);
            warmer.tick();
            assertThat(asked("offline")).as("before %d s", w).isEqualTo(n);
            clock.addAndGet(1);
            warmer.tick();
            assertThat(asked("offline")).as("after %d s", w).isEqualTo(n + 1);
            lastLookup("offline").completeExceptionally(new IllegalStateException("still offline"));
        }
        // the cap
        for (int i = 0; i < 20; i++) {
            clock.addAndGet(PeerWarmer.NAME_RETRY_MAX.toNanos());
            warmer.tick();
            lastLookup("offline").completeExceptionally(new IllegalStateException("still offline"));
        }
        int n = asked("offline");
        clock.addAndGet(PeerWarmer.NAME_RETRY_MAX.toNanos() - 1);
        warmer.tick();
        assertThat(asked("offline")).isEqualTo(n);

        warmer.relayConnected(); // a (re)connection: ask now
        assertThat(asked("offline")).isEqualTo(n + 1);
        NodeKey k = key("offline");
        lastLookup("offline").complete(k);
        assertThat(last()).containsExactly(k);
    }

    @Test
    void aLookupStillUnderWayWhenItsForwardIsRemovedChangesNothing() {
        warmer.setTargets(List.of(), List.of("db"));
        warmer.tick(); // one lookup at a time per name
        assertThat(asked("db")).isEqualTo(1);
        warmer.setTargets(List.of(), List.of());
        lastLookup("db").complete(key("db"));
        assertThat(pushed).isEmpty();
    }

    @Test
    void atMostMaxWarmPeersAreWarmKeysFirst() {
        List<NodeKey> keys = new ArrayList<>();
        for (int i = 0; i < PeerWarmer.MAX_WARM_PEERS + 5; i++) {
            keys.add(key("n" + i));
        }
        warmer.setTargets(keys, List.of("db"));
        lastLookup("db").complete(key("db"));
        assertThat(warmer.warm()).hasSize(PeerWarmer.MAX_WARM_PEERS);
        assertThat(warmer.warm()).containsAll(keys.subList(0, PeerWarmer.MAX_WARM_PEERS));
    }

    @Test
    void withoutAResolverNamedForwardsAreNotWarmed() {
        PeerWarmer noNames = new PeerWarmer(pushed::add, null, clock::get);
        NodeKey a = key("a");
        noNames.setTargets(List.of(a), List.of("db"));
        noNames.tick();
        assertThat(last()).containsExactly(a);
    }
}
