package dev.burrow.agent.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** agent.yaml's {@code direct.port-mapping} and the {@code BURROW_PORTMAP} override. */
class PortMappingSwitchTest {
    @Test
    void theFileDecidesWhenTheEnvironmentIsSilent() {
        assertThat(PortMapping.enabled(Map.of(), true)).isTrue();
        assertThat(PortMapping.enabled(Map.of(), false)).isFalse();
    }

    @Test
    void theEnvironmentOverridesTheFile() {
        assertThat(PortMapping.enabled(Map.of("BURROW_PORTMAP", "off"), true)).isFalse();
        assertThat(PortMapping.enabled(Map.of("BURROW_PORTMAP", " Off "), true)).isFalse();
        assertThat(PortMapping.enabled(Map.of("BURROW_PORTMAP", "on"), false)).isTrue();
    }
}
