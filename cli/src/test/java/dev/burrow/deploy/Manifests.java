package dev.burrow.deploy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The objects a render produced, parsed with Jackson YAML. */
record Manifests(String text, List<JsonNode> objects) {
    private static final ObjectMapper YAML = new YAMLMapper();

    static Manifests parse(String text) {
        List<JsonNode> objects = new ArrayList<>();
        try (JsonParser parser = new YAMLFactory().createParser(text);
                MappingIterator<JsonNode> docs = YAML.readValues(parser, JsonNode.class)) {
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode() && doc.size() > 0) {
                    objects.add(doc);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Manifests(text, List.copyOf(objects));
    }

    List<JsonNode> ofKind(String kind) {
        return objects.stream()
                .filter(o -> kind.equals(o.path("kind").asText()))
                .toList();
    }

    Optional<JsonNode> find(String kind, String name) {
        return ofKind(kind).stream()
                .filter(o -> name.equals(o.path("metadata").path("name").asText()))
                .findFirst();
    }

    JsonNode get(String kind, String name) {
        return find(kind, name).orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in:\n" + names()));
    }

    List<String> names() {
        return objects.stream()
                .map(o -> o.path("kind").asText() + "/"
                        + o.path("metadata").path("name").asText())
                .toList();
    }

    /** The relay StatefulSet (there is exactly one). */
    JsonNode statefulSet() {
        List<JsonNode> sets = ofKind("StatefulSet");
        if (sets.size() != 1) {
            throw new AssertionError("expected one StatefulSet, got " + names());
        }
        return sets.get(0);
    }

    JsonNode podSpec() {
        return statefulSet().path("spec").path("template").path("spec");
    }

    JsonNode relayContainer() {
        for (JsonNode c : podSpec().path("containers")) {
            if ("relay".equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no relay container");
    }

    /** relay.yaml as rendered (text). */
    String relayYaml() {
        return configMap("-config").path("data").path("relay.yaml").asText();
    }

    /** relay.yaml from the ConfigMap, parsed. */
    JsonNode relayConfig() {
        try {
            return YAML.readTree(relayYaml());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The settings the relay gets as environment variables (the -env ConfigMap). */
    Map<String, String> relayEnv() {
        Map<String, String> env = new TreeMap<>();
        configMap("-env")
                .path("data")
                .properties()
                .forEach(e -> env.put(e.getKey(), e.getValue().asText()));
        return env;
    }

    private JsonNode configMap(String suffix) {
        return ofKind("ConfigMap").stream()
                .filter(c -> c.at("/metadata/name").asText().endsWith(suffix))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no ConfigMap *" + suffix + " in " + names()));
    }

    String checksumConfig() {
        return statefulSet()
                .path("spec")
                .path("template")
                .path("metadata")
                .path("annotations")
                .path("checksum/config")
                .asText();
    }
}
