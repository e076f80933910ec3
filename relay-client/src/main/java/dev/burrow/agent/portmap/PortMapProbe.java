package dev.burrow.agent.portmap;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * What the default gateway offers for port mapping ({@code burrow netcheck}): the protocols that
 * answered, the external address NAT-PMP reported (null when it did not), and why the others did
 * not (null when all did).
 */
public record PortMapProbe(
        InetSocketAddress gateway, List<PortMapProtocol> offered, InetAddress externalAddress, String problem) {

    /**
     * Probes this host's default gateway; empty when port mapping is off ({@code BURROW_PORTMAP=off})
     * or there is no IPv4 default gateway.
     */
    public static Optional<PortMapProbe> defaultGateway() {
        if (!PortMapping.enabled()) {
            return Optional.empty();
        }
        return DefaultGateway.find()
                .map(gw -> new PortMapClient(new InetSocketAddress(gw, PcpCodec.SERVER_PORT), new PortMapCounters())
                        .probe());
    }
}
