package dev.burrow.stun.probe;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Pure classification of probe results; no I/O, so every rule is unit-tested with synthetic answers. */
public final class NatClassifier {
    private NatClassifier() {}

    /**
     * Mapping behaviour from the mapped addresses seen for several destinations (RFC 5780 §4.3):
     * the same everywhere is endpoint-independent; different for two ports of one server IP is
     * address-and-port-dependent; equal across ports of one IP but different across IPs is
     * address-dependent; otherwise it varies in a way these servers cannot pin down.
     */
    public static MappingBehavior mapping(List<ServerObservation> observations) {
        List<ServerObservation> ok =
                observations.stream().filter(ServerObservation::succeeded).toList();
        Set<InetSocketAddress> destinations = new LinkedHashSet<>();
        ok.forEach(o -> destinations.add(o.server()));
        if (destinations.size() < 2) {
            return MappingBehavior.UNKNOWN;
        }
        if (ok.stream().map(ServerObservation::mapped).distinct().count() == 1) {
            return MappingBehavior.ENDPOINT_INDEPENDENT;
        }
        boolean samePortDiffers = false;
        boolean sameIpPairSeen = false;
        boolean diffIpDiffers = false;
        for (int i = 0; i < ok.size(); i++) {
            for (int j = i + 1; j < ok.size(); j++) {
                ServerObservation a = ok.get(i);
                ServerObservation b = ok.get(j);
                if (a.server().equals(b.server())) {
                    continue;
                }
                boolean differs = !a.mapped().equals(b.mapped());
                if (a.server().getAddress().equals(b.server().getAddress())) {
                    sameIpPairSeen = true;
                    samePortDiffers |= differs;
                } else {
                    diffIpDiffers |= differs;
                }
            }
        }
        if (samePortDiffers) {
            return MappingBehavior.ADDRESS_AND_PORT_DEPENDENT;
        }
        if (sameIpPairSeen && diffIpDiffers) {
            return MappingBehavior.ADDRESS_DEPENDENT;
        }
        return MappingBehavior.DEPENDENT;
    }

    /**
     * Filtering behaviour from the RFC 5780 §4.4 tests: was an answer received from the server's
     * other IP and port (test II), and from its other port only (test III)? Null means not tested.
     */
    public static FilteringBehavior filtering(Boolean otherIpAndPortAnswered, Boolean otherPortAnswered) {
        if (otherIpAndPortAnswered == null) {
            return FilteringBehavior.UNKNOWN;
        }
        if (otherIpAndPortAnswered) {
            return FilteringBehavior.ENDPOINT_INDEPENDENT;
        }
        if (otherPortAnswered == null) {
            return FilteringBehavior.UNKNOWN;
        }
        return otherPortAnswered ? FilteringBehavior.ADDRESS_DEPENDENT : FilteringBehavior.ADDRESS_AND_PORT_DEPENDENT;
    }

    /**
     * True when some mapped address is not the local socket's own address (a NAT rewrote it);
     * false when every mapped address is local. {@code localAddresses} are the host's interface
     * addresses (the socket may be bound to a wildcard).
     */
    public static Boolean natDetected(
            List<ServerObservation> observations, Set<InetAddress> localAddresses, int localPort) {
        List<ServerObservation> ok =
                observations.stream().filter(ServerObservation::succeeded).toList();
        if (ok.isEmpty()) {
            return null;
        }
        for (ServerObservation o : ok) {
            if (o.mapped().getPort() != localPort
                    || !localAddresses.contains(o.mapped().getAddress())) {
                return true;
            }
        }
        return false;
    }

    /** The distinct mapped addresses, in the order first seen. */
    public static List<InetSocketAddress> publicEndpoints(List<ServerObservation> observations) {
        Set<InetSocketAddress> seen = new LinkedHashSet<>();
        for (ServerObservation o : observations) {
            if (o.succeeded()) {
                seen.add(o.mapped());
            }
        }
        return new ArrayList<>(seen);
    }
}
