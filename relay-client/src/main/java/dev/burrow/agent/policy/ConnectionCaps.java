package dev.burrow.agent.policy;

import dev.burrow.identity.NodeKey;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connection caps of one service: at most {@code perService} streams at once, and at most
 * {@code perPeer} from any one peer (attack: stream floods from one peer: one peer must not take them all). A
 * permit is taken before any buffer or local socket is spent on the stream and given back exactly
 * once when the stream ends. Limits can be changed live (configuration reload); streams already
 * admitted keep running.
 */
public final class ConnectionCaps {
    /** Per-service default: plenty for interactive use, small enough to bound memory (64 KiB × 2 per stream). */
    public static final int DEFAULT_PER_SERVICE = 1024;
    /** Per-peer default: go-libp2p allows 16 circuits per peer; a browser opens ~6 per host; 256 leaves room for batch jobs. */
    public static final int DEFAULT_PER_PEER = 256;

    private volatile int perService;
    private volatile int perPeer;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<NodeKey, AtomicInteger> byPeer = new ConcurrentHashMap<>();

    public ConnectionCaps(int perService, int perPeer) {
        limits(perService, perPeer);
    }

    public void limits(int perService, int perPeer) {
        if (perService < 1 || perPeer < 1) {
            throw new IllegalArgumentException("connection caps must be >= 1");
        }
        this.perService = perService;
        this.perPeer = perPeer;
    }

    /** A taken slot; {@link #close()} gives it back (idempotent). */
    public final class Permit implements AutoCloseable {
        private final NodeKey peer;
        private boolean released;

        private Permit(NodeKey peer) {
            this.peer = peer;
        }

        @Override
        public synchronized void close() {
            if (released) {
                return;
            }
            released = true;
            total.decrementAndGet();
            byPeer.computeIfPresent(peer, (k, c) -> c.decrementAndGet() <= 0 ? null : c);
        }
    }

    /** Takes a slot for {@code peer}, or returns null when a cap is reached. */
    public Permit tryAcquire(NodeKey peer) {
        if (total.incrementAndGet() > perService) {
            total.decrementAndGet();
            return null;
        }
        boolean[] ok = {false};
        byPeer.compute(peer, (k, c) -> {
            AtomicInteger n = c == null ? new AtomicInteger() : c;
            if (n.get() < perPeer) {
                n.incrementAndGet();
                ok[0] = true;
            }
            return n.get() == 0 ? null : n;
        });
        if (!ok[0]) {
            total.decrementAndGet();
            return null;
        }
        return new Permit(peer);
    }

    /** Whether a new stream from {@code peer} would fit now (a cheap early check; the permit decides). */
    public boolean wouldAdmit(NodeKey peer) {
        AtomicInteger n = byPeer.get(peer);
        return total.get() < perService && (n == null || n.get() < perPeer);
    }

    public int open() {
        return total.get();
    }

    public int openFrom(NodeKey peer) {
        AtomicInteger n = byPeer.get(peer);
        return n == null ? 0 : n.get();
    }
}
