package dev.burrow.identity.enrol;

import dev.burrow.identity.token.InvalidTokenException;

/**
 * What {@link EnrolmentService} reports about each enrolment and each refused join token. The
 * service owns this small interface so that the metrics package, which implements it, depends on
 * enrolment and not the other way round. Implementations must be cheap and thread-safe.
 */
public interface EnrolmentRecorder {
    /** An enrolment finished (reason null on success). */
    void enrolment(EnrolmentException.Reason failureOrNull);

    /** A join token was refused. */
    void tokenRefused(InvalidTokenException.Reason reason);

    EnrolmentRecorder NOOP = new EnrolmentRecorder() {
        @Override
        public void enrolment(EnrolmentException.Reason failureOrNull) {}

        @Override
        public void tokenRefused(InvalidTokenException.Reason reason) {}
    };
}
