package dev.burrow.agent.session;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.path.RelayCircuitPath;
import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.util.concurrent.CompletableFuture;

/**
 * The relay path with sessions: a stream goes on the peer's {@link RelaySession} when one is up and
 * has room (one round trip: OPEN with the first bytes, then STATUS), otherwise on its own relay
 * circuit as before ({@link RelayCircuitPath}) while a session starts in the background. A stream
 * whose session died while it was being opened also falls back to a circuit. Its name stays
 * {@value RelayCircuitPath#NAME}: status, whois and the path selector see a relay stream.
 */
public final class RelaySessionPath implements PeerPath {
    private final RelaySessions sessions;
    private final RelayCircuitPath circuits;

    public RelaySessionPath(RelaySessions sessions, RelayCircuitPath circuits) {
        this.sessions = sessions;
        this.circuits = circuits;
    }

    @Override
    public String name() {
        return RelayCircuitPath.NAME;
    }

    @Override
    public boolean isUp() {
        return circuits.isUp();
    }

    /** While the peer's session is up and has room; while it starts, streams wait for it one circuit slot each. */
    @Override
    public boolean multiplexes(NodeKey peer) {
        RelaySession up = sessions.session(peer);
        return up != null && up.streams() < SessionProtocol.MAX_CONCURRENT_STREAMS;
    }

    @Override
    public CompletableFuture<Channel> open(NodeKey peer, String service) {
        return open(peer, service, null);
    }

    @Override
    public CompletableFuture<Channel> open(NodeKey peer, String service, EventLoop near) {
        CompletableFuture<Channel> onSession = sessions.openStream(peer, service);
        if (onSession == null) {
            return circuits.open(peer, service, near);
        }
        return onSession.exceptionallyCompose(e -> circuits.open(peer, service, near));
    }
}
