package dev.burrow.agent.relay;

/** Where a {@link RelayClient} is in its life. */
public enum RelayConnectionState {
    /** Built, not started. */
    NEW,
    /** Dialling, TLS, HTTP upgrade or authentication in progress. */
    CONNECTING,
    /** Authenticated; datagrams and circuits work. */
    CONNECTED,
    /** Waiting before the next attempt (after a failure, a lost connection, or RESTARTING). */
    BACKING_OFF,
    /** The relay refused us definitively; waiting the long denied backoff. */
    DENIED,
    /** {@link RelayClient#close()} was called. */
    CLOSED
}
