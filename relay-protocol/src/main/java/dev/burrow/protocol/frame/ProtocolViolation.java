package dev.burrow.protocol.frame;

/**
 * A peer broke the relay protocol: the connection must be closed. The message is safe to log and
 * to send in a DENY (it never contains payload bytes or secrets).
 */
public final class ProtocolViolation extends RuntimeException {
    private final Kind kind;

    /** Bounded set of violation kinds, used as a metric tag. */
    public enum Kind {
        FRAME_TOO_LARGE,
        FRAME_TOO_SHORT,
        BAD_FIELD,
        WRONG_DIRECTION,
        UNEXPECTED_FRAME
    }

    public ProtocolViolation(Kind kind, String message) {
        super(message, null, false, false); // no stack trace: this is an expected outcome, and cheap
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
