package dev.burrow.protocol;

import java.util.Objects;

/**
 * A host and a port as people write them: {@code host:port}, {@code [ipv6]:port}, and, where a default
 * port applies, {@code host}, {@code [ipv6]} or a bare IPv6 literal. The one parser of these forms
 * (relay configuration, mesh peers, agent targets, whois), so they agree on brackets, the port range
 * and the error messages. Nothing is resolved: the host stays a string (IPv6 without brackets).
 *
 * @param host the host name or literal, without brackets; may be empty for {@code :port}
 * @param port 0..65535
 */
public record HostPort(String host, int port) {
    /** {@link #parse}'s {@code defaultPort} when a port must be written. */
    public static final int PORT_REQUIRED = -1;

    public HostPort {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range 0-65535: " + port);
        }
    }

    /**
     * Parses {@code text} (surrounding blanks ignored).
     *
     * @param defaultPort the port when none is written, or {@link #PORT_REQUIRED}. Only with a default
     *     is a bare IPv6 literal ({@code fd00::1}) read as a host: without one, {@code ::1:80} could be
     *     either, so IPv6 must be written in brackets.
     * @throws IllegalArgumentException naming the text and the accepted forms
     */
    public static HostPort parse(String text, int defaultPort) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty address: use host:port or [ipv6]:port");
        }
        String t = text.strip();
        String host;
        String port;
        if (t.startsWith("[")) {
            int end = t.indexOf(']');
            if (end < 0) {
                throw new IllegalArgumentException("'" + t + "': missing ']' (use [ipv6]:port)");
            }
            host = t.substring(1, end);
            String rest = t.substring(end + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) {
                throw new IllegalArgumentException("'" + t + "' is not [ipv6]:port");
            }
            port = rest.isEmpty() ? null : rest.substring(1);
        } else {
            int colon = t.lastIndexOf(':');
            if (colon >= 0 && t.indexOf(':') != colon) {
                if (defaultPort < 0) {
                    throw new IllegalArgumentException("'" + t + "': write IPv6 addresses in brackets, e.g. [::1]:443");
                }
                return new HostPort(t, defaultPort); // a bare IPv6 literal
            }
            host = colon < 0 ? t : t.substring(0, colon);
            port = colon < 0 ? null : t.substring(colon + 1);
        }
        if (port == null) {
            if (defaultPort < 0) {
                throw new IllegalArgumentException("'" + t + "' has no port: use host:port or [ipv6]:port");
            }
            return new HostPort(host, defaultPort);
        }
        return new HostPort(host, parsePort(port, t));
    }

    /**
     * As {@link #parse}, but an IPv6 literal must be written in brackets even when a default port
     * applies: for command-line options, where {@code ::1:3478} could be a host or a host and a port.
     */
    public static HostPort parseBracketed(String text, int defaultPort) {
        String t = text == null ? "" : text.strip();
        boolean bareIpv6 = !t.startsWith("[") && t.indexOf(':') != t.lastIndexOf(':');
        return parse(text, bareIpv6 ? PORT_REQUIRED : defaultPort);
    }

    /** A port number 0..65535, digits only; {@code whole} names the text it came from in the error. */
    public static int parsePort(String port, String whole) {
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("'" + whole + "': port '" + port + "' is not a number (0-65535)");
        }
        int p = Integer.parseInt(port);
        if (p > 65535) {
            throw new IllegalArgumentException("'" + whole + "': port out of range 0-65535: " + p);
        }
        return p;
    }

    /** {@code host:port}, with an IPv6 literal in brackets. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
