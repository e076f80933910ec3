package dev.burrow.agent.relay;

import java.net.URI;
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

    @Override
    public String toString() {
        return region == null ? url.toString() : region + "=" + url;
    }
}
