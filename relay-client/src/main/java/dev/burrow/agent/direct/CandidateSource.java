package dev.burrow.agent.direct;

import dev.burrow.agent.endpoint.Endpoint;
import dev.burrow.agent.endpoint.EndpointDiscovery;
import dev.burrow.agent.portmap.PortMapping;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Where one direct-path socket's own candidates come from: the addresses a peer may reach that
 * socket at, announced in CALL_ME_MAYBE: {@link EndpointDiscovery} (interface addresses and
 * STUN-reflexive mappings) and, where the gateway grants one, a port mapping ({@link PortMapping}:
 * PCP, NAT-PMP, UPnP); extra IPv6 addresses would be further sources of the same socket. Called on
 * the manager's event loop.
 */
interface CandidateSource extends AutoCloseable {
    /** The current candidates, best first; empty while nothing is known yet. */
    List<InetSocketAddress> candidates();

    @Override
    void close();

    /** The endpoints an {@link EndpointDiscovery} currently knows. */
    static CandidateSource of(EndpointDiscovery discovery) {
        return new CandidateSource() {
            @Override
            public List<InetSocketAddress> candidates() {
                return discovery.current().stream().map(Endpoint::address).toList();
            }

            @Override
            public void close() {
                discovery.close();
            }
        };
    }

    /** The external address a port mapping on the gateway (PCP, NAT-PMP, UPnP) holds for the socket, while held. */
    static CandidateSource of(PortMapping mapping) {
        return new CandidateSource() {
            @Override
            public List<InetSocketAddress> candidates() {
                return mapping.external().map(List::of).orElse(List.of());
            }

            @Override
            public void close() {
                mapping.close();
            }
        };
    }
}
