package dev.burrow.agent.udp;

/** Why a UDP-service datagram was dropped (a metric tag and a status counter; never per address). */
public enum UdpDropReason {
    /** Framing or message does not parse. */
    MALFORMED,
    /** The sender is us, not a valid key, or the header's key differs from the relay's authenticated source. */
    UNKNOWN_SENDER,
    /** A session older than the sender's current one (a replayed earlier session). */
    STALE_SESSION,
    /** The counter was seen already or is older than the replay window. */
    REPLAYED,
    /** The box did not open: modified in transit, or not sealed for us. */
    UNDECRYPTABLE,
    /** DATA or REPLY for a flow that does not exist (expired, never opened, or another session's). */
    UNKNOWN_FLOW,
    /** A message type this version does not know, or one for the other direction. */
    UNEXPECTED,
    /** A local datagram larger than the path's usable payload (refused at the connecting side). */
    TOO_LARGE,
    /** A flow's bounded queue was full (pending OPEN, target socket, or the path). */
    QUEUE_FULL,
    /** The source was refused a moment ago (its datagrams are dropped until the hold ends). */
    REFUSED,
    /** No flow could be made: the forward's flow cap, or the peer is unknown. */
    NO_FLOW,
    /** A peer asked for new flows faster than {@link UdpLimits#OPEN_RATE} (each costs a certificate check). */
    OPEN_RATE,
    /**
     * A local source sent faster than the per-flow rate ({@link UdpEngine#FLOW_RATE_ENV}) at the
     * connecting side: its excess is dropped there, before it costs sealing or a place on the path.
     */
    FLOW_RATE,
    /** The path would not take it (not connected to the relay, or its queue is full). */
    PATH
}
