package dev.burrow.agent.service;

import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.SourcePrefix;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A service's opt-in to public ingress ({@code public:} in its expose entry, {@code --public} on
 * {@code burrow expose}): the agent asks its relay to publish the service on a public TCP port.
 * Connections from the internet then reach the service <em>without end-to-end TLS</em>: the relay
 * sees their plaintext, and the peer is an address, not a verified node.
 *
 * @param allowSources only clients inside one of these prefixes may connect (checked by the relay on
 *     accept, and again by this agent on the address in the PROXY header); {@code 0.0.0.0/0} and
 *     {@code ::/0} must be written out to open the service to everyone
 * @param maxConnections public connections at once (the relay may lower it)
 * @param idleTimeout a public connection with no bytes either way for this long is closed
 */
public record PublicIngress(List<SourcePrefix> allowSources, int maxConnections, Duration idleTimeout) {
    /** Public connections at once by default: a demo or a webhook sender, not a web site. */
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    /** Idle public connections are closed after this by default. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

    public PublicIngress {
        allowSources = List.copyOf(allowSources);
        if (allowSources.isEmpty()) {
            throw new IllegalArgumentException("public.allow-sources: list the client networks that may connect "
                    + "(0.0.0.0/0 and ::/0 for everyone)");
        }
        if (allowSources.size() > FrameLimits.MAX_INGRESS_SOURCES) {
            throw new IllegalArgumentException(
                    "public.allow-sources: at most " + FrameLimits.MAX_INGRESS_SOURCES + " prefixes");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("public.max-connections must be at least 1");
        }
        Objects.requireNonNull(idleTimeout, "idleTimeout");
    }

    public static PublicIngress of(List<String> sources) {
        return new PublicIngress(
                sources.stream().map(SourcePrefix::parse).toList(), DEFAULT_MAX_CONNECTIONS, DEFAULT_IDLE_TIMEOUT);
    }

    public boolean admits(InetAddress client) {
        return allowSources.stream().anyMatch(p -> p.matches(client));
    }
}
