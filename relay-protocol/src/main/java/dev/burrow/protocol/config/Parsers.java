package dev.burrow.protocol.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.protocol.config.ConfigKey.Parser;
import dev.burrow.protocol.config.ConfigKey.YamlType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The value grammars shared by the relay's and the agent's settings. Each throws
 * {@link IllegalArgumentException} saying what it expected and what it got; the {@link ConfigReader}
 * adds the key and where the value came from.
 */
public final class Parsers {
    private Parsers() {}

    /** Any text (already stripped, never empty). */
    public static Parser<String> text() {
        return s -> s;
    }

    /** A file system path. */
    public static Parser<Path> path() {
        return Path::of;
    }

    /** true, yes, on, 1 or false, no, off, 0 (case-insensitive). */
    public static Parser<Boolean> bool() {
        return new Parser<>() {
            @Override
            public Boolean parse(String s) {
                return switch (s.toLowerCase(Locale.ROOT)) {
                    case "true", "yes", "on", "1" -> true;
                    case "false", "no", "off", "0" -> false;
                    default -> throw new IllegalArgumentException("expected true or false, got '" + s + "'");
                };
            }

            @Override
            public YamlType yamlType() {
                return YamlType.BOOLEAN;
            }
        };
    }

    /** A whole number of at least {@code min} ({@code _} may group digits: 1_000_000). */
    public static Parser<Long> longAtLeast(long min) {
        return s -> {
            long n;
            try {
                n = Long.parseLong(s.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected a whole number, got '" + s + "'");
            }
            if (n < min) {
                throw new IllegalArgumentException("must be at least " + min + ", got " + n);
            }
            return n;
        };
    }

    /** As {@link #longAtLeast}, and at most {@link Integer#MAX_VALUE}. */
    public static Parser<Integer> intAtLeast(int min) {
        Parser<Long> whole = longAtLeast(min);
        return s -> {
            long n = whole.parse(s);
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("too large: at most " + Integer.MAX_VALUE + ", got " + n);
            }
            return (int) n;
        };
    }

    /** A whole number from {@code min} to {@code max}; where YAML types are checked, an unquoted one. */
    public static Parser<Integer> intBetween(int min, int max) {
        return new Parser<>() {
            @Override
            public Integer parse(String s) {
                try {
                    long n = Long.parseLong(s.replace("_", ""));
                    if (n >= min && n <= max) {
                        return (int) n;
                    }
                } catch (NumberFormatException e) {
                    // the one message below
                }
                throw new IllegalArgumentException(
                        "expected a whole number from " + min + " to " + max + ", got '" + s + "'");
            }

            @Override
            public YamlType yamlType() {
                return YamlType.WHOLE_NUMBER;
            }
        };
    }

    /** A finite number greater than zero (2.5). */
    public static Parser<Double> positiveNumber() {
        return s -> {
            try {
                double d = Double.parseDouble(s);
                if (d > 0 && !Double.isInfinite(d)) {
                    return d;
                }
            } catch (NumberFormatException e) {
                // the one message below
            }
            throw new IllegalArgumentException("expected a positive number, got '" + s + "'");
        };
    }

    /** A duration in the one grammar ({@link Durations}: 500ms, 3s, 5m, 1h, 2d), more than zero. */
    public static Parser<Duration> duration() {
        return s -> {
            Duration d = Durations.parse(s);
            if (d.isZero()) {
                throw new IllegalArgumentException("must be more than zero");
            }
            return d;
        };
    }

    /** A duration, or {@code off} / {@code 0} for {@link Duration#ZERO} (switched off). */
    public static Parser<Duration> durationOrOff() {
        return Durations::parseOrOff;
    }

    /** One of an enum's constants, written in lower case with {@code -} for {@code _} (allow-list). */
    public static <E extends Enum<E>> Parser<E> oneOf(Class<E> type) {
        return s -> {
            String norm = s.toUpperCase(Locale.ROOT).replace('-', '_');
            for (E e : type.getEnumConstants()) {
                if (e.name().equals(norm)) {
                    return e;
                }
            }
            throw new IllegalArgumentException("'" + s + "' is not one of "
                    + Arrays.stream(type.getEnumConstants())
                            .map(e -> e.name().toLowerCase(Locale.ROOT).replace('_', '-'))
                            .toList());
        };
    }

    /** A list of plain text values. */
    public static ListParser<String> strings() {
        return new ListParser<>(text());
    }

    /** A list whose items each have the grammar of {@code item}. */
    public static <E> ListParser<E> list(Parser<E> item) {
        return new ListParser<>(item);
    }

    /** A YAML subtree its owner reads itself ({@link ConfigReader#get} gives it back as is). */
    public static Parser<JsonNode> yamlNode() {
        return new Parser<>() {
            @Override
            public JsonNode parse(String s) {
                throw new IllegalArgumentException("can only be given in a YAML file");
            }

            @Override
            public YamlType yamlType() {
                return YamlType.NODE;
            }
        };
    }

    /**
     * A list: a YAML list, one plain value, or (in flags and the environment) comma-separated values.
     * Items are stripped; blank ones between commas are dropped.
     */
    public record ListParser<E>(Parser<E> item) implements Parser<List<E>> {
        @Override
        public List<E> parse(String text) {
            return parseItems(split(text));
        }

        /** Each item read by {@code item}. */
        public List<E> parseItems(List<String> items) {
            List<E> out = new ArrayList<>(items.size());
            for (String s : items) {
                out.add(item.parse(s));
            }
            return List.copyOf(out);
        }

        @Override
        public YamlType yamlType() {
            return YamlType.LIST;
        }

        /** Comma-separated values, stripped, blanks dropped. */
        public static List<String> split(String text) {
            List<String> out = new ArrayList<>();
            for (String s : text.split(",")) {
                if (!s.isBlank()) {
                    out.add(s.strip());
                }
            }
            return out;
        }
    }
}
