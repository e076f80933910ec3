package dev.burrow.protocol.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigReaderTest {
    static final ConfigKey<Integer> MAX = ConfigKey.of("limits.max", 10, Parsers.intAtLeast(1), "max");
    static final ConfigKey<Duration> WAIT =
            ConfigKey.of("timeouts.wait", Duration.ofSeconds(3), Parsers.duration(), "");
    static final ConfigKey<List<String>> PEERS = ConfigKey.of("peers", List.of(), Parsers.strings(), "");
    static final ConfigKey<Boolean> ON = ConfigKey.yamlOnly("on", false, Parsers.bool(), "");
    static final List<ConfigKey<?>> KEYS = List.of(MAX, WAIT, PEERS, ON);

    @Test
    void aFlagBeatsTheEnvironmentBeatsYamlBeatsTheDefault() {
        ConfigReader r = ConfigReader.of(KEYS)
                .yaml(ConfigReader.parseYaml("limits: {max: 5}\ntimeouts: {wait: 1s}\npeers: [a, b]\n"), "f.yaml")
                .env(Map.of("BURROW_LIMITS_MAX", "6", "BURROW_ON", "true"))
                .set(Map.of("limits.max", "7"), "flag");
        assertThat(r.get(MAX)).isEqualTo(7);
        assertThat(r.source(MAX)).isEqualTo("flag");
        assertThat(r.get(WAIT)).isEqualTo(Duration.ofSeconds(1));
        assertThat(r.get(PEERS)).containsExactly("a", "b");
        assertThat(r.get(ON)).as("a YAML-only key has no environment variable").isFalse();
        assertThat(ConfigReader.of(KEYS).get(MAX)).isEqualTo(10);
        assertThat(ConfigReader.of(KEYS).env(Map.of("BURROW_PEERS", "a, b,,c")).get(PEERS))
                .containsExactly("a", "b", "c");
    }

    @Test
    void errorsNameTheKeyItsSourceAndWhatIsExpected() {
        assertThatThrownBy(() -> ConfigReader.of(KEYS)
                        .env(Map.of("BURROW_LIMITS_MAX", "0"))
                        .get(MAX))
                .isInstanceOf(ConfigException.class)
                .hasMessage("limits.max (env BURROW_LIMITS_MAX): must be at least 1, got 0");
        assertThatThrownBy(() -> ConfigReader.of(KEYS)
                        .yaml(ConfigReader.parseYaml("timeouts: {wait: soon}"), "f.yaml")
                        .get(WAIT))
                .hasMessageStartingWith("timeouts.wait (f.yaml): expected a duration like");
        assertThatThrownBy(() -> ConfigReader.of(KEYS).yaml(ConfigReader.parseYaml("limits: {maxx: 1}"), "f.yaml"))
                .hasMessage("f.yaml: unknown key 'limits.maxx'; known keys: limits.max");
        assertThatThrownBy(() -> ConfigReader.of(KEYS).yaml(ConfigReader.parseYaml("limits: 3"), null))
                .hasMessageContaining("limits: expected a mapping");
        assertThatThrownBy(() -> ConfigReader.of(KEYS).set(Map.of("limit.max", "1"), "flag"))
                .hasMessageContaining("unknown setting 'limit.max'");
        assertThatThrownBy(() ->
                        ConfigReader.of(KEYS).env(Map.of("BURROW_PEERS", " ")).get(PEERS))
                .hasMessageContaining("peers (env BURROW_PEERS): is set but empty");
    }

    @Test
    void typedYamlChecksTypesAndTreatsEmptyAsUnset() {
        ConfigReader r =
                ConfigReader.of(KEYS, "entry[0]").typedYaml().yaml(ConfigReader.parseYaml("on: ~\npeers: []\n"), null);
        assertThat(r.get(ON)).isFalse();
        assertThat(r.isSet(ON)).isFalse();
        assertThat(r.get(PEERS)).isEmpty();
        assertThatThrownBy(() -> ConfigReader.of(KEYS, "entry[0]")
                        .typedYaml()
                        .yaml(ConfigReader.parseYaml("on: \"yes\""), null)
                        .get(ON))
                .hasMessage("entry[0].on: expected true or false, got 'yes'");
        assertThat(ConfigReader.of(KEYS)
                        .yaml(ConfigReader.parseYaml("on: \"yes\""), null)
                        .get(ON))
                .as("untyped, YAML is read as text")
                .isTrue();
    }
}
