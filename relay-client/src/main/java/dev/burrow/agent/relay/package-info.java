/**
 * The relay client: a node's connection to a Burrow relay.
 *
 * <p>Public API: {@link dev.burrow.agent.relay.RelayClient} built from a
 * {@link dev.burrow.agent.relay.RelayClientConfig}; events through
 * {@link dev.burrow.agent.relay.RelayClientListener} and {@link dev.burrow.agent.relay.DatagramHandler};
 * circuits through {@link dev.burrow.agent.relay.RelayClient#openCircuit} (dialer) and
 * {@link dev.burrow.agent.relay.CircuitAcceptor} (listener), both yielding a
 * {@link dev.burrow.agent.relay.CircuitConnection}; metrics through
 * {@link dev.burrow.agent.relay.RelayClientMetrics}; relay choice per attempt through
 * {@link dev.burrow.agent.relay.RelayUrlSelector}.
 *
 * <p>Inside (package-private), one part per state machine behind the {@code RelayClient} facade:
 * {@code RelayLink} (the control connection's lifecycle: dialling, backoff, moves, RESTARTING),
 * {@code RelayDatagrams}, {@code OutboundCircuits} (dialer side), {@code InboundOffers} (listener
 * side, fair share), {@code NameLookups} and {@code CircuitAttacher} (both circuit sides). Below
 * them: {@code RelayDialer} (TLS, then HTTP Upgrade or WebSocket, then the frame codec from
 * {@code dev.burrow.protocol.frame}), {@code ControlHandler} (auth, keepalive, ping),
 * {@code CircuitAttachHandler} and {@code CircuitStartBuffer} (attach and hand-over),
 * {@code Backoff}. Framing and parsing stay in relay-protocol; this package holds connection logic
 * only.
 */
package dev.burrow.agent.relay;
