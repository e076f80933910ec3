package dev.burrow.agent.relay;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;

/**
 * One relay an agent may use as its home: its URL and, when the configuration groups relays by
 * region, the region's name (a label for status; {@code null} when the relays are a plain list).
 */
public record RelayCandidate(URI url, String region) {
    public RelayCandidate {
        Objects.requireNonNull(url, "url");
        RelayAddress.parse(url); // fails with a clear message on a bad URL
    }

    public RelayCandidate(URI url) {
        this(url, null);
    }

    /** Longest URL text quoted back in an error message. */
    private static final int MAX_QUOTED = 200;

    /**
     * Parses a relay URL as a person typed it. {@code relay.example:8443} (no scheme) is the common
     * mistake: the error says to write {@code https://relay.example:8443}.
     */
    public static URI parseUrl(String text) {
        String t = text == null ? "" : text.strip();
        String quoted = t.length() > MAX_QUOTED ? t.substring(0, MAX_QUOTED) + "..." : t;
        if (!t.contains("://")) {
            throw new IllegalArgumentException(
                    "'" + quoted + "' is not a relay URL: write https://" + quoted + " (or wss:// for WebSocket)");
        }
        try {
            return new URI(t);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    "'" + quoted + "' is not a URL: " + e.getReason() + " (at character " + (e.getIndex() + 1) + ")");
        }
    }

    @Override
    public String toString() {
        return region == null ? url.toString() : region + "=" + url;
    }
}
