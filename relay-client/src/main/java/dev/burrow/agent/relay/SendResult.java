package dev.burrow.agent.relay;

/** Outcome of {@link RelayClient#send}: datagrams are never queued without bound, so a send can be dropped. */
public enum SendResult {
    /** Handed to the relay connection (it may still be lost with the connection, like any datagram). */
    QUEUED,
    /** No authenticated relay connection right now; datagrams are not kept across reconnects (they would be stale). */
    DROPPED_NOT_CONNECTED,
    /** The connection is not writable or the bounded outbound queue is full: the relay or network is slower than the sender. */
    DROPPED_BACKPRESSURE,
    /** Larger than the relay's maximum datagram size. */
    DROPPED_TOO_LARGE;

    public boolean accepted() {
        return this == QUEUED;
    }
}
