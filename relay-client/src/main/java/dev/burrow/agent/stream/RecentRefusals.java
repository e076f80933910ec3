package dev.burrow.agent.stream;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;

/** The last refusals (either direction), for status. Bounded: old entries fall off. */
public final class RecentRefusals {
    /** Enough to see a pattern in status; a flood of refusals must not grow memory. */
    public static final int CAPACITY = 32;

    /** One refusal; {@code peer} is a node ID (or the dialled reference), never secret. */
    public record Refusal(
            Instant at,
            Direction direction,
            String peer,
            String service,
            StreamStatusCode code,
            String by,
            String message) {}

    private final ArrayDeque<Refusal> recent = new ArrayDeque<>();

    public synchronized void add(Refusal r) {
        if (recent.size() == CAPACITY) {
            recent.removeFirst();
        }
        recent.addLast(r);
    }

    public synchronized List<Refusal> snapshot() {
        return List.copyOf(recent);
    }
}
