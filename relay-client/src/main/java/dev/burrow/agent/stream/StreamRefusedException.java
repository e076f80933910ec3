package dev.burrow.agent.stream;

/**
 * Opening a peer stream was refused: by the relay (circuit rejected) or by the listener (STATUS).
 * The message is the refuser's human explanation and is safe to log and show in status.
 */
public final class StreamRefusedException extends Exception {
    private final StreamStatusCode code;
    private final String by;

    public StreamRefusedException(StreamStatusCode code, String message, String by) {
        super(
                by + " refused: " + code + (message == null || message.isBlank() ? "" : " (" + message + ")"),
                null,
                false,
                false);
        this.code = code;
        this.by = by;
    }

    public StreamStatusCode code() {
        return code;
    }

    /** Who refused: {@code "relay"} or {@code "peer"}. */
    public String by() {
        return by;
    }
}
