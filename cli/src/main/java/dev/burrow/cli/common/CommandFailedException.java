package dev.burrow.cli.common;

/** A failure whose message is already the one line for the user (exit 1); see {@link UserErrors}. */
public class CommandFailedException extends RuntimeException {
    public CommandFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
