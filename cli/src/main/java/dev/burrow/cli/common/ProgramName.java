package dev.burrow.cli.common;

/**
 * How the user started Burrow, for the commands Burrow prints for them to run next: {@code ./burrow}
 * when started through the repository's script (which passes {@code -Dburrow.command=$0}), else
 * {@code burrow}, the installed name. So that a printed command works when pasted as it is.
 */
public final class ProgramName {
    /** The system property the {@code burrow} script sets to the path it was started by. */
    public static final String PROPERTY = "burrow.command";

    private ProgramName() {}

    /** The command that starts Burrow, e.g. {@code ./burrow} or {@code burrow}. */
    public static String command() {
        String c = System.getProperty(PROPERTY);
        return c == null || c.isBlank() || c.chars().anyMatch(Character::isWhitespace) ? "burrow" : c;
    }
}
