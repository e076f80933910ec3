package dev.burrow.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.AgentConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** agent.yaml's {@code direct:} section: the port-mapping switch and extra STUN servers. */
class DirectConfigTest {
    private static final Path BASE = Path.of("/etc/burrow");
    private static final String RELAY = "relay:\n  url: https://relay.example:7443\n";

    @Test
    void defaultsWhenAbsent() {
        AgentConfig c = AgentConfig.parse(RELAY, BASE);
        assertThat(c.direct()).isEqualTo(AgentConfig.Direct.DEFAULT);
        assertThat(c.direct().portMapping()).isTrue();
        assertThat(c.direct().stunServers()).isEmpty();
    }

    @Test
    void portMappingOffAndStunServers() {
        AgentConfig c = AgentConfig.parse(
                RELAY + "direct:\n  port-mapping: false\n  stun-servers: [stun.example:3478, 198.51.100.7:3479]\n",
                BASE);
        assertThat(c.direct().portMapping()).isFalse();
        assertThat(c.direct().stunServers()).containsExactly("stun.example:3478", "198.51.100.7:3479");
        // kept by the command line's overrides
        assertThat(c.withPlainCircuits(false).direct()).isEqualTo(c.direct());
        assertThat(c.withRelay(c.relay()).direct()).isEqualTo(c.direct());
    }

    @Test
    void badValuesAreRefusedWithTheKey() {
        assertThatThrownBy(() -> AgentConfig.parse(RELAY + "direct:\n  port-mapping: maybe\n", BASE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("direct.port-mapping");
        assertThatThrownBy(() -> AgentConfig.parse(RELAY + "direct:\n  stun-servers: [stun.example]\n", BASE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("direct.stun-servers")
                .hasMessageContaining("stun.example");
        assertThatThrownBy(() -> AgentConfig.parse(RELAY + "direct:\n  port-maping: false\n", BASE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("port-maping");
        assertThatThrownBy(() -> new AgentConfig.Direct(
                        true, List.of("a:1", "b:1", "c:1", "d:1", "e:1", "f:1", "g:1", "h:1", "i:1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at most 8");
    }
}
