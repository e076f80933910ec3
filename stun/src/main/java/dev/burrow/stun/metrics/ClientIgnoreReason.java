package dev.burrow.stun.metrics;

import java.util.Locale;

/** Why the STUN client ignored a received packet; a bounded metric tag. */
public enum ClientIgnoreReason {
    /** Not a STUN response at all (only counted on the client's own socket). */
    NOT_STUN_RESPONSE,
    /** No outstanding transaction has this ID: unknown, already answered (duplicate) or timed out. */
    UNKNOWN_TRANSACTION,
    /** The response came from an address other than the one the request went to. */
    WRONG_SOURCE,
    /** The response did not decode (bad attribute, fingerprint...). */
    MALFORMED,
    /** The response lacked a valid MESSAGE-INTEGRITY although the request was authenticated. */
    BAD_INTEGRITY;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
