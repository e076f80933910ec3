package dev.burrow.stun.metrics;

import java.util.Locale;

/** How a client Binding transaction ended; a bounded metric tag. */
public enum ClientOutcome {
    SUCCESS,
    ERROR_RESPONSE,
    TIMEOUT,
    /** Could not be sent (closed channel, too many outstanding transactions). */
    FAILED;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
