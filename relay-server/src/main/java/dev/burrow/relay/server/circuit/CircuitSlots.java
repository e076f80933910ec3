package dev.burrow.relay.server.circuit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The circuit slots of every client, and the decisions made on them: whether a circuit may be offered
 * ({@code pendingPerClient} offered or attaching, {@code activePerClient} copying, counted for both
 * ends, and one dialer's share of a listener's pending slots, {@link #pendingShareOfOneDialer}),
 * whether it may become active, and which circuit gives up its slot when a listener is full (the
 * max-min fair share: {@link #evictionCandidates}, {@link #oldest}). No sockets and no clock: a
 * circuit's age is what {@link Claim#createdNanos} says, so tests drive it with a fake clock.
 *
 * <p>One lock ({@code this}) guards every count; circuits are only held, never inspected, here.
 *
 * @param <K> a client (the relay: {@code ClientSession}; tests: anything with equals/hashCode)
 * @param <C> a circuit
 */
final class CircuitSlots<K, C extends CircuitSlots.Claim<K>> {
    /** What the slots need to know of a circuit; fixed for its life. */
    interface Claim<K> {
        /** The dialer, or null when it is on a sibling relay (counted there). */
        K dialerClient();

        K listenerClient();

        /** The dialer's identity (its node key): the listener's pending slots are shared by it. */
        Object dialerId();

        /** When the circuit was offered: the oldest is evicted first. */
        long createdNanos();
    }

    private static final class Usage<C> {
        int pending;
        int active;
        final Set<C> open = new HashSet<>();
        /** As a listener: pending circuits by dialer identity (at most {@code pending} entries). */
        final Map<Object, Integer> pendingByDialer = new HashMap<>();
    }

    // Final after construction.
    private final int pendingPerClient;
    private final int activePerClient;

    // Guarded by this.
    /** Per client: its circuit counts and open circuits, so a disconnect touches only its own. */
    private final Map<K, Usage<C>> usage = new HashMap<>();

    CircuitSlots(int pendingPerClient, int activePerClient) {
        this.pendingPerClient = pendingPerClient;
        this.activePerClient = activePerClient;
    }

    /**
     * The share of a listener's pending slots one dialer may hold: a quarter, at least one. Pending
     * circuits are held until the token TTL by a dialer that never attaches; without a share one
     * peer the listener admits could hold all of its slots and block every other dialer's new
     * connections (found by the hardening review). With a share, it takes four such peers.
     */
    static int pendingShareOfOneDialer(int pendingPerClient) {
        return Math.max(1, pendingPerClient / 4);
    }

    /** Takes a pending slot at both ends for {@code c}; false (nothing taken) when a cap or the share is reached. */
    synchronized boolean reservePending(C c) {
        K dialer = c.dialerClient();
        Usage<C> d = dialer == null ? new Usage<>() : usage.computeIfAbsent(dialer, k -> new Usage<>());
        Usage<C> l = usage.computeIfAbsent(c.listenerClient(), k -> new Usage<>());
        int fromThisDialer = l.pendingByDialer.getOrDefault(c.dialerId(), 0);
        if (d.pending >= pendingPerClient
                || l.pending >= pendingPerClient
                || fromThisDialer >= pendingShareOfOneDialer(pendingPerClient)
                || d.active >= activePerClient
                || l.active >= activePerClient) {
            if (dialer != null) {
                forgetIfIdle(dialer, d);
            }
            forgetIfIdle(c.listenerClient(), l);
            return false;
        }
        d.pending++;
        l.pending++;
        l.pendingByDialer.merge(c.dialerId(), 1, Integer::sum);
        d.open.add(c);
        l.open.add(c);
        return true;
    }

    /** Moves {@code c}'s slots from pending to active at both ends; false (nothing moved) when an active cap is reached. */
    synchronized boolean reserveActive(C c) {
        Usage<C> d = c.dialerClient() == null ? new Usage<>() : usage.get(c.dialerClient());
        Usage<C> l = usage.get(c.listenerClient());
        if (d == null || l == null || d.active >= activePerClient || l.active >= activePerClient) {
            return false;
        }
        d.pending--;
        l.pending--;
        leavePending(l, c);
        d.active++;
        l.active++;
        return true;
    }

    /** Gives back {@code c}'s slots (active or pending) at both ends. */
    synchronized void release(C c, boolean wasActive) {
        List<K> ends = new ArrayList<>(2);
        if (c.dialerClient() != null) {
            ends.add(c.dialerClient());
        }
        ends.add(c.listenerClient());
        for (K s : ends) {
            Usage<C> u = usage.get(s);
            if (u != null) {
                if (wasActive) {
                    u.active--;
                } else {
                    u.pending--;
                    if (s.equals(c.listenerClient())) {
                        leavePending(u, c);
                    }
                }
                u.open.remove(c);
                forgetIfIdle(s, u);
            }
        }
    }

    /**
     * The pending circuits of the dialer holding the most of {@code c}'s listener's slots, when that
     * listener is full, {@code c}'s dialer is within its own caps and share, and that dialer holds at
     * least two more than {@code c}'s (so a swap always narrows the gap: no churn between equals).
     */
    synchronized List<C> evictionCandidates(C c) {
        Usage<C> l = usage.get(c.listenerClient());
        Usage<C> d = c.dialerClient() == null ? new Usage<>() : usage.get(c.dialerClient());
        if (l == null || l.pending < pendingPerClient || l.active >= activePerClient) {
            return List.of();
        }
        if (d != null && (d.pending >= pendingPerClient || d.active >= activePerClient)) {
            return List.of();
        }
        int mine = l.pendingByDialer.getOrDefault(c.dialerId(), 0);
        if (mine >= pendingShareOfOneDialer(pendingPerClient)) {
            return List.of();
        }
        Object top = null;
        int most = mine + 1;
        for (var e : l.pendingByDialer.entrySet()) {
            if (e.getValue() > most) {
                top = e.getKey();
                most = e.getValue();
            }
        }
        if (top == null) {
            return List.of();
        }
        Object holder = top;
        return l.open.stream().filter(o -> o.dialerId().equals(holder)).toList();
    }

    /** The oldest of {@code candidates} that is still {@code evictable}, or null. */
    static <C extends Claim<?>> C oldest(List<C> candidates, Predicate<C> evictable) {
        C victim = null;
        for (C o : candidates) {
            if (evictable.test(o) && (victim == null || o.createdNanos() - victim.createdNanos() < 0)) {
                victim = o;
            }
        }
        return victim;
    }

    /** The circuits {@code client} has open (either end). */
    synchronized List<C> openOf(K client) {
        Usage<C> u = usage.get(client);
        return u == null ? List.of() : List.copyOf(u.open);
    }

    /** Forgets {@code client} when it holds nothing (after its circuits ended). */
    synchronized void forgetIfIdle(K client) {
        Usage<C> u = usage.get(client);
        if (u != null) {
            forgetIfIdle(client, u);
        }
    }

    /** Clients with circuit state (bounded by connected clients plus those with active circuits). */
    synchronized int trackedClients() {
        return usage.size();
    }

    /** Pending slots {@code client} holds (either end); 0 when unknown. */
    synchronized int pendingOf(K client) {
        Usage<C> u = usage.get(client);
        return u == null ? 0 : u.pending;
    }

    /** Active slots {@code client} holds (either end); 0 when unknown. */
    synchronized int activeOf(K client) {
        Usage<C> u = usage.get(client);
        return u == null ? 0 : u.active;
    }

    private static <C extends Claim<?>> void leavePending(Usage<C> listener, C c) {
        listener.pendingByDialer.computeIfPresent(c.dialerId(), (k, n) -> n <= 1 ? null : n - 1);
    }

    private void forgetIfIdle(K s, Usage<C> u) {
        if (u.pending <= 0 && u.active <= 0 && u.open.isEmpty()) {
            usage.remove(s);
        }
    }
}
