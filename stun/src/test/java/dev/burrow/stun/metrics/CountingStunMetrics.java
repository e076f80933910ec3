package dev.burrow.stun.metrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Test recorder: counts everything by name. */
public final class CountingStunMetrics implements StunMetrics {
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    private void inc(String key) {
        counts.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    public long count(String key) {
        LongAdder a = counts.get(key);
        return a == null ? 0 : a.sum();
    }

    public long droppedCount(DropReason r) {
        return count("dropped." + r);
    }

    public long totalDropped() {
        long n = 0;
        for (DropReason r : DropReason.values()) {
            n += droppedCount(r);
        }
        return n;
    }

    public long responses(boolean error) {
        return count("responded.udp." + error) + count("responded.tcp." + error);
    }

    public long ignored(ClientIgnoreReason r) {
        return count("ignored." + r);
    }

    public long transactions(ClientOutcome o) {
        return count("tx." + o);
    }

    @Override
    public void responded(StunProtocol protocol, boolean error) {
        inc("responded." + protocol.tag() + "." + error);
    }

    @Override
    public void dropped(DropReason reason) {
        inc("dropped." + reason);
    }

    @Override
    public void clientTransaction(ClientOutcome outcome) {
        inc("tx." + outcome);
    }

    @Override
    public void clientIgnored(ClientIgnoreReason reason) {
        inc("ignored." + reason);
    }

    @Override
    public void clientSent() {
        inc("sent");
    }

    @Override
    public String toString() {
        return counts.toString();
    }
}
