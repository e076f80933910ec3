/**
 * The public listener's pipeline, in order: {@link dev.burrow.relay.server.net.ConnectionGate}
 * (per-source rate and handshakes, relay-wide handshakes in flight; before TLS), {@link dev.burrow.relay.server.net.HandshakeDeadline},
 * TLS, HTTP/1.1, {@link dev.burrow.relay.server.net.HttpRouter} (Upgrade, WebSocket, enrolment, 404),
 * then {@code RelayFrameDecoder}/encoder (or {@link dev.burrow.relay.server.net.WebSocketFrameAdapter})
 * and {@link dev.burrow.relay.server.net.ControlHandshakeHandler} →
 * {@link dev.burrow.relay.server.net.ControlConnectionHandler}, or the circuit attach handler.
 */
package dev.burrow.relay.server.net;
