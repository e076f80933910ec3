package dev.burrow.cli.common;

import java.util.Locale;

/** The one value set of every command's {@code -o}: {@code text} (for people) or {@code json} (for scripts). */
public enum OutputFormat {
    TEXT,
    JSON;

    /**
     * Parses {@code text} or {@code json} ({@code table}, the old name of {@code status}'s text output,
     * is still accepted).
     *
     * @throws UsageException naming the accepted values
     */
    public static OutputFormat parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        return switch (t) {
            case "text", "table" -> TEXT;
            case "json" -> JSON;
            default -> throw new UsageException("-o: expected text or json, got '" + text + "'");
        };
    }
}
