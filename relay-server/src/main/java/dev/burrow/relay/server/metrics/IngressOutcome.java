package dev.burrow.relay.server.metrics;

import java.util.Locale;

/** What became of one public-ingress connection, or of one PUBLISH request: a fixed set of tag values. */
public enum IngressOutcome {
    /** A public connection was joined to the listener's circuit. */
    ACCEPTED,
    /** The client's address is in none of the service's source prefixes (checked first, on accept). */
    SOURCE_NOT_ALLOWED,
    /** The service's connection cap was reached. */
    SERVICE_LIMIT_REACHED,
    /** The relay-wide public connection cap was reached (flood). */
    RELAY_LIMIT_REACHED,
    /** The source opened new public connections faster than {@code ingress.connect-rate-per-ip} (checked after the prefixes). */
    RATE_LIMITED,
    /** A public connection reached {@code ingress.max-connection-duration} and was closed. */
    MAX_DURATION,
    /** The relay drains: no new public connections. */
    DRAINING,
    /** The listener is gone, or its control queue was full. */
    LISTENER_GONE,
    /** The listener refused the ingress circuit (CIRCUIT_REJECT). */
    LISTENER_REFUSED,
    /** The listener did not attach within the circuit token TTL (the client waited, unread). */
    TIMEOUT,
    /** An attach to an ingress circuit with a wrong token. */
    TOKEN_REFUSED,
    /** An attach to an ingress circuit without relay TLS (its bytes are the client's plaintext). */
    PLAIN_ATTACH_REFUSED,
    /** A joined public connection was closed after the idle timeout (slowloris, abandoned clients). */
    IDLE_CLOSED,
    /** A PUBLISH was granted. */
    PUBLISHED,
    /** A PUBLISH was refused (the reason is in the agent's PUBLISH_REFUSED and the relay's log). */
    PUBLISH_REFUSED,
    /** A published port closed (unpublished, or its agent disconnected). */
    UNPUBLISHED;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
