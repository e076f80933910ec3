package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;

/**
 * A circuit the relay offers to this node (CIRCUIT_OFFER). The token stays inside the client.
 *
 * @param source  the dialer's key as authenticated by the relay: a hint for routing and logs; authorise
 *                on the end-to-end TLS identity inside the circuit
 * @param service the service the dialer asked for
 */
public record IncomingCircuit(CircuitId circuitId, NodeKey source, String service) {
}
