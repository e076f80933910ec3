package dev.burrow.stun.metrics;

/**
 * What the STUN server and client count. Implementations must be cheap and thread-safe; tags
 * come from the enums only (no per-address tags).
 */
public interface StunMetrics {
    /** Counter, tags {@code protocol} (udp, tcp) and {@code class} (success, error). */
    String RESPONSES = "burrow.stun.server.responses";
    /** Counter, tag {@code reason} ({@link DropReason}). */
    String DROPPED = "burrow.stun.server.dropped";
    /** Counter, tag {@code outcome} ({@link ClientOutcome}). */
    String CLIENT_TRANSACTIONS = "burrow.stun.client.transactions";
    /** Counter, tag {@code reason} ({@link ClientIgnoreReason}). */
    String CLIENT_IGNORED = "burrow.stun.client.ignored";
    /** Counter: requests sent by the client, retransmissions included. */
    String CLIENT_SENT = "burrow.stun.client.sent";

    /** The server answered a request. */
    void responded(StunProtocol protocol, boolean error);

    /** The server dropped input without answering. */
    void dropped(DropReason reason);

    /** A client transaction ended. */
    void clientTransaction(ClientOutcome outcome);

    /** The client ignored a packet. */
    void clientIgnored(ClientIgnoreReason reason);

    /** The client sent (or re-sent) a request. */
    void clientSent();

    StunMetrics NOOP = new StunMetrics() {
        @Override
        public void responded(StunProtocol protocol, boolean error) {}

        @Override
        public void dropped(DropReason reason) {}

        @Override
        public void clientTransaction(ClientOutcome outcome) {}

        @Override
        public void clientIgnored(ClientIgnoreReason reason) {}

        @Override
        public void clientSent() {}
    };
}
