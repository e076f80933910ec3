package dev.burrow.agent.disco;

/** Why a received disco packet was dropped (a counter tag; never answered). */
public enum DiscoDropReason {
    /** Framing or plaintext did not parse. */
    MALFORMED,
    /** The claimed sender is not a peer we talk to, is not a valid key, or is ourselves. */
    UNKNOWN_SENDER,
    /** The box did not open (wrong key, tampered, or not for us). */
    UNDECRYPTABLE,
    /** A counter already seen or older than the replay window. */
    REPLAYED,
    /** A session older than the sender's current one (a replayed or delayed old session). */
    STALE_SESSION,
    /** A pong whose transaction we did not start (or already completed). */
    UNKNOWN_TRANSACTION
}
