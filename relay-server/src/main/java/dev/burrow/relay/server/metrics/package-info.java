/**
 * What the relay measures: {@link dev.burrow.relay.server.metrics.RelayMetrics} (meter names as
 * constants, a no-op) and its Micrometer implementation. Tags come from fixed sets only, never a
 * node ID or an address.
 */
package dev.burrow.relay.server.metrics;
