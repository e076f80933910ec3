package dev.burrow.agent.service;

import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.protocol.frame.ServiceNames;
import java.time.Duration;
import java.util.Objects;

/**
 * One exposed service: its name, the one local target it reaches, who may use it, and its caps.
 *
 * @param maxConnections streams at once for the whole service
 * @param maxPerPeer streams at once from one peer
 * @param idleTimeout a stream with no bytes either way for this long is closed
 * @param proxyProtocol whether the target gets a PROXY v2 header first (for public ingress: with the real client address)
 * @param publicIngress the service's public-ingress opt-in, or null (the default: not public)
 * @param protocol TCP streams (the default) or UDP datagrams (flows capped by {@code maxConnections} and {@code maxPerPeer})
 */
public record ExposedService(
        String name,
        TargetPolicy target,
        AllowList allow,
        int maxConnections,
        int maxPerPeer,
        Duration idleTimeout,
        ProxyProtocol proxyProtocol,
        PublicIngress publicIngress,
        ServiceProtocol protocol) {
    public ExposedService {
        ServiceNames.checkUsable(name);
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(allow, "allow");
        if (maxConnections < 1 || maxPerPeer < 1) {
            throw new IllegalArgumentException("service " + name + ": connection caps must be >= 1");
        }
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        proxyProtocol = proxyProtocol == null ? ProxyProtocol.OFF : proxyProtocol;
        protocol = protocol == null ? ServiceProtocol.TCP : protocol;
        if (protocol == ServiceProtocol.UDP && publicIngress != null) {
            throw new IllegalArgumentException("service " + name + ": public ingress is for TCP services only");
        }
    }

    /** A TCP service (the earlier components). */
    public ExposedService(
            String name,
            TargetPolicy target,
            AllowList allow,
            int maxConnections,
            int maxPerPeer,
            Duration idleTimeout,
            ProxyProtocol proxyProtocol,
            PublicIngress publicIngress) {
        this(name, target, allow, maxConnections, maxPerPeer, idleTimeout, proxyProtocol, publicIngress, null);
    }

    public ExposedService(
            String name,
            TargetPolicy target,
            AllowList allow,
            int maxConnections,
            int maxPerPeer,
            Duration idleTimeout) {
        this(name, target, allow, maxConnections, maxPerPeer, idleTimeout, ProxyProtocol.OFF);
    }

    public ExposedService(
            String name,
            TargetPolicy target,
            AllowList allow,
            int maxConnections,
            int maxPerPeer,
            Duration idleTimeout,
            ProxyProtocol proxyProtocol) {
        this(name, target, allow, maxConnections, maxPerPeer, idleTimeout, proxyProtocol, null);
    }

    /** True when the service opted in to public ingress. */
    public boolean isPublic() {
        return publicIngress != null;
    }

    public ExposedService(String name, TargetPolicy target, AllowList allow) {
        this(
                name,
                target,
                allow,
                ConnectionCaps.DEFAULT_PER_SERVICE,
                ConnectionCaps.DEFAULT_PER_PEER,
                StreamDefaults.IDLE_TIMEOUT);
    }
}
