package dev.burrow.agent.portmap;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** How many gateway answers were refused, by reason (a fixed set: no unbounded tags). */
public final class PortMapCounters {
    private final Map<Refusal, AtomicLong> refused = new EnumMap<>(Refusal.class);

    public PortMapCounters() {
        for (Refusal r : Refusal.values()) {
            refused.put(r, new AtomicLong());
        }
    }

    void refused(Refusal r) {
        refused.get(r).incrementAndGet();
    }

    public long refusedCount(Refusal r) {
        return refused.get(r).get();
    }

    public long refusedTotal() {
        return refused.values().stream().mapToLong(AtomicLong::get).sum();
    }
}
