package dev.burrow.agent.service;

import java.time.Duration;

/** Timeouts of peer streams, each with its reason. */
public final class StreamDefaults {
    /**
     * A stream idle for an hour is closed: long enough for an idle SSH or database session, short
     * enough that forgotten connections do not pin relay circuits forever.
     */
    public static final Duration IDLE_TIMEOUT = Duration.ofHours(1);
    /**
     * TLS handshake inside a stream: one round trip plus Ed25519 work, but a listener runs the
     * handshakes of a burst one after another on one event loop, and loaded machines are slow.
     */
    public static final Duration TLS_HANDSHAKE_TIMEOUT = Duration.ofSeconds(20);
    /** From stream arrival to the listener's STATUS: TLS, OPEN and the local connect. */
    public static final Duration PREAMBLE_TIMEOUT = Duration.ofSeconds(30);
    /** Connecting to a local target: loopback or LAN answers in milliseconds; 5 s means it is down. */
    public static final Duration TARGET_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /**
     * Dialer: waiting for an opening slot, the path (circuit), TLS and STATUS must complete in this
     * time; a local client that waited longer gets a reset.
     */
    public static final Duration OPEN_TIMEOUT = Duration.ofSeconds(90);

    private StreamDefaults() {}
}
