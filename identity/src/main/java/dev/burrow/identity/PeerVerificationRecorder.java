package dev.burrow.identity;

/**
 * What {@link NodeVerifier} reports about each peer certificate it checks. The verifier owns this
 * small interface so that the metrics package, which implements it, depends on identity and not
 * the other way round. Implementations must be cheap and thread-safe.
 */
public interface PeerVerificationRecorder {
    /** A peer certificate was accepted. */
    void peerVerified(boolean caIssued);

    /** A peer certificate was refused. */
    void peerRefused(PeerVerificationException.Reason reason);

    PeerVerificationRecorder NOOP = new PeerVerificationRecorder() {
        @Override
        public void peerVerified(boolean caIssued) {}

        @Override
        public void peerRefused(PeerVerificationException.Reason reason) {}
    };
}
