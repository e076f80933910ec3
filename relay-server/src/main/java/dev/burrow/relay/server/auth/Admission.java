package dev.burrow.relay.server.auth;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Decides whether an authenticated node may use the relay. Called after the node proved its key
 * ({@code RelayAuthProof}) and, when it presented a certificate, after {@code NodeVerifier}
 * accepted it. Implementations never throw: every failure is a deny (fail-closed).
 *
 * <p>Decisions may take time (the webhook), so they are futures; never block an event loop on them.
 */
public interface Admission {
    /**
     * @param nodeKey the key the node proved
     * @param peerOrNull its verified certificate, or null when it presented none (key-only)
     */
    CompletableFuture<Decision> decide(NodeKey nodeKey, VerifiedPeer peerOrNull);

    /** A short description for start-up logs. */
    String describe();

    /** The outcome, with a reason for logs and for a deny frame (never a secret). */
    record Decision(boolean allowed, String reason) {
        public static Decision allow(String reason) {
            return new Decision(true, reason);
        }

        public static Decision deny(String reason) {
            return new Decision(false, reason);
        }
    }

    /** Dev mode: every authenticated node is admitted. */
    static Admission open() {
        return new Admission() {
            @Override
            public CompletableFuture<Decision> decide(NodeKey nodeKey, VerifiedPeer peerOrNull) {
                return CompletableFuture.completedFuture(Decision.allow("open admission"));
            }

            @Override
            public String describe() {
                return "open (any authenticated node; development only)";
            }
        };
    }

    /** Admitted only when every policy admits (evaluated in order, stopping at the first deny). */
    static Admission allOf(List<Admission> policies) {
        if (policies.isEmpty()) {
            throw new IllegalArgumentException("allOf needs at least one policy");
        }
        List<Admission> list = List.copyOf(policies);
        return new Admission() {
            @Override
            public CompletableFuture<Decision> decide(NodeKey nodeKey, VerifiedPeer peerOrNull) {
                CompletableFuture<Decision> result = CompletableFuture.completedFuture(Decision.allow("no policy"));
                for (Admission a : list) {
                    result = result.thenCompose(
                            d -> d.allowed() ? a.decide(nodeKey, peerOrNull) : CompletableFuture.completedFuture(d));
                }
                return result.exceptionally(t -> Decision.deny("admission error"));
            }

            @Override
            public String describe() {
                return "all of " + list.stream().map(Admission::describe).toList();
            }
        };
    }
}
