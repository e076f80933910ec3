package dev.burrow.agent.path;

import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.AttributeKey;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLSession;

/**
 * A way to reach a peer: opens a raw, ordered, reliable byte stream to one of its services. The
 * stream is not yet authenticated end to end: the caller runs TLS with the node certificates over
 * it (dialer side: {@code PeerStreamDialer}; listener side: every
 * inbound stream of every path goes through {@code InboundStreamGate}).
 *
 * <p>{@link RelayCircuitPath} (one relay circuit per stream) is the first implementation; a
 * direct (hole-punched QUIC) path will be another, chosen per peer by a path selector.
 */
public interface PeerPath {

    /**
     * Set by a path on the channels it opens when bytes may be held back until the caller's
     * handlers are in place: the caller runs (and clears) it right after adding its handlers.
     */
    AttributeKey<Runnable> START_HOOK = AttributeKey.valueOf("burrow.path.start");

    /**
     * Set by a path whose own connection authenticated the peer end to end with its node
     * certificate (the direct path's QUIC connection): that connection's TLS session. The caller
     * then runs no TLS inside the stream: it verifies the peer from this session and sends OPEN in
     * the clear (inside the path's encryption), see {@code docs/protocol.md}.
     */
    AttributeKey<SSLSession> PATH_SESSION = AttributeKey.valueOf("burrow.path.session");

    /**
     * Bytes a path-authenticated stream must start with (the direct path's stream header), sent by
     * the caller together with OPEN, in one write. Taken (and cleared) by the caller.
     */
    AttributeKey<byte[]> STREAM_PREFIX = AttributeKey.valueOf("burrow.path.prefix");

    /** Short name shown in status: {@code relay}, later {@code direct}. */
    String name();

    /**
     * Opens a stream to {@code service} on {@code peer}. The channel is active and has auto-read
     * off; it fails with {@code StreamRefusedException} when the path refused (for example the relay
     * rejected the circuit) or another exception when the path is down.
     */
    CompletableFuture<Channel> open(NodeKey peer, String service);

    /**
     * As {@link #open(NodeKey, String)}, preferring a channel on {@code near} (the event loop of the
     * local socket the stream will be spliced to): bytes that stay on one thread cost no task
     * hand-off and wake-up per read. Paths that cannot choose ignore it.
     */
    default CompletableFuture<Channel> open(NodeKey peer, String service, EventLoop near) {
        return open(peer, service);
    }

    /** Whether this path can currently carry streams (for example: connected to the relay). */
    boolean isUp();

    /**
     * Whether a stream to {@code peer} opened now would ride a connection to it that is up and
     * already authenticated (a relay session with room, the direct path's QUIC connection): it then
     * costs a frame, not a relay circuit and a handshake of its own, so the dialer opens many at once
     * ({@code PeerStreamDialer#MAX_OPENING_MULTIPLEXED}). A guess that may turn stale a moment later;
     * the path still decides in {@link #open}.
     */
    default boolean multiplexes(NodeKey peer) {
        return false;
    }
}
