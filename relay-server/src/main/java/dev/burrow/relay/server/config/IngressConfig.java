package dev.burrow.relay.server.config;

import java.net.InetAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Public ingress settings of a relay (keys {@code ingress.*}); off by default. When on, a connected
 * agent may ask (PUBLISH) for one of its services to be reachable on a public TCP port of this relay.
 *
 * <p>Ports: {@code portFirst..portLast} is the range ports are taken from (first free one), and
 * {@code staticPorts} pins {@code <nodeId>/<service>} to a port (stable addresses, e.g. for a
 * webhook). With no range ({@code portFirst == -1}) only pinned services may publish. {@code 0..0}
 * lets the operating system pick (tests and development). The relay only ever connects a public port
 * to the one service published on it.
 *
 * @param bindAddress the interface public ports are bound on
 * @param publicHost the host name shown to agents ({@code host:port} in PUBLISHED and {@code burrow status}); null = the bind address
 * @param allowNodes node IDs that may publish; empty = every node the relay admits
 * @param maxServicesPerNode services one node may publish at once
 * @param maxConnectionsPerService public connections at once per published service (an agent may ask for fewer)
 * @param maxConnections public connections at once over all ports: the flood ceiling
 * @param idleTimeout a public connection with no bytes either way for this long is closed (an agent may ask for less)
 * @param connectRatePerIp new public connections per second one source may open (token bucket; IPv4 by
 *     address, IPv6 by /64, the block one subscriber usually holds), over all ports of this relay
 * @param connectBurstPerIp connections one source may open at once before its rate applies
 * @param maxConnectionDuration a public connection is closed this long after it was accepted, however busy
 *     (a client trickling bytes to stay under the idle timeout gives its slot back)
 */
