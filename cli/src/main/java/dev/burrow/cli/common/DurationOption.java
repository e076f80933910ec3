package dev.burrow.cli.common;

import dev.burrow.protocol.config.Durations;
import java.time.Duration;

/** A command-line option in the one duration grammar ({@link Durations}: 500ms, 3s, 5m, 1h, 2d). */
public final class DurationOption {
    private DurationOption() {}

    /** @throws UsageException naming the option, e.g. "--timeout: expected a duration like 500ms, ..., got '3'" */
    public static Duration parse(String option, String text) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(option + ": " + e.getMessage());
        }
    }
}
