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
    TRUNCATED,
    /**
     * One end's input had ended and neither direction moved for {@link Splice#STALL_TIMEOUT}: aborted
     * (both ends reset) by the splice's watchdog, the last line of defence against a stream that
     * would otherwise hang forever. Counted; should stay at zero.
     */
    STALLED
}
