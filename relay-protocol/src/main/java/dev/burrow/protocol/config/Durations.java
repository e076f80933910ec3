package dev.burrow.protocol.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration grammar of Burrow: relay and agent configuration files, environment variables and
 * every command-line option that takes a time.
 *
 * <pre>
 *   duration = digits unit          e.g. 500ms 3s 5m 1h 2d
 *   digits   = 1 to 9 decimal digits
 *   unit     = ms | s | m | h | d   (case-insensitive)
 * </pre>
 *
 * Surrounding white space is ignored. ISO-8601 durations ({@code PT1H}, {@code P7D}) are also accepted,
 * because {@code burrow token create --ttl} took them before the grammar was unified. Where a setting
 * can be switched off, {@link #parseOrOff} also accepts {@code off} and {@code 0}, both meaning
 * {@link Duration#ZERO}. Nothing else is a duration: a bare number has no unit and is refused, so
 * that {@code 30} is never silently seconds in one place and minutes in another.
 */
public final class Durations {
    /** Longest number accepted (9 digits: even days stay far inside {@link Duration}'s range). */
    private static final Pattern SIMPLE = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");
    /** Longest text looked at: a duration is short, and the error message quotes the input. */
    private static final int MAX_TEXT = 64;
    /** What every error message offers as examples. */
    public static final String EXAMPLES = "500ms, 3s, 5m, 1h or 2d";

    private Durations() {}

    /**
     * Parses {@code 500ms}, {@code 3s}, {@code 5m}, {@code 1h}, {@code 2d} (or ISO-8601).
     *
     * @throws IllegalArgumentException "expected a duration like 500ms, 3s, 5m, 1h or 2d, got '...'"
     */
    public static Duration parse(String text) {
        String t = text == null ? "" : text.strip();
        if (t.length() <= MAX_TEXT) {
            Matcher m = SIMPLE.matcher(t.toLowerCase(Locale.ROOT));
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            }
            if (t.length() > 1 && (t.charAt(0) == 'P' || t.charAt(0) == 'p')) {
                try {
                    Duration d = Duration.parse(t.toUpperCase(Locale.ROOT));
                    if (!d.isNegative()) {
                        return d;
                    }
                } catch (RuntimeException notIso) {
                    // falls through to the one error message
                }
            }
        }
        throw new IllegalArgumentException("expected a duration like " + EXAMPLES + ", got '"
                + (t.length() > MAX_TEXT ? t.substring(0, MAX_TEXT) + "..." : t) + "'");
    }

    /**
     * As {@link #parse}, and {@code off} or {@code 0} for {@link Duration#ZERO} (a setting switched off).
     *
     * @throws IllegalArgumentException "expected a duration like 500ms, 3s, 5m, 1h or 2d, or off, got '...'"
     */
    public static Duration parseOrOff(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("off") || t.equals("0")) {
            return Duration.ZERO;
        }
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replace(EXAMPLES + ",", EXAMPLES + ", or off,"));
        }
    }

    /** The shortest text of the grammar for {@code d} ({@code 1500ms}, {@code 90s}, {@code 2d}); parse gives it back. */
    public static String format(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("negative duration " + d);
        }
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1000L};
        String[] units = {"d", "h", "m", "s"};
        for (int i = 0; i < sizes.length; i++) {
            if (ms % sizes[i] == 0) {
                return (ms / sizes[i]) + units[i];
            }
        }
        return ms + "ms";
    }
}
