package dev.burrow.agent.relay;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** Measures the round trip to a relay; fails when the relay cannot be reached (or not trusted). */
@FunctionalInterface
public interface RelayProber {
    CompletableFuture<Duration> probe(URI relay);
}
