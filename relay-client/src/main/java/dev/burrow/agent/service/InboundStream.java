package dev.burrow.agent.service;

import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import java.util.Objects;

/**
 * A raw byte stream some path delivered for this agent, with what the path claims about it.
 *
 * @param channel the stream (active; TLS not yet run)
 * @param path the path's name (status and logs)
 * @param claimedPeer the node the path says opened it (the relay's circuit offer source): checked
 *     against the TLS-verified identity, never trusted alone
 * @param announcedService the service the path announced (the circuit offer's): must equal the
 *     service named inside TLS
 */
public record InboundStream(Channel channel, String path, NodeKey claimedPeer, String announcedService) {
    public InboundStream {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(claimedPeer, "claimedPeer");
        Objects.requireNonNull(announcedService, "announcedService");
    }
}
