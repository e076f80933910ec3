package dev.burrow.agent.service;

import java.time.Duration;

/** Timeouts of peer streams, each with its reason. */
public final class StreamDefaults {
    /**
     * A stream idle for an hour is closed: long enough for an idle SSH or database session, short
     * enough that forgotten connections do not pin relay circuits forever.
     */
    public static final Duration IDLE_TIMEOUT = Duration.ofHours(1);
    /** TLS handshake inside a circuit: the relay's circuit timeout is 15 s, the handshake is one more round trip. */
    public static final Duration TLS_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** From stream arrival to the listener's STATUS: TLS, OPEN and the local connect must fit in 15 s. */
    public static final Duration PREAMBLE_TIMEOUT = Duration.ofSeconds(15);
    /** Connecting to a local target: loopback or LAN answers in milliseconds; 5 s means it is down. */
    public static final Duration TARGET_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Dialer: path (circuit) plus TLS plus STATUS must complete in this time. */
    public static final Duration OPEN_TIMEOUT = Duration.ofSeconds(30);

    private StreamDefaults() {}
}
