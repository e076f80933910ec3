/**
 * Per-source limits, shared by every listener in Burrow that limits by source address: the STUN
 * server (requests per second), the relay's listener (connections per second and handshakes in
 * flight) and the relay's public ingress (connections per second). They all count by
 * {@link dev.burrow.stun.limit.SourceKey} (IPv4 address, IPv6 /64), so a source cannot get more from
 * one listener than another by rotating through its /64.
 *
 * <p>It lives in {@code stun/} because that is the one module every user can depend on: {@code stun/}
 * depends on nothing of ours, and both {@code relay-server} and {@code relay-client} depend on it
 * (putting it in {@code relay-protocol} would make the STUN server depend on the relay's wire formats).
 * It uses only the JDK and Caffeine.
 */
package dev.burrow.stun.limit;
