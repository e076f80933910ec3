package dev.burrow.identity;

import java.security.cert.CertificateException;

/**
 * A peer certificate was refused. The message says why in general terms and never contains
 * secrets; {@link #reason()} is the typed cause for callers and metrics.
 */
public final class PeerVerificationException extends CertificateException {
    /** Why a peer was refused. Bounded: safe as a metric tag. */
    public enum Reason {
        /** The certificate's notAfter is in the past. */
        EXPIRED,
        /** The certificate's notBefore is in the future. */
        NOT_YET_VALID,
        /** Neither a configured CA issued it nor is its key pinned or expected. */
        UNTRUSTED_ISSUER,
        /** A signature over the certificate does not verify. */
        BAD_SIGNATURE,
        /** The certificate key is not the node key the caller expected. */
        KEY_MISMATCH,
        /** The node ID or serial is on the revocation list. */
        REVOKED,
        /** Empty or over-long chain, not our profile, unparsable. */
        MALFORMED,
        /** The key is not Ed25519, has the wrong length, or is not a valid point (zero, small order, non-canonical). */
        INVALID_KEY
    }

    private final Reason reason;

    public PeerVerificationException(Reason reason, String message) {
        super(reason + ": " + message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
