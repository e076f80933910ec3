package dev.burrow.agent.caller;

import java.util.List;
import java.util.Objects;

/**
 * The verified identity behind one local connection the agent opened to an exposed service: what
 * {@code burrow whois} answers.
 *
 * @param local the agent's end of the connection, as the target sees it (host:port)
 * @param nodeId the peer's node ID (TLS-verified)
 * @param name the peer's name, only when a fleet CA issued its certificate; else null
 * @param tags the peer's tags from a CA-issued certificate (empty otherwise)
 * @param caIssued whether a fleet CA vouches for name and tags
 * @param service the exposed service the peer opened
 * @param path the path that carried the stream (relay, direct)
 * @param target the target the agent connected to
 * @param mappedAddress the source address a PROXY v2 header would carry for this peer ({@link PeerAddresses})
 * @param since when the connection was made (ISO-8601 UTC)
 */
public record Caller(
        String local,
        String nodeId,
        String name,
        List<String> tags,
        boolean caIssued,
        String service,
        String path,
        String target,
        String mappedAddress,
        String since) {
    public Caller {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(nodeId, "nodeId");
        tags = List.copyOf(tags);
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(since, "since");
    }
}
