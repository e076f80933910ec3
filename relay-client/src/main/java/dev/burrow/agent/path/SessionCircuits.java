package dev.burrow.agent.path;

import dev.burrow.agent.relay.CircuitConnection;
import dev.burrow.identity.NodeKey;

/**
 * Where {@link RelayCircuitPath} hands circuits offered for the reserved session service
 * ({@code ServiceNames.SESSION_SERVICE}): the relay sessions' listener side
 * ({@code dev.burrow.agent.session.RelaySessions}).
 */
public interface SessionCircuits {
    /** Whether a session circuit from {@code source} may be accepted now (limits). */
    boolean admitOffer(NodeKey source);

    /** Runs the listener's side of an accepted session circuit; takes ownership of {@code connection}. */
    void attached(CircuitConnection connection, NodeKey source);
}
