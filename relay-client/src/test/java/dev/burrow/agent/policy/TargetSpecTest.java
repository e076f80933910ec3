package dev.burrow.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Attack, malformed open requests: ports outside 1-65535 never get past parsing. */
class TargetSpecTest {

    @Test
    void parsesTheUsualForms() {
        assertThat(TargetSpec.parse("127.0.0.1:8080")).isEqualTo(new TargetSpec("127.0.0.1", 8080));
        assertThat(TargetSpec.parse("[::1]:22")).isEqualTo(new TargetSpec("::1", 22));
        assertThat(TargetSpec.parse("localhost:1")).isEqualTo(new TargetSpec("localhost", 1));
        assertThat(TargetSpec.parse("65535")).isEqualTo(new TargetSpec("127.0.0.1", 65535));
        assertThat(TargetSpec.parse("[::1]:22").toString()).isEqualTo("[::1]:22");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "127.0.0.1:0",
                "127.0.0.1:65536",
                "127.0.0.1:-1",
                "127.0.0.1:4294967297",
                "127.0.0.1:",
                "127.0.0.1:80x",
                ":80",
                "::1:80",
                "[::1]80",
                "[::1]:",
                "0",
                "99999999999",
                "",
                "127.0.0.1:+80",
                "127.0.0.1: 80"
            })
    void rejectsBadTargets(String text) {
        assertThatThrownBy(() -> TargetSpec.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void portChecks() {
        assertThatThrownBy(() -> TargetSpec.checkPort(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TargetSpec.checkPort(65536)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TargetSpec.checkPort(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TargetSpec.checkPort(0xFFFFFFFFL)).isInstanceOf(IllegalArgumentException.class);
        assertThat(TargetSpec.checkPort(1)).isEqualTo(1);
    }
}
