package dev.burrow.identity.token;

/**
 * A join token was refused. The message is the same for every cause, so a caller probing tokens
 * learns nothing (no oracle); {@link #reason()} is for logs and metrics on the server side. Neither
 * ever contains the token.
 */
public final class InvalidTokenException extends Exception {
    /** The one message shown for every refused token. */
    public static final String MESSAGE = "invalid, expired or used-up join token";

    /** Why, internally. Bounded: safe as a metric tag. */
    public enum Reason {
        /** Not of the form {@code bjt1.<id>.<secret>}. */
        MALFORMED,
        /** No token with this id. */
        UNKNOWN,
        /** The id exists but the secret does not match. */
        BAD_SECRET,
        EXPIRED,
        USED_UP,
        REVOKED
    }

    private final Reason reason;

    public InvalidTokenException(Reason reason) {
        super(MESSAGE, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
