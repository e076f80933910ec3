package dev.burrow.agent.service;

import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import java.util.Objects;
import javax.net.ssl.SSLSession;

/**
 * A raw byte stream some path delivered for this agent, with what the path claims about it.
 *
 * @param channel the stream (active; TLS not yet run, or none to run: see {@code pathSession})
 * @param path the path's name (status and logs)
 * @param claimedPeer the node the path says opened it (the relay's circuit offer source): checked
 *     against the TLS-verified identity, never trusted alone
 * @param announcedService the service the path announced (the circuit offer's): must equal the
 *     service named in OPEN
 * @param pathSession null for a path that only carries bytes (a relay circuit): the gate runs TLS
 *     inside the stream. Otherwise the TLS session of the path's own connection that carries the
 *     stream and already authenticated the peer end to end with its node certificate (the direct
 *     path's QUIC connection): the stream carries OPEN in the clear, with no TLS inside it, and the
 *     gate verifies the peer from this session, for every stream, with the same verifier
 */
public record InboundStream(
        Channel channel, String path, NodeKey claimedPeer, String announcedService, SSLSession pathSession) {
    public InboundStream {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(claimedPeer, "claimedPeer");
        Objects.requireNonNull(announcedService, "announcedService");
    }

    /** A stream of a path that only carries bytes (TLS runs inside it). */
    public InboundStream(Channel channel, String path, NodeKey claimedPeer, String announcedService) {
        this(channel, path, claimedPeer, announcedService, null);
    }
}
