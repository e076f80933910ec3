package dev.burrow.agent.forward;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.tls.NodeTls;
import io.netty.handler.ssl.SslContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;

/**
 * The end-to-end TLS client contexts of one agent, one per dialled peer, built on the first stream
 * to that peer and reused for every later one (building a JDK {@link SslContext} cost more CPU per
 * stream than the rest of the stream setup).
 *
 * <p>Per peer, because the trust differs per peer: each context's trust manager pins the dialled
 * node's key ({@link NodeTls#client}), so a context for node A refuses any other node exactly as a
 * fresh one would. Nothing in a context goes stale: its key manager reads the node's certificate
 * chain from the {@link NodeIdentity} on every handshake (a certificate renewed or installed after
 * enrolment is presented at once) and its trust manager asks the agent's {@link NodeVerifier} on
 * every handshake (revocations count at once). Handlers are made without a peer host, so the JDK
 * keeps no client session to resume: every stream still runs a full handshake with a certificate
 * check, and its verified peer comes from that check.
 */
final class PeerClientContexts {
    /**
     * Peers whose context is kept. An agent dials few peers; beyond this the least recently used
     * context is dropped (and rebuilt if that peer is dialled again), so a forward by name that
     * resolves to ever new keys cannot grow the map without bound.
     */
    static final int MAX_PEERS = 256;

    private final NodeIdentity identity;
    private final NodeVerifier verifier;
    private final AtomicLong built = new AtomicLong();

    // Guarded by this: access order, eldest dropped above MAX_PEERS.
    private final Map<NodeKey, SslContext> contexts = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NodeKey, SslContext> eldest) {
            return size() > MAX_PEERS;
        }
    };

    PeerClientContexts(NodeIdentity identity, NodeVerifier verifier) {
        this.identity = identity;
        this.verifier = verifier;
    }

    /** The client context pinned to {@code peer}, built once. */
    SslContext forPeer(NodeKey peer) throws SSLException {
        synchronized (this) {
            SslContext ctx = contexts.get(peer);
            if (ctx != null) {
                return ctx;
            }
        }
        // Built outside the lock: two first streams to one peer at once may both build; one wins.
        SslContext fresh = NodeTls.client(identity, verifier, peer);
        built.incrementAndGet();
        synchronized (this) {
            SslContext raced = contexts.putIfAbsent(peer, fresh);
            return raced != null ? raced : fresh;
        }
    }

    /** Contexts built so far (tests and diagnostics). */
    long built() {
        return built.get();
    }
}
