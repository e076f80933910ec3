package dev.burrow.agent.session;

import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.WeightedFairQueueByteDistributor;
import io.netty.handler.flush.FlushConsolidationHandler;
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

    /**
     * The largest DATA frame an end accepts (SETTINGS_MAX_FRAME_SIZE). 64 KiB rather than the
     * protocol's 16 KiB default: a bulk stream then costs a quarter of the frames (each one a
     * header, a flow-control update and a child-channel read), and a frame still takes well under a
     * millisecond on any link that carries a bulk stream, so an interactive stream sharing the
     * session waits at most that long behind one.
     */
    public static final int MAX_FRAME_SIZE = 64 << 10;

    /** The window over which {@link #MAX_RESETS_SENT} is counted. */
    static final int RESETS_WINDOW_SECONDS = 10;

    /**
     * RST_STREAM frames an end sends per {@link #RESETS_WINDOW_SECONDS} before it closes the session
     * (Netty's guard against a peer that makes us reset streams without end, "MadeYouReset"). After
     * this end resets a stream, every DATA frame the peer had already sent on it draws one more
     * RST_STREAM: up to a stream window of frames, {@code STREAM_WINDOW / 16 KiB} = 256 when the peer
     * writes the smallest frames an honest HTTP/2 sender does. Netty's default, 200 per 30 s, made
     * one cancelled bulk stream close the whole session (seen with iperf3, whose streams end by a
     * reset); this allows every stream of a full session to be reset with a full window in flight in
     * one window, and still stops a peer that draws more than about 6,500 a second.
     */
    static final int MAX_RESETS_SENT = STREAM_WINDOW / (16 << 10) * MAX_CONCURRENT_STREAMS;

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

    /**
     * Streams that may wait for one session's start; more take circuits of their own. A session
     * carries at most {@link #MAX_CONCURRENT_STREAMS}, so more waiting would gain nothing.
     */
    public static final int MAX_STREAMS_WAITING_FOR_START = MAX_CONCURRENT_STREAMS;

    /**
     * How long a stream waits for a session start under way before it takes a circuit of its own.
     * A start is one circuit and one TLS handshake, what the stream's own circuit would cost; this
     * bound only matters when the start hangs (its own timeout is {@link #SETUP_TIMEOUT}).
     */
    public static final Duration STREAM_WAIT_FOR_START = Duration.ofSeconds(3);

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
                .maxFrameSize(MAX_FRAME_SIZE)
                .maxHeaderListSize(MAX_HEADER_LIST_SIZE);
        return client ? s.pushEnabled(false) : s;
    }

    /**
     * Flushes of a session's streams merged into one before they reach its TLS, when nothing is
     * being read (while the session reads, the multiplexer already flushes once at the end of the
     * read). Each stream's bytes arrive from its own socket and flush on their own; merged, the
     * streams that wrote during one turn of the session's event loop share TLS records and one
     * write to the relay circuit instead of one each. 64 bounds how long the first of them waits
     * when the loop stays busy.
     */
    static final int FLUSHES_MERGED = 64;

    /** The handler that merges a session's flushes ({@link #FLUSHES_MERGED}), between its TLS and its HTTP/2 codec. */
    static FlushConsolidationHandler flushConsolidation() {
        return new FlushConsolidationHandler(FLUSHES_MERGED, true);
    }

    /**
     * The HTTP/2 codec of one end of a session. Resets the peer sends need no count of their own
     * (Netty's "rapid reset" guard, 200 per 30 s by default, would close a session whose clients
     * abort connections): each needs a stream the peer opened, and the listener already limits
     * stream opens to {@link #MAX_STREAM_OPENS_PER_SECOND} and {@link #MAX_CONCURRENT_STREAMS}.
     */
    static Http2FrameCodec codec(boolean client) {
        return new CodecBuilder(client)
                .gracefulShutdownTimeoutMillis(0)
                .initialSettings(settings(client))
                .validateHeaders(true)
                .decoderEnforceMaxRstFramesPerWindow(0, 0)
                .encoderEnforceMaxRstFramesPerWindow(MAX_RESETS_SENT, RESETS_WINDOW_SECONDS)
                .build();
    }

    /**
     * Bytes a stream may send in one turn while other streams of the session also have bytes to
     * send. Netty's default, 1 KiB, made every stream of a busy session write 1 KiB DATA frames, each
     * one a frame header, a flow-control update, a child-channel read and a socket write at the
     * other end: eight bulk streams on one session cost three times the CPU per byte of eight
     * circuits. 16 KiB, one TLS record, keeps the rotation between streams fine enough that an
     * interactive stream waits behind at most one record per busy stream.
     */
    static final int ALLOCATION_QUANTUM = 16 << 10;

    /** {@link Http2FrameCodecBuilder} with the session's HTTP/2 connection: see {@link #ALLOCATION_QUANTUM}. */
    private static final class CodecBuilder extends Http2FrameCodecBuilder {
        CodecBuilder(boolean client) {
            DefaultHttp2Connection connection = new DefaultHttp2Connection(!client);
            WeightedFairQueueByteDistributor distributor = new WeightedFairQueueByteDistributor(connection);
            distributor.allocationQuantum(ALLOCATION_QUANTUM);
            connection.remote().flowController(new DefaultHttp2RemoteFlowController(connection, distributor));
            connection(connection);
        }
    }
}
