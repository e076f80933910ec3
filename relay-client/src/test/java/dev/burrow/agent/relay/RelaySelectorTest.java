package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.Pem;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.frame.RelayFrame;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fleet hook: a selector moves the client to another relay when a restarting one does not come back. */
class RelaySelectorTest {
    private static final Duration WAIT = Duration.ofSeconds(60); // an upper bound only: CI machines are loaded

    @Test
    void aSelectorMovesToAnotherRelayWhenTheRestartWindowExpires(@TempDir Path dir) throws Exception {
        NodeIdentity alice = TestIdentities.ephemeral("alice");
        try (FakeRelay first = new FakeRelay();
                FakeRelay second = new FakeRelay()) {
            // Trust both relays through a CA file (host name verification on): the fleet's setup.
            Path ca = dir.resolve("relays.pem");
            Files.writeString(
                    ca,
                    Pem.encodeCertificates(List.of(
                            first.credentials.chain().get(0),
                            second.credentials.chain().get(0))));
            List<RelayUrlSelector.Reason> reasons = new CopyOnWriteArrayList<>();
            RelayUrlSelector selector = (configured, previous, reason) -> {
                reasons.add(reason);
                return reason == RelayUrlSelector.Reason.RESTART_WINDOW_EXPIRED
                                || second.url().equals(previous)
                        ? second.url()
                        : configured;
            };
            first.onAccepted = s -> {
                s.send(new RelayFrame.Restarting(100, 300));
                first.server.close(); // it never comes back
                s.channel.eventLoop().schedule(s::close, 20, TimeUnit.MILLISECONDS);
            };
            ClientFixture.Recorder events = new ClientFixture.Recorder();
            RelayClient client = ClientFixture.client(
                    RelayClientConfig.builder(first.url(), RelayTrust.caFile(ca), alice)
                            .mode(ConnectMode.UPGRADE)
                            .backoff(Duration.ofMillis(50), Duration.ofMillis(200))
                            .relaySelector(selector)
                            .build(),
                    events);
            try {
                client.start();
                await().atMost(WAIT)
                        .until(() ->
                                second.authVerified.get() == 1 && client.state() == RelayConnectionState.CONNECTED);
                assertThat(client.connection().orElseThrow().relayUrl()).isEqualTo(second.url());
                assertThat(reasons)
                        .startsWith(RelayUrlSelector.Reason.INITIAL, RelayUrlSelector.Reason.RESTARTING)
                        .contains(RelayUrlSelector.Reason.RESTART_WINDOW_EXPIRED);
                assertThat(events.restarting).hasSize(1);
                assertThat(events.connected).hasSize(2);
            } finally {
                client.close();
            }
        }
    }
}
