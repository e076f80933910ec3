package dev.burrow.stun.codec;

/**
 * Bytes that are not a well-formed STUN message. Carries a reason from a fixed set (used as a
 * metric tag) and no stack trace: garbage on a UDP port is expected, and must be cheap to drop.
 */
public final class StunDecodeException extends Exception {
    /** Why a message was rejected; a bounded set, safe as a metric tag. */
    public enum Reason {
        /** Fewer than 20 bytes. */
        TOO_SHORT,
        /** The two top bits of the type are not zero: another protocol multiplexed on the port. */
        NOT_STUN,
        /** The magic cookie is not 0x2112A442 (including RFC 3489 clients). */
        BAD_COOKIE,
        /** The length is not a multiple of 4 or does not match the bytes received. */
        BAD_LENGTH,
        /** An attribute's length runs past the end of the message. */
        ATTRIBUTE_OVERFLOW,
        /** More attributes than {@link StunCodec#MAX_ATTRIBUTES}. */
        TOO_MANY_ATTRIBUTES,
        /** A known attribute with an invalid value (length, family, text). */
        BAD_ATTRIBUTE,
        /** FINGERPRINT is not the last attribute. */
        FINGERPRINT_NOT_LAST,
        /** FINGERPRINT does not match the CRC of the message. */
        BAD_FINGERPRINT,
    }

    private final Reason reason;

    public StunDecodeException(Reason reason, String detail) {
        super(reason + ": " + detail, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
