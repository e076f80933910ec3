package dev.burrow.cli.identity;

import dev.burrow.cli.UsageException;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses {@code 90s}, {@code 30m}, {@code 1h}, {@code 7d} (and ISO-8601 like {@code PT1H}). */
final class CliDurations {
    private static final Pattern SIMPLE = Pattern.compile("(\\d{1,9})([smhd])");

    private CliDurations() {}

    static Duration parse(String option, String text) {
        String t = text == null ? "" : text.strip().toLowerCase(java.util.Locale.ROOT);
        Matcher m = SIMPLE.matcher(t);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        }
        try {
            return Duration.parse(text.strip().toUpperCase(java.util.Locale.ROOT));
        } catch (RuntimeException e) {
            throw new UsageException(option + ": expected a duration like 90s, 30m, 1h or 7d, got '" + text + "'");
        }
    }
}
