package dev.burrow.agent.policy;

import dev.burrow.protocol.HostPort;

/**
 * A configured local target: host (an IP literal or a name) and port. Parsed from {@code host:port},
 * {@code [v6]:port} or a bare port (meaning {@code 127.0.0.1:port}). Ports outside 1-65535 are
 * rejected here, at parse time (attack: malformed open requests).
 */
public record TargetSpec(String host, int port) {
    public static final int MIN_PORT = 1;
    public static final int MAX_PORT = 65535;

    public TargetSpec {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("target host is empty");
        }
        checkPort(port);
    }

    /** @throws IllegalArgumentException when not in 1-65535 */
    public static int checkPort(long port) {
        if (port < MIN_PORT || port > MAX_PORT) {
            throw new IllegalArgumentException("port " + port + " is outside " + MIN_PORT + "-" + MAX_PORT);
        }
        return (int) port;
    }

    /** Parses a port number strictly (digits only, 1-65535). */
    public static int parsePort(String text) {
        String t = text == null ? "" : text;
        if (t.isEmpty() || t.length() > 6 || !t.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("'" + text + "' is not a port number (1-65535)");
        }
        return checkPort(Long.parseLong(t));
    }

    public static TargetSpec parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("target is empty: use host:port");
        }
        String t = text.strip();
        if (t.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return new TargetSpec("127.0.0.1", parsePort(t));
        }
        HostPort hp = HostPort.parse(t, HostPort.PORT_REQUIRED);
        return new TargetSpec(hp.host(), checkPort(hp.port()));
    }

    @Override
    public String toString() {
        return new HostPort(host, port).toString();
    }
}
