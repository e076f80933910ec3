package dev.burrow.stun.metrics;

import java.util.Locale;

/** The transport a STUN message arrived on; a metric tag. */
public enum StunProtocol {
    UDP,
    TCP;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
