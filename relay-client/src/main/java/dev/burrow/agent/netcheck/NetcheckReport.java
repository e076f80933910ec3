package dev.burrow.agent.netcheck;

import dev.burrow.agent.portmap.PortMapProbe;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * What {@code burrow netcheck} found.
 *
 * @param udp whether any STUN server answered over UDP
 * @param ipv4 the public IPv4 endpoint (first server's mapping), or null
 * @param ipv6 the public IPv6 endpoint, or null
 * @param mappingVariesByDestination true: a hard NAT (the mapping differs per destination, hole
 *     punching will mostly fail); false: the same mapping for every server; null: fewer than two
 *     servers answered over IPv4
 * @param stun every STUN server asked, with its answer
 * @param relays every relay, with its latencies
 * @param preferredRelay the relay with the lowest latency (the home relay), or null when none answered
 * @param portMapping what the default gateway offers for port mapping (PCP, NAT-PMP, UPnP), or null when
 *     not probed (no IPv4 default gateway, or {@code BURROW_PORTMAP=off})
 * @param ipv6HostAddresses this host's IPv6 addresses an agent announces as direct-path candidates
 *     ({@code Ipv6HostAddresses}: global unicast, not deprecated; empty when it has none)
 */
public record NetcheckReport(
        boolean udp,
        InetSocketAddress ipv4,
        InetSocketAddress ipv6,
        Boolean mappingVariesByDestination,
        List<StunResult> stun,
        List<RelayLatency> relays,
        String preferredRelay,
        PortMapProbe portMapping,
        List<InetAddress> ipv6HostAddresses) {

    public NetcheckReport {
        ipv6HostAddresses = ipv6HostAddresses == null ? List.of() : List.copyOf(ipv6HostAddresses);
    }

    /** A report without IPv6 host addresses. */
    public NetcheckReport(
            boolean udp,
            InetSocketAddress ipv4,
            InetSocketAddress ipv6,
            Boolean mappingVariesByDestination,
            List<StunResult> stun,
            List<RelayLatency> relays,
            String preferredRelay,
            PortMapProbe portMapping) {
        this(udp, ipv4, ipv6, mappingVariesByDestination, stun, relays, preferredRelay, portMapping, List.of());
    }

    /** A report without a port-mapping probe. */
    public NetcheckReport(
            boolean udp,
            InetSocketAddress ipv4,
            InetSocketAddress ipv6,
            Boolean mappingVariesByDestination,
            List<StunResult> stun,
            List<RelayLatency> relays,
            String preferredRelay) {
        this(udp, ipv4, ipv6, mappingVariesByDestination, stun, relays, preferredRelay, null);
    }

    /** One STUN server: the mapped address it saw and the round trip, or the error. */
    public record StunResult(InetSocketAddress server, InetSocketAddress mapped, Duration rtt, String error) {}

    /**
     * One relay: STUN round trip to its STUN server (UDP) and TCP connect time to its relay port.
     * {@link #latency()} prefers the UDP figure.
     */
    public record RelayLatency(
            String relay, InetSocketAddress stunServer, Duration stunRtt, Duration tcpConnect, String error) {
        public Duration latency() {
            return stunRtt != null ? stunRtt : tcpConnect;
        }
    }
}
