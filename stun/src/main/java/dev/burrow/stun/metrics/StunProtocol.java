package dev.burrow.stun.metrics;

/** The transport a STUN message arrived on; a metric tag. */
public enum StunProtocol {
    UDP,
    TCP;

    public String tag() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
