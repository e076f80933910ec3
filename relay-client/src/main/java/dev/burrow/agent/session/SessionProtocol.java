package dev.burrow.agent.session;

import io.netty.handler.codec.http2.Http2Settings;
import java.time.Duration;

/**
 * The relay session's wire constants and limits (see docs/protocol.md, "Relay sessions"). A session
 * is one relay circuit to the peer's reserved service {@link #SERVICE}, end-to-end TLS 1.3 with the
 * node certificates run once over it, then HTTP/2 inside that TLS: every forwarded connection is one
 * HTTP/2 stream (a CONNECT request whose {@code :authority} is the service) carrying exactly the
 * bytes of a direct-path QUIC stream after its header: OPEN, STATUS, then the data.
 */
public final class SessionProtocol {
    private SessionProtocol() {}

    /**
     * The reserved service a session circuit names. {@code ServiceNames} reserves it: no exposed
     * service and no forward can use it (see {@code ServiceNames#isReserved}).
     */
    public static final String SERVICE = dev.burrow.protocol.frame.ServiceNames.SESSION_SERVICE;

    /** The request method of a stream: CONNECT-style, the service in {@code :authority}. */
    static final String METHOD = "CONNECT";

    /**
     * Streams at once on one session (SETTINGS_MAX_CONCURRENT_STREAMS, announced by the listener).
     * A dialer with this many streams open on a session opens the next one on its own circuit, as
     * before sessions. 256 is far above what one pair of agents runs at once in practice and keeps
     * the per-session state small.
     */
    public static final int MAX_CONCURRENT_STREAMS = 256;

    /**
     * Header list size: a stream's headers are a method and a service name (well under 100 bytes);
     * anything bigger is not a Burrow dialer.
     */
    static final int MAX_HEADER_LIST_SIZE = 1024;

    /**
     * Per-stream receive window. 4 MiB lets one stream fill about 320 Mbit/s at a 100 ms end-to-end
     * RTT (a window per RTT) and far more on a LAN, while a stalled reader holds at most this much.
     */
    public static final int STREAM_WINDOW = 4 << 20;

    /**
     * Per-session (connection) receive window. Bytes a stalled reader has not read count against it
     * until read: 64 MiB leaves room for 15 streams stalled at their full window before a 16th stream
     * waits, so a bulk stream whose reader stalls never starves an interactive one.
     */
    public static final int SESSION_WINDOW = 64 << 20;

    /** A session with no streams for this long is closed, unless a forward points to its peer. */
    public static final Duration IDLE_TIMEOUT = Duration.ofMinutes(2);

    /** Sessions this agent dials at most (one per peer); beyond it streams use per-stream circuits. */
    public static final int MAX_OUTBOUND_SESSIONS = 256;

    /** Sessions this agent accepts at most (from all peers together); beyond it offers are refused. */
    public static final int MAX_INBOUND_SESSIONS = 256;

    /** Sessions one peer may hold to this agent at once (one is normal; a restart may briefly leave two). */
    public static final int MAX_INBOUND_SESSIONS_PER_PEER = 4;

    /**
     * Streams a peer may open per second on one session (a token bucket of this size, refilled each
     * second). Above it new streams are reset with REFUSED_STREAM and counted; the session stays.
     */
    public static final int MAX_STREAM_OPENS_PER_SECOND = 2000;

    /** The TLS and HTTP/2 preface exchange must complete in this time. */
    public static final Duration SETUP_TIMEOUT = Duration.ofSeconds(15);

    /** First wait after a failed session start; doubled per failure up to {@link #MAX_BACKOFF}. */
    static final Duration MIN_BACKOFF = Duration.ofSeconds(1);

    static final Duration MAX_BACKOFF = Duration.ofMinutes(1);

    /** A peer that refused the session service (an older agent) is not asked again for this long. */
    static final Duration UNSUPPORTED_RETRY = Duration.ofMinutes(10);

    /** The HTTP/2 settings an end announces (a client also turns server push off). */
    static Http2Settings settings(boolean client) {
        Http2Settings s = Http2Settings.defaultSettings()
                .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
                .initialWindowSize(STREAM_WINDOW)
                .maxHeaderListSize(MAX_HEADER_LIST_SIZE);
        return client ? s.pushEnabled(false) : s;
    }
}
