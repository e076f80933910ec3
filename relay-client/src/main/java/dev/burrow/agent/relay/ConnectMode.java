package dev.burrow.agent.relay;

import java.util.Locale;

/** How the client reaches the relay's control and circuit endpoints over TLS. */
public enum ConnectMode {
    /** HTTP/1.1 {@code Upgrade: burrow-relay-v1}; after {@code 101} the socket carries raw frames. Cheapest. */
    UPGRADE,
    /** WebSocket (subprotocol {@code burrow-relay-v1}); each binary message carries frame bytes. Crosses most proxies. */
    WEBSOCKET,
    /** Try {@link #UPGRADE}; when an HTTP intermediary answers with anything but {@code 101}, use {@link #WEBSOCKET}. */
    AUTO;

    /** Parses {@code upgrade}, {@code websocket}/{@code ws} or {@code auto}. */
    public static ConnectMode parse(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "upgrade" -> UPGRADE;
            case "websocket", "ws" -> WEBSOCKET;
            case "auto" -> AUTO;
            default ->
                throw new IllegalArgumentException(
                        "unknown relay mode '" + text + "': expected upgrade, websocket or auto");
        };
    }
}