public record IngressConfig(
        boolean enabled,
        InetAddress bindAddress,
        int portFirst,
        int portLast,
        String publicHost,
        Map<String, Integer> staticPorts,
        Set<String> allowNodes,
        int maxServicesPerNode,
        int maxConnectionsPerService,
        int maxConnections,
        Duration idleTimeout,
        double connectRatePerIp,
        int connectBurstPerIp,
        Duration maxConnectionDuration) {

    /** Services one node may publish by default: a few demos or webhooks, not a port farm. */
    public static final int DEFAULT_MAX_SERVICES_PER_NODE = 4;
    /** Public connections per service by default: enough for a demo or a webhook sender's bursts. */
    public static final int DEFAULT_MAX_CONNECTIONS_PER_SERVICE = 256;
    /** Public connections over all ports by default: bounds memory and descriptors under a flood. */
    public static final int DEFAULT_MAX_CONNECTIONS = 4096;
    /** Idle public connections are closed after this by default (slowloris that sends nothing). */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
    /**
     * New public connections per second from one source by default: a browser opens about six per
     * page and a webhook sender a few per event, so ten a second is far above human or webhook use,
     * while one source alone needs half a minute to fill a service's default 256 slots.
     */
    public static final double DEFAULT_CONNECT_RATE_PER_IP = 10;
    /** Connections one source may open at once by default: a page load's parallel fetches, twice. */
    public static final int DEFAULT_CONNECT_BURST_PER_IP = 20;
    /**
     * Longest a public connection lives by default: long enough for any demo, webhook call or
     * download through a public port; short enough that a client sending a byte now and then (under
     * the idle timeout) holds its slot for at most an hour.
     */
    public static final Duration DEFAULT_MAX_CONNECTION_DURATION = Duration.ofHours(1);

    /** Settings without the per-source rate and duration limits given: their defaults apply. */
    public IngressConfig(
            boolean enabled,
            InetAddress bindAddress,
            int portFirst,
            int portLast,
            String publicHost,
            Map<String, Integer> staticPorts,
            Set<String> allowNodes,
            int maxServicesPerNode,
            int maxConnectionsPerService,
            int maxConnections,
            Duration idleTimeout) {
        this(
                enabled,
                bindAddress,
                portFirst,
                portLast,
                publicHost,
                staticPorts,
                allowNodes,
                maxServicesPerNode,
                maxConnectionsPerService,
                maxConnections,
                idleTimeout,
                DEFAULT_CONNECT_RATE_PER_IP,
                DEFAULT_CONNECT_BURST_PER_IP,
                DEFAULT_MAX_CONNECTION_DURATION);
    }

    public IngressConfig {
        Objects.requireNonNull(bindAddress, "ingress.bind-address");
        staticPorts = staticPorts == null ? Map.of() : Map.copyOf(staticPorts);
        allowNodes = allowNodes == null ? Set.of() : Set.copyOf(allowNodes);
        Objects.requireNonNull(idleTimeout, "ingress.idle-timeout");
        if (portFirst != -1
                && (portFirst < 0 || portLast > 65535 || portLast < portFirst || (portFirst == 0) != (portLast == 0))) {
            throw new IllegalArgumentException(
                    "ingress.port-range: expected FIRST-LAST within 1-65535, or 0 (any free port)");
        }
        for (var e : staticPorts.entrySet()) {
            if (e.getValue() < 1 || e.getValue() > 65535) {
                throw new IllegalArgumentException("ingress.static-ports: port of " + e.getKey() + " out of range");
            }
        }
        if (maxServicesPerNode < 1 || maxConnectionsPerService < 1 || maxConnections < 1) {
            throw new IllegalArgumentException("ingress limits must be at least 1");
        }
        if (!(connectRatePerIp > 0) || Double.isInfinite(connectRatePerIp)) {
            throw new IllegalArgumentException("ingress.connect-rate-per-ip must be a positive number");
        }
        if (connectBurstPerIp < 1) {
            throw new IllegalArgumentException("ingress.connect-burst-per-ip must be at least 1");
        }
        Objects.requireNonNull(maxConnectionDuration, "ingress.max-connection-duration");
        if (maxConnectionDuration.isNegative() || maxConnectionDuration.isZero()) {
            throw new IllegalArgumentException("ingress.max-connection-duration must be positive");
        }
    }

    /** Public ingress off: every PUBLISH is refused with NOT_ENABLED. */
    public static IngressConfig disabled() {
        return new IngressConfig(
                false,
                InetAddress.getLoopbackAddress(),
                -1,
                -1,
                null,
                Map.of(),
                Set.of(),
                DEFAULT_MAX_SERVICES_PER_NODE,
                DEFAULT_MAX_CONNECTIONS_PER_SERVICE,
                DEFAULT_MAX_CONNECTIONS,
                DEFAULT_IDLE_TIMEOUT);
    }

    public boolean hasRange() {
        return portFirst != -1;
    }

    public boolean ephemeralPorts() {
        return portFirst == 0;
    }

    /** Parses {@code FIRST-LAST}, a single port, {@code 0} (any free port) or {@code none} (static ports only) into {first, last}. */
    public static int[] parseRange(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("none") || t.equals("off") || t.equals("false")) {
            return new int[] {-1, -1};
        }
        try {
            int dash = t.indexOf('-');
            if (dash < 0) {
                int p = Integer.parseInt(t);
                return new int[] {p, p};
            }
            return new int[] {
                Integer.parseInt(t.substring(0, dash).strip()),
                Integer.parseInt(t.substring(dash + 1).strip())
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "ingress.port-range: expected FIRST-LAST (e.g. 20000-20099), 0 or none, got '" + text + "'");
        }
    }

    /** Parses {@code <nodeId>/<service>=<port>} entries of {@code ingress.static-ports}. */
    public static Map<String, Integer> parseStaticPorts(List<String> entries) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String e : entries) {
            int eq = e.lastIndexOf('=');
            int slash = e.indexOf('/');
            if (eq < 0 || slash < 0 || slash > eq) {
                throw new IllegalArgumentException(
                        "ingress.static-ports: expected <node-id>/<service>=<port>, got '" + e + "'");
            }
            String key = e.substring(0, eq).strip();
            int port;
            try {
                port = Integer.parseInt(e.substring(eq + 1).strip());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("ingress.static-ports: bad port in '" + e + "'");
            }
            if (out.containsValue(port)) {
                throw new IllegalArgumentException("ingress.static-ports: port " + port + " is pinned twice");
            }
            out.put(key, port);
        }
        return out;
    }
}
