package dev.burrow.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.service.ServiceProtocol;
import org.junit.jupiter.api.Test;

/** {@code protocol: udp} on expose and forward entries: tcp unless asked for, errors name the key. */
class UdpProtocolConfigTest {
    static final String PEER =
            dev.burrow.identity.NodeIdentity.ephemeral("peer").nodeKey().nodeId();

    @Test
    void tcpByDefaultAndUdpWhenAsked() {
        AgentConfig c = AgentConfig.parse(
                "expose:\n  - {name: dns, target: 53, protocol: udp, allow: [tag:x]}\n"
                        + "  - {name: web, target: 80, allow: [tag:x]}\n"
                        + "forward:\n  - {peer: " + PEER + ", service: dns, listen: 5353, protocol: UDP}\n"
                        + "  - {peer: " + PEER + ", service: dns, listen: 5353}\n",
                null);
        assertThat(c.exposes().get(0).protocol()).isEqualTo(ServiceProtocol.UDP);
        assertThat(c.exposes().get(1).protocol()).isEqualTo(ServiceProtocol.TCP);
        // a UDP and a TCP forward may share a port number
        assertThat(c.forwards().get(0).protocol()).isEqualTo(ServiceProtocol.UDP);
        assertThat(c.forwards().get(1).protocol()).isEqualTo(ServiceProtocol.TCP);
    }

    @Test
    void badValuesAndCombinationsNameTheKey() {
        assertThatThrownBy(() -> AgentConfig.parse(
                        "expose:\n  - {name: dns, target: 53, protocol: sctp, allow: [tag:x]}\n", null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expose[0].protocol")
                .hasMessageContaining("tcp or udp");
        assertThatThrownBy(() -> AgentConfig.parse(
                        "expose:\n  - {name: dns, target: 53, protocol: udp, proxy-protocol: v2, allow: [tag:x]}\n",
                        null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("proxy-protocol is for TCP services only");
        assertThatThrownBy(() -> AgentConfig.parse(
                        "expose:\n  - {name: dns, target: 53, protocol: udp, allow: [tag:x],"
                                + " public: {enabled: true, allow-sources: [0.0.0.0/0]}}\n",
                        null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("public ingress is for TCP services only");
        String peer = PEER;
        assertThatThrownBy(() -> AgentConfig.parse(
                        "forward:\n  - {peer: " + peer + ", service: dns, listen: 5353, protocol: udp}\n"
                                + "  - {peer: " + peer + ", service: web, listen: 5353, protocol: udp}\n",
                        null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("udp 127.0.0.1:5353 is used twice");
    }
}
