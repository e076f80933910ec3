/**
 * The Burrow relay. Public API: {@link dev.burrow.relay.server.RelayServer} (start, addresses, drain,
 * close), {@link dev.burrow.relay.server.config.RelayConfig} (built by
 * {@link dev.burrow.relay.server.config.RelayConfigLoader}) and {@link dev.burrow.relay.server.config.RelayDefaults}
 * (every limit and timeout with its reason).
 *
 * <p>Layers: {@code net} (listener pipeline: connection gate, handshake deadline, TLS, HTTP routing,
 * WebSocket adapter, control handshake and connection handlers), {@code auth} (key proof, chain,
 * admission), {@code forward} (registry, per-client bounded queues, notices), {@code circuit}
 * (request/offer/attach and the byte proxy), {@code metrics} (recorder interface and Micrometer),
 * {@code admin} (health, readiness, Prometheus), {@code config} (YAML, environment, flags).
 */
package dev.burrow.relay.server;
