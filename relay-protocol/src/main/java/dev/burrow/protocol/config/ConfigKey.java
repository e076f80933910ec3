package dev.burrow.protocol.config;

import java.util.Locale;

/**
 * One configuration setting, declared once: where it sits in YAML ({@code path}, dotted for nested
 * mappings: {@code auth.allow-file}), its environment variable ({@code env}, or null when it has
 * none), its default (null: none), how its text is read and checked ({@code parser}), and a line of
 * documentation. A {@link ConfigReader} resolves a key's value from a flag, the environment, a YAML
 * document and finally the default, and reports a bad value with the key and where it came from.
 *
 * <pre>
 * static final ConfigKey&lt;Integer&gt; MAX_CLIENTS =
 *         ConfigKey.of("limits.max-clients", 100_000, Parsers.intAtLeast(1), "clients at once");
 * ...
 * int max = reader.get(MAX_CLIENTS);
 * </pre>
 */
public record ConfigKey<T>(String path, String env, T defaultValue, Parser<T> parser, String doc) {
    /**
     * Reads one value from its text. Throws {@link IllegalArgumentException} whose message says what
     * is wrong and what would be accepted ("expected a whole number, got 'x'"); the reader adds the key.
     */
    @FunctionalInterface
    public interface Parser<T> {
        T parse(String text);

        /** What a YAML value must be where a reader checks YAML types ({@link ConfigReader#typedYaml}). */
        default YamlType yamlType() {
            return YamlType.SCALAR;
        }
    }

    /** The shape of a YAML value a key takes. */
    public enum YamlType {
        /** Any plain value: text, number or boolean, read as text. */
        SCALAR,
        /** true or false. */
        BOOLEAN,
        /** A whole number. */
        WHOLE_NUMBER,
        /** A list of plain values (or one value; in flags and the environment: comma-separated). */
        LIST,
        /** A YAML subtree read by its owner ({@link ConfigReader#node}): a mapping of names, a list of entries. */
        NODE
    }

    public ConfigKey {
        if (path == null || path.isBlank() || parser == null) {
            throw new IllegalArgumentException("a configuration key needs a path and a parser");
        }
    }

    /** A key with the environment variable {@link #envName}{@code (path)}. */
    public static <T> ConfigKey<T> of(String path, T defaultValue, Parser<T> parser, String doc) {
        return new ConfigKey<>(path, envName(path), defaultValue, parser, doc);
    }

    /** A key that is read from YAML only (entries of a list, such as one exposed service). */
    public static <T> ConfigKey<T> yamlOnly(String path, T defaultValue, Parser<T> parser, String doc) {
        return new ConfigKey<>(path, null, defaultValue, parser, doc);
    }

    /**
     * The environment variable for a key: {@code BURROW_} + the key in upper case with {@code .} and
     * {@code -} as {@code _} ({@code auth.allow-file} is {@code BURROW_AUTH_ALLOW_FILE}).
     */
    public static String envName(String path) {
        return "BURROW_" + path.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** The same key with another default (one that depends on a mode, such as development). */
    public ConfigKey<T> withDefault(T value) {
        return new ConfigKey<>(path, env, value, parser, doc);
    }

    /** True for a key that takes a list. */
    public boolean isList() {
        return parser.yamlType() == YamlType.LIST;
    }
}
