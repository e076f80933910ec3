package dev.burrow.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.caller.ProxyProtocol;
import org.junit.jupiter.api.Test;

/** {@code proxy-protocol} on an expose entry: off unless asked for, v2 when asked, errors name the key. */
class ExposeProxyProtocolConfigTest {
    static String expose(String extra) {
        return "expose:\n  - name: web\n    target: 8080\n    allow: [tag:x]\n" + extra;
    }

    @Test
    void offByDefaultAndV2WhenAsked() {
        assertThat(AgentConfig.parse(expose(""), null).exposes().get(0).proxyProtocol())
                .isEqualTo(ProxyProtocol.OFF);
        assertThat(AgentConfig.parse(expose("    proxy-protocol: v2\n"), null)
                        .exposes()
                        .get(0)
                        .proxyProtocol())
                .isEqualTo(ProxyProtocol.V2);
        assertThat(AgentConfig.parse(expose("    proxy-protocol: off\n"), null)
                        .exposes()
                        .get(0)
                        .proxyProtocol())
                .isEqualTo(ProxyProtocol.OFF);
    }

    @Test
    void anUnknownVersionNamesTheKey() {
        assertThatThrownBy(() -> AgentConfig.parse(expose("    proxy-protocol: v1\n"), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expose[0].proxy-protocol")
                .hasMessageContaining("v2");
    }
}
