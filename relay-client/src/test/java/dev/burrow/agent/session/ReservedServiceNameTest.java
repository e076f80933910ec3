package dev.burrow.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ServiceNames;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The session service name is valid on the wire but never the name of a user's service or forward. */
class ReservedServiceNameTest {
    @Test
    void theSessionServiceIsAValidWireNameButReserved() {
        assertThat(ServiceNames.isValid(SessionProtocol.SERVICE)).isTrue();
        assertThat(ServiceNames.isReserved(SessionProtocol.SERVICE)).isTrue();
        assertThat(ServiceNames.isReserved("web")).isFalse();
        assertThat(ServiceNames.checkUsable("burrow.sessions")).isEqualTo("burrow.sessions");
    }

    @Test
    void noExposedServiceOrForwardMayUseIt() {
        assertThatThrownBy(() -> new ExposedService(
                        SessionProtocol.SERVICE,
                        TargetPolicy.of(TargetSpec.parse("127.0.0.1:80")),
                        AllowList.parse(List.of()),
                        1,
                        1,
                        Duration.ofMinutes(1),
                        ProxyProtocol.OFF,
                        null,
                        ServiceProtocol.TCP))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reserved");
        NodeKey someone = NodeKey.of(new byte[32]);
        assertThatThrownBy(() -> new ForwardSpec("127.0.0.1", 0, someone, "x", SessionProtocol.SERVICE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reserved");
    }
}
