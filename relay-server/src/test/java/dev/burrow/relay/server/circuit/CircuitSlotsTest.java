package dev.burrow.relay.server.circuit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The slot decisions of circuits, without sockets: clients are names, ages come from a fake clock. */
class CircuitSlotsTest {
    /** A circuit from {@code dialer} to {@code listener}, offered at {@code created} on the fake clock. */
    record Fake(String dialerClient, String listenerClient, Object dialerId, long createdNanos)
            implements CircuitSlots.Claim<String> {
        static Fake of(String dialer, String listener, long created) {
            return new Fake(dialer, listener, dialer, created);
        }

        /** The dialer is on a sibling relay: only its identity is known here. */
        static Fake remote(String dialerId, String listener, long created) {
            return new Fake(null, listener, dialerId, created);
        }
    }

    private long clock = 1_000;
    private final CircuitSlots<String, Fake> slots = new CircuitSlots<>(8, 2); // 8 pending, 2 active per client

    private Fake offer(String dialer, String listener) {
        Fake c = Fake.of(dialer, listener, clock += 10);
        assertThat(slots.reservePending(c))
                .as("slot for %s -> %s", dialer, listener)
                .isTrue();
        return c;
    }

    @Test
    void aDialerHoldsAtMostAQuarterOfAListenersPendingSlots() {
        assertThat(CircuitSlots.pendingShareOfOneDialer(8)).isEqualTo(2);
        assertThat(CircuitSlots.pendingShareOfOneDialer(64)).isEqualTo(16);
        assertThat(CircuitSlots.pendingShareOfOneDialer(1)).isEqualTo(1);
        offer("mallory", "alice");
        offer("mallory", "alice");
        assertThat(slots.reservePending(Fake.of("mallory", "alice", clock))).isFalse();
        assertThat(slots.pendingOf("mallory")).isEqualTo(2);
        assertThat(slots.reservePending(Fake.of("bob", "alice", clock)))
                .as("another dialer still gets in")
                .isTrue();
    }

    @Test
    void theShareCountsTheDialersIdentityNotItsConnection() {
        // Circuits requested over the mesh have no local dialer: the share still holds per dialer key.
        assertThat(slots.reservePending(Fake.remote("mallory-key", "alice", 1))).isTrue();
        assertThat(slots.reservePending(Fake.remote("mallory-key", "alice", 2))).isTrue();
        assertThat(slots.reservePending(Fake.remote("mallory-key", "alice", 3))).isFalse();
        assertThat(slots.trackedClients())
                .as("a remote dialer is counted on its own relay")
                .isEqualTo(1);
    }

    @Test
    void noEvictionBetweenDialersWithinOneOfEachOther() {
        // alice full (8): d1, d2, d3 hold 2 each, e and d4 hold 1 each.
        for (String d : List.of("d1", "d1", "d2", "d2", "d3", "d3", "e", "d4")) {
            offer(d, "alice");
        }
        Fake again = Fake.of("e", "alice", clock += 10);
        assertThat(slots.reservePending(again)).as("the listener is full").isFalse();
        assertThat(slots.evictionCandidates(again))
                .as("e holds 1 and the most is 2: a swap would not narrow the gap")
                .isEmpty();
        Fake fresh = Fake.of("f", "alice", clock += 10);
        assertThat(slots.evictionCandidates(fresh))
                .as("f holds none: a holder of 2 gives one up")
                .hasSize(2)
                .allMatch(c -> c.dialerId()
                        .equals(slots.evictionCandidates(fresh).get(0).dialerId()));
    }

    @Test
    void evictionNarrowsTheGapAndPicksTheOldestEvictable() {
        CircuitSlots<String, Fake> s = new CircuitSlots<>(12, 12); // share 3 of 12
        List<Fake> fromD1 = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Fake c = Fake.of("d1", "alice", clock += 10);
            assertThat(s.reservePending(c)).isTrue();
            fromD1.add(c);
        }
        for (String d : List.of("d2", "d3", "d4")) {
            for (int i = 0; i < 3; i++) {
                assertThat(s.reservePending(Fake.of(d, "alice", clock += 10))).isTrue();
            }
        }
        Fake newcomer = Fake.of("e", "alice", clock += 10);
        assertThat(s.reservePending(newcomer)).isFalse();
        List<Fake> candidates = s.evictionCandidates(newcomer);
        assertThat(candidates)
                .as("the circuits of one dialer holding 3 (>= 0 + 2)")
                .hasSize(3);
        Object holder = candidates.get(0).dialerId();
        assertThat(candidates).allMatch(c -> c.dialerId().equals(holder));

        // The oldest evictable one goes; one whose dialer attached (not evictable here) is skipped.
        Set<Fake> attached = new HashSet<>();
        List<Fake> byAge = candidates.stream()
                .sorted((a, b) -> Long.compare(a.createdNanos(), b.createdNanos()))
                .toList();
        attached.add(byAge.get(0));
        Fake victim = CircuitSlots.oldest(candidates, c -> !attached.contains(c));
        assertThat(victim).isEqualTo(byAge.get(1));

        s.release(victim, false);
        assertThat(s.reservePending(newcomer))
                .as("the freed slot goes to the newcomer")
                .isTrue();
        assertThat(s.pendingOf("e")).isEqualTo(1);
    }

    @Test
    void oldestComparesAgesAcrossTheClocksWrap() {
        Fake older = Fake.of("d", "l", Long.MAX_VALUE - 5);
        Fake newer = Fake.of("d", "l", Long.MIN_VALUE + 5); // nanoTime wrapped between the two offers
        assertThat(CircuitSlots.oldest(List.of(newer, older), c -> true)).isEqualTo(older);
        assertThat(CircuitSlots.oldest(List.of(newer, older), c -> false)).isNull();
    }

    @Test
    void activeSlotsAreCappedAtBothEndsAndGiveBackTheirPendingSlots() {
        Fake a = offer("bob", "alice");
        Fake b = offer("carol", "alice");
        Fake c = offer("dave", "alice");
        assertThat(slots.reserveActive(a)).isTrue();
        assertThat(slots.reserveActive(b)).isTrue();
        assertThat(slots.reserveActive(c)).as("alice copies at most 2").isFalse();
        assertThat(slots.activeOf("alice")).isEqualTo(2);
        assertThat(slots.pendingOf("alice")).isEqualTo(1);
        slots.release(a, true);
        assertThat(slots.reserveActive(c)).isTrue();
    }

    @Test
    void releasingEverythingForgetsTheClients() {
        Fake a = offer("bob", "alice");
        Fake b = offer("bob", "alice");
        assertThat(slots.trackedClients()).isEqualTo(2);
        assertThat(slots.openOf("bob")).containsExactlyInAnyOrder(a, b);
        slots.release(a, false);
        assertThat(slots.reserveActive(b)).isTrue();
        slots.release(b, true);
        assertThat(slots.trackedClients()).isZero();
        assertThat(slots.openOf("alice")).isEmpty();
    }

    @Test
    void aRefusedOfferLeavesNoTrace() {
        CircuitSlots<String, Fake> none = new CircuitSlots<>(0, 0);
        assertThat(none.reservePending(Fake.of("bob", "alice", 1))).isFalse();
        assertThat(none.trackedClients()).isZero();
    }
}
