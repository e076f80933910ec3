package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.testing.TestIdentities;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link RelayClient#lookupName}: answers, bounds, and failures. */
class RelayClientNameLookupTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private FakeRelay relay;
    private RelayClient client;
    private final NodeIdentity id = TestIdentities.ephemeral("bob");

    @BeforeEach
    void start() throws Exception {
        relay = new FakeRelay();
        client = ClientFixture.client(
                ClientFixture.config(relay, id, ConnectMode.UPGRADE).build(), new ClientFixture.Recorder());
        client.start();
        client.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        client.close();
        relay.close();
    }

    @Test
    void answersComeBackByRequestId() throws Exception {
        NodeKey alice = TestIdentities.randomNodeKey();
        relay.names = n -> n.equals("alice") ? List.of(alice) : List.of();
        CompletableFuture<List<NodeKey>> a = client.lookupName("alice");
        CompletableFuture<List<NodeKey>> none = client.lookupName("carol");
        assertThat(a.get(WAIT.toSeconds(), TimeUnit.SECONDS)).containsExactly(alice);
        assertThat(none.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
    }

    @Test
    void aRelayThatNeverAnswersTimesOut() {
        relay.names = null;
        assertThatThrownBy(() -> client.lookupName("alice").get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(RelayTimeoutException.class)
                .hasMessageContaining("did not answer the name lookup");
    }

    @Test
    void invalidNamesFailWithoutAsking() {
        assertThatThrownBy(() -> client.lookupName("Not/A/Name").get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pendingLookupsAreBoundedAndFailWhenTheConnectionDrops() throws Exception {
        relay.names = null; // a relay that never answers
        List<CompletableFuture<List<NodeKey>>> pending = new java.util.ArrayList<>();
        for (int i = 0; i < RelayClient.MAX_PENDING_LOOKUPS; i++) { // the bound itself
            pending.add(client.lookupName("alice"));
        }
        assertThatThrownBy(() -> client.lookupName("alice").get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("too many name lookups");
        relay.sessions.forEach(FakeRelay.Session::close);
        for (CompletableFuture<List<NodeKey>> f : pending) {
            assertThatThrownBy(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(RelayUnavailableException.class);
        }
    }
}
