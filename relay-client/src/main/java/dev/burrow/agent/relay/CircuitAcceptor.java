package dev.burrow.agent.relay;

/**
 * The listener side of circuits: decides on offers and receives the attached connections. Called on
 * the client's event loop; never block.
 */
public interface CircuitAcceptor {

    /**
     * Accept or reject an offer. An exception counts as a rejection with reason INTERNAL.
     */
    CircuitDecision decide(IncomingCircuit offer);

    /**
     * An accepted circuit is attached. The connection is the caller's from now on: add handlers to
     * its pipeline, then call {@link CircuitConnection#start()}, and close it when done.
     */
    void attached(IncomingCircuit offer, CircuitConnection connection);

    /** An accepted circuit could not be attached (relay refused, timeout, I/O error). */
    default void attachFailed(IncomingCircuit offer, Throwable cause) {}
}
