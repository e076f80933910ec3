/**
 * Relay circuits: a dialer's CIRCUIT_REQUEST becomes a CIRCUIT_OFFER to the listener with a
 * single-use token; the listener's CIRCUIT_ACCEPT gives the dialer its token; both ends attach on
 * circuit connections and {@link dev.burrow.relay.server.circuit.CircuitProxy} copies bytes between
 * them with backpressure and half-close. The relay never sees plaintext: the ends run TLS inside.
 */
package dev.burrow.relay.server.circuit;
