package dev.burrow.protocol.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.burrow.protocol.config.ConfigKey.YamlType;
import dev.burrow.protocol.config.Parsers.ListParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Resolves the values of declared {@link ConfigKey}s: a value set by {@link #set} (command-line
 * flags) beats the environment ({@link #env}) beats a YAML document ({@link #yaml}) beats the key's
 * default. Every error is a {@link ConfigException} naming the key and where its value came from:
 * {@code limits.max-clients (env BURROW_LIMITS_MAX_CLIENTS): must be at least 1, got 0}. A key in the
 * YAML that is not declared is an error that lists the known keys beside it.
 *
 * <p>Two readings of YAML exist. By default (the relay) every YAML value is read as text, as if it had
 * been given in the environment, and a key set to nothing is an error. With {@link #typedYaml} (the
 * agent) booleans and counts must be written as YAML booleans and numbers, and a key set to nothing
 * or an empty list counts as unset.
 */
public final class ConfigReader {
    private final Map<String, ConfigKey<?>> keys = new LinkedHashMap<>();
    private final Map<String, Raw> values = new HashMap<>();
    private final String at;
    private boolean typedYaml;

    /** A value as given: a YAML node, or text from a flag or the environment; {@code source} is for messages. */
    private record Raw(JsonNode node, String text, String source) {}

    private ConfigReader(Collection<? extends ConfigKey<?>> declared, String at) {
        for (ConfigKey<?> k : declared) {
            if (keys.put(k.path(), k) != null) {
                throw new IllegalArgumentException("key " + k.path() + " is declared twice");
            }
        }
        this.at = at;
    }

    /** A reader of these keys. */
    public static ConfigReader of(Collection<? extends ConfigKey<?>> keys) {
        return new ConfigReader(keys, "");
    }

    /** A reader of these keys within an entry of a larger document, e.g. {@code expose[0]}: messages name {@code expose[0].name}. */
    public static ConfigReader of(Collection<? extends ConfigKey<?>> keys, String entry) {
        return new ConfigReader(keys, entry + ".");
    }

    /** YAML values must have the type of their key, and an empty value means unset (see the class comment). */
    public ConfigReader typedYaml() {
        typedYaml = true;
        return this;
    }

    /**
     * The settings of a YAML mapping (nested mappings give dotted keys).
     *
     * @param source where it came from for messages (a file name), or null when the caller adds it
     */
    public ConfigReader yaml(JsonNode mapping, String source) {
        if (mapping == null || mapping.isMissingNode() || mapping.isNull()) {
            return this;
        }
        if (!mapping.isObject()) {
            throw new ConfigException(prefix(source)
                    + (at.isEmpty()
                            ? "the top level must be a mapping of settings"
                            : at.substring(0, at.length() - 1) + ": expected a mapping"));
        }
        flatten("", mapping, source);
        return this;
    }

    private void flatten(String parent, JsonNode node, String source) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = parent + e.getKey();
            JsonNode v = e.getValue();
            if (!keys.containsKey(key) && keys.keySet().stream().anyMatch(k -> k.startsWith(key + "."))) {
                if (v.isObject()) {
                    flatten(key + ".", v, source);
                } else if (!v.isNull()) {
                    throw new ConfigException(
                            prefix(source) + at + key + ": expected a mapping (" + known(key + ".") + ")");
                }
                continue;
            }
            if (!keys.containsKey(key)) {
                throw new ConfigException(
                        prefix(source) + "unknown key '" + at + key + "'; known keys: " + known(parent));
            }
            values.put(key, new Raw(v, null, source));
        }
    }

    /** The declared keys under {@code parent} (its children, or the sections that hold them). */
    private String known(String parent) {
        Set<String> out = new LinkedHashSet<>();
        for (String k : keys.keySet()) {
            if (k.startsWith(parent)) {
                int dot = k.indexOf('.', parent.length());
                out.add(at + (dot < 0 ? k : k.substring(0, dot)));
            }
        }
        return String.join(", ", out);
    }

    /** The {@code BURROW_*} variables of the declared keys that have one; other names are ignored. */
    public ConfigReader env(Map<String, String> env) {
        for (ConfigKey<?> k : keys.values()) {
            String v = k.env() == null ? null : env.get(k.env());
            if (v != null) {
                values.put(k.path(), new Raw(null, v, "env " + k.env()));
            }
        }
        return this;
    }

    /**
     * Values by key, e.g. from command-line flags (a list key takes comma-separated values).
     *
     * @throws ConfigException for a key that is not declared
     */
    public ConfigReader set(Map<String, String> settings, String source) {
        settings.forEach((k, v) -> {
            if (!keys.containsKey(k)) {
                throw new ConfigException("unknown setting '" + k + "'; known: " + String.join(", ", keys.keySet()));
            }
            values.put(k, new Raw(null, v, source));
        });
        return this;
    }

    /** Whether the key was given anywhere (not its default). */
    public boolean isSet(ConfigKey<?> key) {
        Raw r = values.get(declared(key).path());
        return r != null && !(typedYaml && r.node() != null && r.node().isNull());
    }

    /** Where the key's value came from: a file, {@code env NAME}, {@code flag}, or {@code default}. */
    public String source(ConfigKey<?> key) {
        Raw r = values.get(declared(key).path());
        return r == null || r.source() == null ? "default" : r.source();
    }

    /** An error about this key: {@code path (source): problem}. */
    public ConfigException problem(ConfigKey<?> key, String problem) {
        Raw r = values.get(key.path());
        String src = r == null ? null : r.source();
        return new ConfigException(at + key.path() + (src == null ? "" : " (" + src + ")") + ": " + problem);
    }

    /**
     * The key's value, or its default when it was not given.
     *
     * @throws ConfigException naming the key, its source and what it expects
     */
    @SuppressWarnings("unchecked")
    public <T> T get(ConfigKey<T> key) {
        Raw r = values.get(declared(key).path());
        if (r == null || (typedYaml && r.node() != null && r.node().isNull())) {
            return key.defaultValue();
        }
        YamlType type = key.parser().yamlType();
        if (type == YamlType.NODE) {
            if (r.node() == null) {
                throw problem(key, "can only be given in the YAML file");
            }
            return (T) r.node();
        }
        try {
            if (type == YamlType.LIST) {
                List<String> items = items(key, r);
                if (!typedYaml && (items.isEmpty() || items.stream().anyMatch(String::isEmpty))) {
                    throw problem(key, "is set but empty");
                }
                return (T) ((ListParser<?>) key.parser()).parseItems(items);
            }
            String text = text(key, r, type);
            if (text.isEmpty()) {
                throw problem(key, "is set but empty; give a value or leave the key out");
            }
            return key.parser().parse(text);
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw problem(key, e.getMessage());
        }
    }

    private List<String> items(ConfigKey<?> key, Raw r) {
        JsonNode n = r.node();
        if (n == null) {
            return ListParser.split(r.text());
        }
        if (n.isArray()) {
            List<String> out = new ArrayList<>();
            for (JsonNode item : n) {
                if (!item.isValueNode()) {
                    throw problem(key, "must be a list of plain values");
                }
                out.add(item.asText().strip());
            }
            return out;
        }
        if (n.isNull()) {
            return List.of("");
        }
        if (!n.isValueNode()) {
            throw problem(key, "must be a list of plain values");
        }
        return typedYaml ? List.of(n.asText().strip()) : ListParser.split(n.asText());
    }

    private String text(ConfigKey<?> key, Raw r, YamlType type) {
        JsonNode n = r.node();
        if (n == null) {
            return r.text().strip();
        }
        if (n.isArray()) {
            throw problem(key, "takes one value, not a list");
        }
        if (n.isNull()) {
            return "";
        }
        if (!n.isValueNode()) {
            throw problem(key, "must be a plain value, not a mapping");
        }
        if (typedYaml && type == YamlType.BOOLEAN && !n.isBoolean()) {
            throw problem(key, "expected true or false, got '" + n.asText() + "'");
        }
        if (typedYaml && type == YamlType.WHOLE_NUMBER && !n.isIntegralNumber()) {
            throw problem(key, "expected a whole number, got '" + n.asText() + "'");
        }
        return n.asText().strip();
    }

    private ConfigKey<?> declared(ConfigKey<?> key) {
        if (keys.get(key.path()) == null) {
            throw new IllegalArgumentException("key " + key.path() + " is not declared to this reader");
        }
        return key;
    }

    private static String prefix(String source) {
        return source == null ? "" : source + ": ";
    }

    /**
     * Parses YAML text.
     *
     * @throws ConfigException "not valid YAML: ..."
     */
    public static JsonNode parseYaml(String yaml) {
        try {
            return new ObjectMapper(new YAMLFactory()).readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new ConfigException("not valid YAML: " + e.getOriginalMessage());
        }
    }

    private static JsonNode parseYaml(Path file, byte[] yaml) {
        try {
            return new ObjectMapper(new YAMLFactory()).readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ": not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
    }

    /**
     * Reads a YAML file of at most {@code maxBytes} (a configuration is a page; a huge one is a mistake or an attack on the parser).
     *
     * @throws ConfigException naming the file
     */
    public static JsonNode readYaml(Path file, long maxBytes) {
        try {
            if (Files.size(file) > maxBytes) {
                throw new ConfigException(file + ": larger than " + maxBytes + " bytes");
            }
            return parseYaml(file, Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
    }
}
