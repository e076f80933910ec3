package dev.burrow.relay.server.metrics;

import java.util.Locale;

/** Why a datagram (or a notice) was not delivered. Bounded: used as a metric tag. */
public enum DropReason {
    /** No client with the destination key is connected. */
    UNKNOWN_DEST,
    /** The destination's datagram queue was full; the oldest queued datagram was dropped (head drop). */
    QUEUE_FULL,
    /** The destination disconnected while the datagram was queued. */
    GONE,
    /** The destination was disconnected because it did not drain its socket within the write timeout. */
    WRITE_TIMEOUT,
    /** A control notice (PEER_GONE, PEER_PRESENT, HEALTH...) did not fit the small control queue. */
    CONTROL_QUEUE_FULL;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
