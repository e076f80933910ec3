package dev.burrow.agent.stream;

/** How a splice ended (bounded set: used as a metric tag). */
public enum SpliceOutcome {
    /** Both directions ended cleanly. */
    CLOSED,
    /** One end was reset or failed; the other end was reset too. */
    RESET,
    /** No bytes moved for the idle timeout. */
    IDLE_TIMEOUT,
    /** A TLS end lost its transport without close_notify (possible truncation); treated as a reset. */
    TRUNCATED
}
