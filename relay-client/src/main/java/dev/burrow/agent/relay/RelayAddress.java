package dev.burrow.agent.relay;

import java.net.URI;
import java.util.Locale;

/**
 * A parsed relay URL: {@code https://host[:port][?mode=upgrade|websocket|auto]} or
 * {@code wss://host[:port]} (WebSocket). The path is ignored: control and circuit paths are fixed
 * by the protocol.
 *
 * @param mode the mode named by the URL, or {@code null} when the URL leaves it to the configuration
 */
public record RelayAddress(URI uri, String host, int port, ConnectMode mode) {
    /** Port used when the URL names none (relays serve HTTPS). */
    public static final int DEFAULT_PORT = 443;

    public static RelayAddress parse(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        ConnectMode mode = switch (scheme) {
            case "https" -> null;
            case "wss" -> ConnectMode.WEBSOCKET;
            default ->
                throw new IllegalArgumentException(
                        "relay URL must be https://host:port or wss://host:port, got " + uri);
        };
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("relay URL has no host: " + uri);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort();
        String query = uri.getQuery();
        if (query != null) {
            for (String part : query.split("&")) {
                if (part.startsWith("mode=")) {
                    mode = ConnectMode.parse(part.substring("mode=".length()));
                }
            }
        }
        return new RelayAddress(uri, host, port, mode);
    }

    /** The host as it goes into a URL or a {@code Host:} header (IPv6 literals in brackets). */
    String hostForUrl() {
        return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    }

    String authority() {
        return port == DEFAULT_PORT ? hostForUrl() : hostForUrl() + ":" + port;
    }

    URI webSocketUri(String path) {
        return URI.create("wss://" + hostForUrl() + ":" + port + path);
    }

    @Override
    public String toString() {
        return "https://" + authority();
    }
}
