package dev.burrow.protocol.config;

/**
 * A setting cannot be used. The message names the key (and, where there is one, where its value
 * came from: a file, an environment variable, a flag), the problem, and what would be accepted.
 */
public class ConfigException extends IllegalArgumentException {
    public ConfigException(String message) {
        super(message);
    }
}
