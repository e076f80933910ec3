package dev.burrow.cli;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Checks the two logging variables that {@code logback.xml} reads, before anything logs. Logback
 * itself would quietly fall back (an unknown appender name logs nothing at all, an unknown level
 * becomes DEBUG), so a typo in a pod spec would silence a relay: here it stops the start instead.
 */
final class LogSettings {
    static final String FORMAT_VARIABLE = "BURROW_LOG_FORMAT";
    static final String LEVEL_VARIABLE = "BURROW_LOG_LEVEL";
    /** The appender names in logback.xml. */
    static final List<String> FORMATS = List.of("text", "json");
    /** Logback's level names. */
    static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

    private LogSettings() {}

    /** The problem with the environment's logging settings, as one line for the user; empty when they are fine. */
    static Optional<String> problem(Map<String, String> env) {
        String format = env.get(FORMAT_VARIABLE);
        if (format != null && !FORMATS.contains(format)) {
            return Optional.of(
                    FORMAT_VARIABLE + "=" + format + " is not a log format: use " + String.join(" or ", FORMATS));
        }
        String level = env.get(LEVEL_VARIABLE);
        if (level != null && !LEVELS.contains(level.toUpperCase(Locale.ROOT))) {
            return Optional.of(
                    LEVEL_VARIABLE + "=" + level + " is not a log level: use one of " + String.join(", ", LEVELS));
        }
        return Optional.empty();
    }
}
