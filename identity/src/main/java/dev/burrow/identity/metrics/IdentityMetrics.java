package dev.burrow.identity.metrics;

import dev.burrow.identity.PeerVerificationException;
import dev.burrow.identity.enrol.EnrolmentException;
import dev.burrow.identity.token.InvalidTokenException;

/**
 * What identity components count. Implementations must be cheap and thread-safe; tags come from
 * enums only (never node IDs or token IDs).
 */
public interface IdentityMetrics {
    /** Counter, tag {@code outcome}: {@code ca}, {@code key_only}, or a refusal reason in lower case. */
    String PEER_VERIFICATIONS = "burrow.identity.peer.verifications";
    /** Counter, tag {@code outcome}: {@code ok} or an {@link EnrolmentException.Reason} in lower case. */
    String ENROLMENTS = "burrow.identity.enrolments";
    /** Counter, tag {@code reason}: an {@link InvalidTokenException.Reason} in lower case. */
    String TOKENS_REFUSED = "burrow.identity.tokens.refused";
    /** Counter, tag {@code outcome}: {@link WebhookOutcome} in lower case. */
    String WEBHOOK_DECISIONS = "burrow.identity.admission.webhook";

    /** How a webhook admission ended. */
    enum WebhookOutcome {
        ALLOW,
        DENY,
        ERROR_DENIED,
        ERROR_ADMITTED
    }

    /** A peer certificate was accepted. */
    void peerVerified(boolean caIssued);

    /** A peer certificate was refused. */
    void peerRefused(PeerVerificationException.Reason reason);

    /** An enrolment finished (reason null on success). */
    void enrolment(EnrolmentException.Reason failureOrNull);

    /** A join token was refused. */
    void tokenRefused(InvalidTokenException.Reason reason);

    /** A webhook admission decision. */
    void webhook(WebhookOutcome outcome);

    IdentityMetrics NOOP = new IdentityMetrics() {
        @Override
        public void peerVerified(boolean caIssued) {}

        @Override
        public void peerRefused(PeerVerificationException.Reason reason) {}

        @Override
        public void enrolment(EnrolmentException.Reason failureOrNull) {}

        @Override
        public void tokenRefused(InvalidTokenException.Reason reason) {}

        @Override
        public void webhook(WebhookOutcome outcome) {}
    };
}
