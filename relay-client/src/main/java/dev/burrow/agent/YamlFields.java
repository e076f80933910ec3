package dev.burrow.agent;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads and checks the shape of YAML configuration nodes, failing with the path of the offending
 * key ({@code at}) in the message. The values with a grammar of their own (numbers, durations) are
 * read by {@link AgentConfig}.
 */
final class YamlFields {
    private YamlFields() {}

    static void requireObject(JsonNode n, String at) {
        if (!n.isObject()) {
            throw new IllegalArgumentException(at + ": expected a mapping");
        }
    }

    static void requireArray(JsonNode n, String at) {
        if (!n.isArray()) {
            throw new IllegalArgumentException(at + ": expected a list");
        }
    }

    static void checkKeys(JsonNode n, Set<String> known, String prefix) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                throw new IllegalArgumentException(
                        prefix + k + ": unknown key (known: " + String.join(", ", new TreeSet<>(known)) + ")");
            }
        }
    }

    static String text(JsonNode n, String key, String at, boolean required) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            if (required) {
                throw new IllegalArgumentException(at + ": missing");
            }
            return null;
        }
        if (!v.isValueNode() || v.asText().isBlank()) {
            throw new IllegalArgumentException(at + ": expected a value");
        }
        return v.asText();
    }

    static List<String> stringList(JsonNode n, String at) {
        List<String> out = new ArrayList<>();
        if (n.isValueNode()) {
            out.add(n.asText());
            return out;
        }
        requireArray(n, at);
        for (JsonNode item : n) {
            if (!item.isValueNode()) {
                throw new IllegalArgumentException(at + ": expected a list of strings");
            }
            out.add(item.asText());
        }
        return out;
    }
}
