package dev.burrow.cli.common;

/** A command was given values it cannot use: exit code 2 and a one-line message. */
public class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
