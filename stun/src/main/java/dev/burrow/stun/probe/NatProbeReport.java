package dev.burrow.stun.probe;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * What a NAT behaviour probe found.
 *
 * @param localAddress    the local socket every request left from
 * @param observations    every Binding transaction, in order
 * @param mapping         mapping behaviour
 * @param filtering       filtering behaviour (UNKNOWN without an RFC 5780 server)
 * @param natDetected     true when a mapped address differs from the local one, false when they
 *                        are all equal, null when nothing answered
 * @param publicEndpoints the distinct reflexive addresses seen (candidates, not yet verified)
 */
public record NatProbeReport(
        InetSocketAddress localAddress,
        List<ServerObservation> observations,
        MappingBehavior mapping,
        FilteringBehavior filtering,
        Boolean natDetected,
        List<InetSocketAddress> publicEndpoints) {
    public NatProbeReport {
        observations = List.copyOf(observations);
        publicEndpoints = List.copyOf(publicEndpoints);
    }
}
