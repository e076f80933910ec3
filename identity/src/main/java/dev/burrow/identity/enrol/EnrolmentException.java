package dev.burrow.identity.enrol;

/** An enrolment request was refused. Messages never contain the token. */
public final class EnrolmentException extends Exception {
    /** Why; {@link #httpStatus()} maps each to a status for the HTTP endpoint. */
    public enum Reason {
        /** Body over {@link EnrolmentMessages#MAX_REQUEST_BYTES}: refused before parsing. */
        TOO_LARGE(413),
        /** Not the expected JSON, or a field of the wrong shape. */
        BAD_REQUEST(400),
        /** The node key is not a valid Ed25519 key. */
        INVALID_KEY(400),
        /** The proof-of-possession signature does not verify. */
        BAD_PROOF(403),
        /** The join token is invalid, expired, used up or revoked (one message for all). */
        TOKEN_REFUSED(403),
        /** The requested name does not fit the token (it fixes another name, or a prefix the name lacks). */
        NAME_REFUSED(403),
        /** The name belongs to another node key in the CA's record of issued names. */
        NAME_TAKEN(409),
        /** Something failed on our side. */
        INTERNAL(500);

        private final int httpStatus;

        Reason(int httpStatus) {
            this.httpStatus = httpStatus;
        }
    }

    private final Reason reason;

    public EnrolmentException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    public int httpStatus() {
        return reason.httpStatus;
    }
}
