package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;

/**
 * A circuit the relay offers to this node (CIRCUIT_OFFER). The token stays inside the client.
 *
 * @param source  the dialer's key as authenticated by the relay: a hint for routing and logs; authorise
 *                on the end-to-end TLS identity inside the circuit
 * @param service the service the dialer asked for
 * @param ingress a public-ingress circuit (CIRCUIT_OFFER flag INGRESS): no dialer node and no
 *                end-to-end TLS; a PROXY v2 header from the relay comes first. Only for published services.
 */
public record IncomingCircuit(CircuitId circuitId, NodeKey source, String service, boolean ingress) {
    /** An ordinary node-to-node circuit. */
    public IncomingCircuit(CircuitId circuitId, NodeKey source, String service) {
        this(circuitId, source, service, false);
    }
}
