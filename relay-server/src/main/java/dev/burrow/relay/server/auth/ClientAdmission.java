package dev.burrow.relay.server.auth;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides whether an authenticated node may use the relay. Called after the key proof and the
 * certificate chain verified, so {@code key} is proven. May complete on any thread; must never
 * complete exceptionally with a secret in the message.
 */
public interface ClientAdmission {

    /** @param peerOrNull the verified certificate, or null when the client sent none (key-only mode) */
    CompletionStage<Decision> admit(NodeKey key, VerifiedPeer peerOrNull);

    /** One line for the startup log. */
    String describe();

    /** True when this mode needs a CA-issued certificate (a client without one is refused up front). */
    default boolean requiresCertificate() {
        return false;
    }

    record Decision(boolean allowed, String reason) {
        public static final Decision ALLOW = new Decision(true, "");

        public static Decision deny(String reason) {
            return new Decision(false, reason);
        }

        public CompletionStage<Decision> done() {
            return CompletableFuture.completedFuture(this);
        }
    }
}
