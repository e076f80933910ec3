package dev.burrow.identity.metrics;

import dev.burrow.identity.PeerVerificationException;
import dev.burrow.identity.PeerVerificationRecorder;
import dev.burrow.identity.enrol.EnrolmentException;
import dev.burrow.identity.enrol.EnrolmentRecorder;
import dev.burrow.identity.token.InvalidTokenException;

/**
 * What identity components count: the verifier's and the enrolment service's own recorder
 * interfaces plus webhook admissions. Implementations must be cheap and thread-safe; tags come from
 * enums only (never node IDs or token IDs).
 */
public interface IdentityMetrics extends PeerVerificationRecorder, EnrolmentRecorder {
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
