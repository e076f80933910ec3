package dev.burrow.agent.direct;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;

/**
 * Streams over the direct path: one QUIC stream per forwarded TCP connection on the peer's QUIC
 * connection (hole-punched UDP), starting with a {@link DirectStreamHeader} and the OPEN/STATUS
 * preamble of a relay circuit, but no TLS inside the stream: the QUIC connection's TLS already
 * authenticates the peer node and encrypts the stream. Inbound streams go to the same gate.
 *
 * <p>Where the peer is also reachable over TCP, a {@link Carrier} (the agent's direct TCP
 * sessions) carries the streams instead: QUIC on this machine moves a sixth of what a TCP
 * connection moves (docs/benchmarks.md). The path stays {@value #NAME} either way; the first
 * streams to a peer take QUIC while the carrier connects in the background.
 */
public final class DirectPath implements PeerPath {
    public static final String NAME = "direct";
    private final DirectManager manager;
    private volatile Carrier carrier;

    /** Another transport between the same two agents that streams prefer while it is up. */
    public interface Carrier {
        /** A stream to {@code service} on it (the channel contract of {@link PeerPath#open}), or null when it has none up. */
        CompletableFuture<Channel> openStream(NodeKey peer, String service);

        /** The peer's direct endpoint is proven and streams to it are wanted: connect in the background (idempotent). */
        void connect(NodeKey peer, InetSocketAddress endpoint);

        /** Some peer's direct path came up (the carrier may start listening now). */
        default void pathUp() {}

        /** For status: which transport the peer's direct streams take now, and why. */
        String describe(NodeKey peer);
    }

    /** For status: how direct streams to {@code peer} travel (a carrier's session, or QUIC). */
    public String transportNote(NodeKey peer) {
        Carrier c = carrier;
        return c == null ? "streams on QUIC" : c.describe(peer);
    }

    DirectPath(DirectManager manager) {
        this.manager = manager;
    }

    void carrier(Carrier carrier) {
        this.carrier = carrier;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public CompletableFuture<Channel> open(NodeKey peer, String service) {
        Carrier c = carrier;
        if (c != null) {
            CompletableFuture<Channel> onCarrier = c.openStream(peer, service);
            if (onCarrier != null) {
                manager.noteActive(peer); // keeps the disco path, and with it "direct", alive
                return onCarrier.exceptionallyCompose(e -> manager.openStream(peer, service));
            }
            manager.provenEndpoint(peer).ifPresent(endpoint -> c.connect(peer, endpoint));
        }
        return manager.openStream(peer, service);
    }

    @Override
    public boolean isUp() {
        return manager.isRunning();
    }

    /** Every direct stream is a QUIC stream of the peer's one connection (or fails at once without one). */
    @Override
    public boolean multiplexes(NodeKey peer) {
        return true;
    }
}
