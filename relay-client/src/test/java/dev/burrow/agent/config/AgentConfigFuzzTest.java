package dev.burrow.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.agent.AgentConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Arbitrary bytes as the agent's YAML configuration (a file an operator writes, but also one a
 * configuration management system or a compromised pod may hand over): the only failure allowed is
 * an {@link IllegalArgumentException} with a message, and a configuration that parses keeps the
 * invariants the rest of the agent relies on (ports in 1-65535, service names valid). Seeds in
 * {@code AgentConfigFuzzTestInputs/}; run for real with {@code JAZZER_FUZZ=1}.
 */
class AgentConfigFuzzTest {
    private static final Path BASE = Path.of("/etc/burrow");

    @FuzzTest(maxDuration = "60s")
    void parseFailsOnlyWithAClearError(byte[] input) {
        String yaml = new String(input, StandardCharsets.UTF_8);
        AgentConfig c;
        try {
            c = AgentConfig.parse(yaml, BASE);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        for (AgentConfig.Expose e : c.exposes()) {
            assertThat(e.target().port()).isBetween(1, 65535);
            assertThat(dev.burrow.protocol.frame.ServiceNames.isValid(e.name())).isTrue();
        }
        for (AgentConfig.Forward f : c.forwards()) {
            assertThat(dev.burrow.protocol.frame.ServiceNames.isValid(f.service()))
                    .isTrue();
            assertThat(f.listenPort()).isBetween(0, 65535);
        }
    }
}
