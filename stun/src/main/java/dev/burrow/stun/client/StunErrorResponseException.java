package dev.burrow.stun.client;

/** The server answered with a Binding error response. */
public final class StunErrorResponseException extends Exception {
    private final int code;

    public StunErrorResponseException(int code, String reason) {
        super("STUN error " + code + (reason == null || reason.isEmpty() ? "" : " (" + reason + ")"));
        this.code = code;
    }

    /** The ERROR-CODE, e.g. 420 when the server does not support CHANGE-REQUEST. */
    public int code() {
        return code;
    }
}
