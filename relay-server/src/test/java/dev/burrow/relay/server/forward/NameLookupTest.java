package dev.burrow.relay.server.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LOOKUP_NAME answers only from names the relay verified as issued by its fleet CA. */
class NameLookupTest {
    @TempDir
    Path dir;

    private RelayServer relay;
    private final List<TestRelayClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(TestRelayClient::close);
        if (relay != null) {
            relay.close();
        }
    }

    private TestRelayClient client(NodeIdentity id) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE));
        clients.add(c);
        assertThat(c.authenticate(id, false, true)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private static RelayFrame.NameResult lookup(TestRelayClient c, long requestId, String name) {
        c.send(new ClientFrame.LookupName(requestId, name));
        return await().atMost(TestRelayClient.WAIT)
                .until(
                        () -> c.frames().stream()
                                .filter(f -> f instanceof RelayFrame.NameResult r && r.requestId() == requestId)
                                .map(f -> (RelayFrame.NameResult) f)
                                .findFirst()
                                .orElse(null),
                        r -> r != null);
    }

    private double lookups(String outcome) {
        var c = relay.prometheus()
                .find(RelayMetrics.NAME_LOOKUPS)
                .tag(RelayMetrics.TAG_OUTCOME, outcome)
                .counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void caIssuedNameIsFoundSelfSignedClaimIsNotAndDisconnectRemovesIt() throws Exception {
        TestIdentities ids = TestIdentities.create(dir);
        relay = TestRelays.startWith(
                RelayServer.builder(TestRelays.config(Map.of())).verifier(ids.verifier()));

        NodeIdentity alice = ids.node("alice");
        NodeIdentity impostor = TestIdentities.ephemeral("alice"); // claims the name in a self-signed certificate
        NodeIdentity mallory = TestIdentities.ephemeral("mallory");
        TestRelayClient a = client(alice);
        client(impostor);
        TestRelayClient asker = client(mallory);

        assertThat(lookup(asker, 1, "alice").keys()).containsExactly(alice.nodeKey());
        assertThat(lookup(asker, 2, "mallory").keys()).isEmpty(); // self-signed names are never indexed
        assertThat(lookup(asker, 3, "nobody").keys()).isEmpty();
        assertThat(lookups("found")).isEqualTo(1);
        assertThat(lookups("not_found")).isEqualTo(2);

        a.close();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> relay.context().registry().lookup(alice.nodeKey()) == null);
        assertThat(lookup(asker, 4, "alice").keys()).isEmpty();
        assertThat(relay.context().registry().namedClients()).isZero();
    }

    /** A node with its own key (in {@code dir/<keyDir>}) and a CA certificate for {@code name}. */
    private NodeIdentity caNode(TestIdentities ids, String keyDir, String name) throws Exception {
        NodeIdentity id = NodeIdentity.loadOrCreate(dir.resolve(keyDir), name, java.time.Clock.systemUTC());
        id.installCertificate(
                ids.ca().chainFor(ids.ca().issue(id.nodeKey(), name, java.util.Set.of(), Duration.ofDays(1))));
        return id;
    }

    @Test
    void withTheCaNameRecordANameResolvesOnlyToItsHolder() throws Exception {
        TestIdentities ids = TestIdentities.create(dir);
        NodeIdentity holder = caNode(ids, "holder", "web");
        NodeIdentity impostor =
                caNode(ids, "impostor", "web"); // a valid CA certificate for the name, issued to another key
        relay = TestRelays.startWith(RelayServer.builder(TestRelays.config(Map.of()))
                .verifier(ids.verifier())
                .nameHolders(name ->
                        "web".equals(name) ? java.util.Optional.of(holder.nodeKey()) : java.util.Optional.empty()));
        client(impostor);
        TestRelayClient asker = client(TestIdentities.ephemeral("bob"));
        assertThat(lookup(asker, 1, "web").keys())
                .as("the holder is offline: nobody, never the impostor")
                .isEmpty();

        TestRelayClient h = client(holder);
        assertThat(lookup(asker, 2, "web").keys()).containsExactly(holder.nodeKey());
        h.close();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> relay.context().registry().lookup(holder.nodeKey()) == null);
        assertThat(lookup(asker, 3, "web").keys()).isEmpty();

        // a name the record does not hold is answered as before
        client(caNode(ids, "db1", "db"));
        client(caNode(ids, "db2", "db"));
        assertThat(lookup(asker, 4, "db").keys()).hasSize(2);
    }

    @Test
    void duplicateKeyReplacementKeepsTheNewSessionIndexed() throws Exception {
        TestIdentities ids = TestIdentities.create(dir);
        relay = TestRelays.startWith(
                RelayServer.builder(TestRelays.config(Map.of())).verifier(ids.verifier()));
        NodeIdentity alice = ids.node("alice");
        TestRelayClient first = client(alice);
        client(alice); // replaces the first connection
        first.awaitClosed();
        TestRelayClient asker = client(TestIdentities.ephemeral("bob"));
        assertThat(lookup(asker, 9, "alice").keys()).containsExactly(alice.nodeKey());
    }

    @Test
    void relayWithoutFleetCaNeverResolvesNames() throws Exception {
        TestIdentities ids = TestIdentities.create(dir);
        relay = TestRelays.start(Map.of()); // no auth.ca: a CA-issued chain verifies as self-signed at best
        TestRelayClient alice =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE));
        clients.add(alice);
        RelayFrame answer = alice.authenticate(ids.node("alice"), false, true);
        TestRelayClient asker = client(TestIdentities.ephemeral("bob"));
        assertThat(lookup(asker, 5, "alice").keys()).isEmpty();
        assertThat(answer).isNotNull();
    }

    @Test
    void lookupsCountAgainstTheClientsReadRateLimit() throws Exception {
        relay = TestRelays.start(Map.of(
                "limits.client-bytes-per-second",
                "1000",
                "limits.client-burst-bytes",
                String.valueOf(dev.burrow.relay.server.config.RelayDefaults.MIN_CLIENT_BURST_BYTES)));
        TestRelayClient asker = client(TestIdentities.ephemeral("bob"));
        String name = "a".repeat(63);
        long sent = dev.burrow.relay.server.config.RelayDefaults.MIN_CLIENT_BURST_BYTES / (5 + 4 + 1 + 63) + 50;
        for (long i = 0; i < sent; i++) {
            asker.sendNoWait(new ClientFrame.LookupName(i, name));
        }
        // The reads are paced (the RATE_LIMITED notice itself may be crowded out of the client's own full
        // control queue by the answers, which is counted as a drop): the limiter's counter is the proof.
        await().atMost(TestRelayClient.WAIT).until(() -> {
            var c = relay.prometheus()
                    .find(RelayMetrics.RATE_LIMIT_EVENTS)
                    .tag(RelayMetrics.TAG_KIND, "client_read")
                    .counter();
            return c != null && c.count() > 0;
        });
    }

    @Test
    void anInvalidNameIsAProtocolError() throws Exception {
        relay = TestRelays.start(Map.of());
        TestRelayClient asker = client(TestIdentities.ephemeral("bob"));
        // LOOKUP_NAME with "A/B": not a node name
        asker.writeRaw(new byte[] {0x60, 0, 0, 0, 8, 0, 0, 0, 1, 3, 'A', '/', 'B'});
        RelayFrame.Deny deny = asker.awaitFrame(RelayFrame.Deny.class);
        assertThat(deny.message()).contains("node name");
        asker.awaitClosed();
    }
}
