package dev.burrow.agent.direct;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import java.util.concurrent.CompletableFuture;

/**
 * Streams over the direct path: one QUIC stream per forwarded TCP connection on the peer's QUIC
 * connection (hole-punched UDP), starting with a {@link DirectStreamHeader} and the OPEN/STATUS
 * preamble of a relay circuit, but no TLS inside the stream: the QUIC connection's TLS already
 * authenticates the peer node and encrypts the stream. Inbound streams go to the same gate.
 */
public final class DirectPath implements PeerPath {
    public static final String NAME = "direct";
    private final DirectManager manager;

    DirectPath(DirectManager manager) {
        this.manager = manager;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public CompletableFuture<Channel> open(NodeKey peer, String service) {
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
