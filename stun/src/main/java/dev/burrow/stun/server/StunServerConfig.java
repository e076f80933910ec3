package dev.burrow.stun.server;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * What an embedded or standalone STUN server serves. Everything that makes responses larger or
 * the server stateful is off by default.
 *
 * @param udp                where to answer over UDP, or null for no UDP
 * @param tcp                where to answer over TCP, or null for no TCP
 * @param rfc5780Alternate   RFC 5780 mode: the alternate IP and port (both must differ from the
 *                           primary UDP address, which must be a concrete IP). Null (the default)
 *                           turns CHANGE-REQUEST handling off: it raises amplification risk
 * @param software           SOFTWARE value to add to responses, or null (default) for none
 * @param fingerprint        add FINGERPRINT to responses (default false: minimal responses)
 * @param requireFingerprint drop requests without FINGERPRINT (default false)
 * @param rateLimit          per-source-IP limit, or null (default) for none
 * @param credentials        authenticate requests with short-term credentials, or null (default)
 * @param maxTcpConnections  concurrent TCP connections; more are closed at once
 * @param tcpIdleTimeout     a TCP connection silent this long is closed
 */
public record StunServerConfig(
        InetSocketAddress udp,
        InetSocketAddress tcp,
        InetSocketAddress rfc5780Alternate,
        String software,
        boolean fingerprint,
        boolean requireFingerprint,
        RateLimit rateLimit,
        ShortTermCredentials credentials,
        int maxTcpConnections,
        Duration tcpIdleTimeout) {

    /** The IANA STUN port. */
    public static final int DEFAULT_PORT = 3478;
    /** Default TCP connection limit: each costs a file descriptor and a few KB of buffers. */
    public static final int DEFAULT_MAX_TCP_CONNECTIONS = 1024;
    /** Default TCP idle timeout: a Binding transaction takes milliseconds; idle sockets are slowloris. */
    public static final Duration DEFAULT_TCP_IDLE_TIMEOUT = Duration.ofSeconds(30);

    public StunServerConfig {
        if (udp == null && tcp == null) {
            throw new IllegalArgumentException("a STUN server needs a UDP or a TCP address");
        }
        if (maxTcpConnections <= 0) {
            throw new IllegalArgumentException("maxTcpConnections must be positive");
        }
        if (tcpIdleTimeout == null || tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()) {
            throw new IllegalArgumentException("tcpIdleTimeout must be positive");
        }
        if (rfc5780Alternate != null) {
            if (udp == null) {
                throw new IllegalArgumentException("RFC 5780 mode needs a UDP address");
            }
            if (udp.getAddress() == null
                    || udp.getAddress().isAnyLocalAddress()
                    || rfc5780Alternate.getAddress() == null
                    || rfc5780Alternate.getAddress().isAnyLocalAddress()) {
                throw new IllegalArgumentException(
                        "RFC 5780 mode needs concrete primary and alternate IPs (not a wildcard)");
            }
            if (udp.getAddress().equals(rfc5780Alternate.getAddress())) {
                throw new IllegalArgumentException("RFC 5780 alternate IP must differ from the primary IP");
            }
            if (udp.getPort() != 0 && udp.getPort() == rfc5780Alternate.getPort()) {
                throw new IllegalArgumentException("RFC 5780 alternate port must differ from the primary port");
            }
        }
    }

    /** UDP on {@code address}, nothing else. */
    public static StunServerConfig udp(InetSocketAddress address) {
        return new StunServerConfig(
                address,
                null,
                null,
                null,
                false,
                false,
                null,
                null,
                DEFAULT_MAX_TCP_CONNECTIONS,
                DEFAULT_TCP_IDLE_TIMEOUT);
    }

    /** UDP on all addresses, port 3478. */
    public static StunServerConfig defaults() {
        return udp(new InetSocketAddress(DEFAULT_PORT));
    }

    public StunServerConfig withUdp(InetSocketAddress a) {
        return new StunServerConfig(
                a,
                tcp,
                rfc5780Alternate,
                software,
                fingerprint,
                requireFingerprint,
                rateLimit,
                credentials,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withTcp(InetSocketAddress a) {
        return new StunServerConfig(
                udp,
                a,
                rfc5780Alternate,
                software,
                fingerprint,
                requireFingerprint,
                rateLimit,
                credentials,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withRfc5780Alternate(InetSocketAddress a) {
        return new StunServerConfig(
                udp,
                tcp,
                a,
                software,
                fingerprint,
                requireFingerprint,
                rateLimit,
                credentials,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withSoftware(String s) {
        return new StunServerConfig(
                udp,
                tcp,
                rfc5780Alternate,
                s,
                fingerprint,
                requireFingerprint,
                rateLimit,
                credentials,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withFingerprint(boolean f) {
        return new StunServerConfig(
                udp,
                tcp,
                rfc5780Alternate,
                software,
                f,
                requireFingerprint,
                rateLimit,
                credentials,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withRequireFingerprint(boolean f) {
        return new StunServerConfig(
                udp,
                tcp,
                rfc5780Alternate,
                software,
                fingerprint,
                f,
                rateLimit,
                credentials,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withRateLimit(RateLimit r) {
        return new StunServerConfig(
                udp,
                tcp,
                rfc5780Alternate,
                software,
                fingerprint,
                requireFingerprint,
                r,
                credentials,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withCredentials(ShortTermCredentials c) {
        return new StunServerConfig(
                udp,
                tcp,
                rfc5780Alternate,
                software,
                fingerprint,
                requireFingerprint,
                rateLimit,
                c,
                maxTcpConnections,
                tcpIdleTimeout);
    }

    public StunServerConfig withTcpLimits(int maxConnections, Duration idleTimeout) {
        return new StunServerConfig(
                udp,
                tcp,
                rfc5780Alternate,
                software,
                fingerprint,
                requireFingerprint,
                rateLimit,
                credentials,
                maxConnections,
                idleTimeout);
    }

    public boolean rfc5780() {
        return rfc5780Alternate != null;
    }
}
