package dev.burrow.stun.server;

/**
 * Short-term credentials (RFC 8489 §9.1) for a server that authenticates Binding requests: maps a
 * USERNAME to its key (the password's UTF-8 bytes). Implementations must not log the key.
 */
@FunctionalInterface
public interface ShortTermCredentials {
    /** The key for {@code username}, or {@code null} when the user is unknown. */
    byte[] keyFor(String username);
}
