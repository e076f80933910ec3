package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.agent.Agent;
import dev.burrow.agent.AgentConfig;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.transport.Transport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The agent's {@code tls: plain-circuits} switch, end to end through a relay that takes circuit
 * connections without TLS: off, the exposing agent attaches every circuit inside relay TLS and never
 * opens a plain circuit connection; on (the default), it does.
 */
class AgentPlainCircuitsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private FakeRelay relay;
    private Agent agent;
    private RelayClient dialer;

    @BeforeEach
    void start() throws Exception {
        relay = new FakeRelay();
        relay.plainCircuits = true; // the relay would take plain ones
    }

    @AfterEach
    void stop() {
        if (dialer != null) {
            dialer.close();
        }
        if (agent != null) {
            agent.close();
        }
        relay.close();
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theSwitchDecidesWhetherTheAgentAttachesCircuitsWithoutRelayTls(boolean plain) throws Exception {
        NodeIdentity dialerId = TestIdentities.ephemeral("dialer");
        String yaml =
                "relay:\n  url: " + relay.url() + "\n  fingerprint: " + relay.fingerprint() + "\n  mode: upgrade\n"
                        + (plain ? "" : "tls:\n  plain-circuits: false\n")
                        + "expose:\n  - {name: web, target: 127.0.0.1:9, allow: [\"node:"
                        + dialerId.nodeKey().nodeId() + "\"]}\n";
        AgentConfig config = AgentConfig.parse(yaml, Path.of("."));
        assertThat(config.plainCircuits()).isEqualTo(plain);
        NodeIdentity agentId = TestIdentities.ephemeral("agent");
        agent = Agent.start(config, agentId, Transport.nio());
        // the dialer never uses plain circuits, so every plain connection is the agent's
        dialer = new RelayClient(ClientFixture.config(relay, dialerId, ConnectMode.UPGRADE)
                .plainCircuits(false)
                .build());
        dialer.start();
        dialer.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> relay.session(agentId.nodeKey()) != null);
        CircuitConnection c = dialer.openCircuit(agentId.nodeKey(), "web").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        try {
            // joined: the agent's end attached too
            if (plain) {
                assertThat(relay.plainConnections.get())
                        .as("the agent attached without relay TLS")
                        .isEqualTo(1);
            } else {
                assertThat(relay.plainConnections.get())
                        .as("never a plain circuit connection")
                        .isZero();
            }
        } finally {
            c.close().sync();
        }
    }
}
