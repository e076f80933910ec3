package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Relays meshed in one JVM on loopback: presence, datagrams and circuits across relays, link loss, auth. */
class MeshRelayTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final String KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    @TempDir
    Path tmp;
    final List<RelayServer> relays = new ArrayList<>();
    final List<TestRelayClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(TestRelayClient::close);
        relays.forEach(RelayServer::close);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    Path keyFile(String name, String content) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, content + "\n");
        return f;
    }

    RelayServer relay(int port, String peers, Path key, String id) throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put("listen", "127.0.0.1:" + port);
        m.put("relay-id", id);
        m.put("mesh.peers", peers);
        m.put("mesh.resolve-interval", "1s");
        m.put("timeouts.circuit-token", "5s");
        if (key != null) {
            m.put("mesh.key-file", key.toString());
        }
        RelayServer r = TestRelays.start(m);
        relays.add(r);
        return r;
    }

    TestRelayClient client(RelayServer r, NodeIdentity id, boolean accepts) throws Exception {
        TestRelayClient c = TestRelayClient.connect(r.address(), TestRelays.clientTls(r), Options.control(Mode.UPGRADE));
        clients.add(c);
        assertThat(c.authenticate(id, accepts)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    static double counter(RelayServer r, String event) {
        var c = r.prometheus().find(RelayMetrics.MESH_EVENTS).tag("event", event).counter();
        return c == null ? 0 : c.count();
    }

    List<RelayServer> threeRelays() throws Exception {
        int[] ports = {freePort(), freePort(), freePort()};
        String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
        Path key = keyFile("mesh.key", KEY);
        List<RelayServer> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            out.add(relay(ports[i], peers, key, "relay-" + i));
        }
        for (RelayServer r : out) {
            await("mesh links").atMost(WAIT).until(() -> r.mesh().linkCount() == 2);
        }
        return out;
    }

    @Test
    void datagramsAndPresenceCrossRelaysAndSelfMeshIsRejected() throws Exception {
        List<RelayServer> r = threeRelays();
        for (RelayServer relay : r) {
            // every relay's list names itself: it reached itself, hung up and counted it
            await().atMost(WAIT).until(() -> counter(relay, "self_mesh") >= 1);
        }
        NodeIdentity aliceId = NodeIdentity.ephemeral("alice");
        NodeIdentity bobId = NodeIdentity.ephemeral("bob");
        NodeIdentity carolId = NodeIdentity.ephemeral("carol");
        TestRelayClient alice = client(r.get(0), aliceId, false);
        TestRelayClient bob = client(r.get(1), bobId, false);
        TestRelayClient carol = client(r.get(2), carolId, false);
        await().atMost(WAIT).until(() -> r.get(0).mesh().hasRoute(bobId.nodeKey()) && r.get(1).mesh().hasRoute(aliceId.nodeKey())
                && r.get(0).mesh().hasRoute(carolId.nodeKey()) && r.get(2).mesh().hasRoute(bobId.nodeKey()));

        alice.sendDatagram(bobId.nodeKey(), "hello bob".getBytes(StandardCharsets.UTF_8));
        TestRelayClient.Received got = bob.takeDatagram();
        assertThat(got.source()).isEqualTo(aliceId.nodeKey());
        assertThat(new String(got.payload(), StandardCharsets.UTF_8)).isEqualTo("hello bob");
        bob.sendDatagram(aliceId.nodeKey(), "hi alice".getBytes(StandardCharsets.UTF_8));
        assertThat(alice.takeDatagram().source()).isEqualTo(bobId.nodeKey());
        carol.sendDatagram(aliceId.nodeKey(), "from carol".getBytes(StandardCharsets.UTF_8));
        assertThat(alice.takeDatagram().source()).isEqualTo(carolId.nodeKey());
        assertThat(counter(r.get(1), "datagram_delivered")).isGreaterThanOrEqualTo(1);

        // bob leaves: alice (who sent to him) hears PEER_GONE from her own relay via the mesh
        bob.close();
        RelayFrame.PeerGone gone = alice.awaitFrame(RelayFrame.PeerGone.class);
        assertThat(gone.peer()).isEqualTo(bobId.nodeKey());
        assertThat(gone.reason()).isEqualTo(PeerGoneReason.DISCONNECTED);
        await().atMost(WAIT).until(() -> !r.get(0).mesh().hasRoute(bobId.nodeKey()));

        // bob comes back on relay 2: alice hears PEER_PRESENT, and datagrams flow again
        TestRelayClient bob2 = client(r.get(2), bobId, false);
        alice.awaitFrame(RelayFrame.PeerPresent.class);
        alice.sendDatagram(bobId.nodeKey(), "again".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(bob2.takeDatagram().payload(), StandardCharsets.UTF_8)).isEqualTo("again");
    }

    @Test
    void aKilledRelaysRoutesAreDroppedAndOthersKeepWorking() throws Exception {
        List<RelayServer> r = threeRelays();
        NodeIdentity aliceId = NodeIdentity.ephemeral("alice");
        NodeIdentity bobId = NodeIdentity.ephemeral("bob");
        NodeIdentity carolId = NodeIdentity.ephemeral("carol");
        TestRelayClient alice = client(r.get(0), aliceId, false);
        client(r.get(1), bobId, false);
        TestRelayClient carol = client(r.get(2), carolId, false);
        await().atMost(WAIT).until(() -> r.get(0).mesh().hasRoute(bobId.nodeKey()) && r.get(0).mesh().hasRoute(carolId.nodeKey()));
        alice.sendDatagram(bobId.nodeKey(), "x".getBytes(StandardCharsets.UTF_8)); // alice now watches bob

        r.get(1).close();
        RelayFrame.PeerGone gone = alice.awaitFrame(RelayFrame.PeerGone.class);
        assertThat(gone.peer()).isEqualTo(bobId.nodeKey());
        await().atMost(WAIT).until(() -> !r.get(0).mesh().hasRoute(bobId.nodeKey()) && !r.get(2).mesh().hasRoute(bobId.nodeKey()));
        assertThat(counter(r.get(0), "link_down")).isGreaterThanOrEqualTo(1);

        alice.sendDatagram(carolId.nodeKey(), "still here".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(carol.takeDatagram().payload(), StandardCharsets.UTF_8)).isEqualTo("still here");
    }

    @Test
    void circuitsCrossRelays() throws Exception {
        List<RelayServer> r = threeRelays();
        NodeIdentity dialerId = NodeIdentity.ephemeral("dialer");
        NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
        TestRelayClient dialer = client(r.get(0), dialerId, false);
        TestRelayClient listener = client(r.get(2), listenerId, true);
        await().atMost(WAIT).until(() -> r.get(0).mesh().hasRoute(listenerId.nodeKey()));

        dialer.send(new ClientFrame.CircuitRequest(9, listenerId.nodeKey(), "ssh"));
        RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
        assertThat(offer.source()).isEqualTo(dialerId.nodeKey());
        listener.send(new ClientFrame.CircuitAccept(offer.circuitId()));
        RelayFrame.CircuitAccepted accepted = dialer.awaitFrame(RelayFrame.CircuitAccepted.class);
        assertThat(accepted.requestId()).isEqualTo(9);

        TestRelayClient l = TestRelayClient.connect(r.get(2).address(), TestRelays.clientTls(r.get(2)), Options.circuit(Mode.UPGRADE));
        clients.add(l);
        l.send(new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));
        TestRelayClient d = TestRelayClient.connect(r.get(0).address(), TestRelays.clientTls(r.get(0)), Options.circuit(Mode.UPGRADE));
        clients.add(d);
        d.send(new ClientFrame.CircuitAttach(accepted.circuitId(), accepted.token()));
        l.awaitFrame(RelayFrame.CircuitAttached.class);
        d.awaitFrame(RelayFrame.CircuitAttached.class);

        Random rnd = new Random(7);
        byte[] up = new byte[600_000];
        byte[] down = new byte[300_001];
        rnd.nextBytes(up);
        rnd.nextBytes(down);
        for (int off = 0; off < up.length; off += 16 * 1024) {
            d.writeRaw(java.util.Arrays.copyOfRange(up, off, Math.min(up.length, off + 16 * 1024)));
        }
        for (int off = 0; off < down.length; off += 16 * 1024) {
            l.writeRaw(java.util.Arrays.copyOfRange(down, off, Math.min(down.length, off + 16 * 1024)));
        }
        await().atMost(WAIT).until(() -> l.circuitBytes().length >= up.length && d.circuitBytes().length >= down.length);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        assertThat(sha.digest(l.circuitBytes())).isEqualTo(sha.digest(up));
        assertThat(sha.digest(d.circuitBytes())).isEqualTo(sha.digest(down));
        assertThat(counter(r.get(0), "circuit_bridged")).isEqualTo(1);

        // half-close crosses both relays too
        d.shutdownOutput();
        await().atMost(WAIT).until(l::inputShutdown);
        l.writeRaw("late".getBytes(StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> new String(d.circuitBytes(), StandardCharsets.ISO_8859_1).endsWith("late"));
        l.shutdownOutput();
        d.awaitClosed();
        l.awaitClosed();
    }

    @Test
    void aKeyFileChangeIsPickedUpWithoutARestart() throws Exception {
        int p1 = freePort();
        int p2 = freePort();
        String peers = "127.0.0.1:" + p1 + ",127.0.0.1:" + p2;
        String newKey = KEY.replace('1', '9');
        Path k1 = keyFile("k1.key", KEY);
        Path k2 = keyFile("k2.key", newKey);
        RelayServer r1 = relay(p1, peers, k1, "r1");
        RelayServer r2 = relay(p2, peers, k2, "r2");
        await().atMost(WAIT).until(() -> counter(r1, "auth_failed") >= 1 && counter(r2, "auth_failed") >= 1);
        // r2's file is rewritten in place (as a Secret update does): it now proves the old key and
        // accepts both, so the two relays agree again without a restart
        Files.writeString(k2, KEY + "\n" + newKey + "\n");
        await().atMost(WAIT).until(() -> r1.mesh().linkCount() == 1 && r2.mesh().linkCount() == 1);
    }

    @Test
    void aWrongKeyIsRejectedAndABadKeyDisablesMeshing() throws Exception {
        int p1 = freePort();
        int p2 = freePort();
        String peers = "127.0.0.1:" + p1 + ",127.0.0.1:" + p2;
        RelayServer good = relay(p1, peers, keyFile("good.key", KEY), "good");
        RelayServer wrong = relay(p2, peers, keyFile("wrong.key", KEY.replace('0', '1')), "wrong");
        await().atMost(WAIT).until(() -> counter(good, "auth_failed") >= 1 && counter(wrong, "auth_failed") >= 1);
        assertThat(good.mesh().linkCount()).isZero();
        assertThat(wrong.mesh().linkCount()).isZero();

        // a truncated key, or none at all: the relay runs, unmeshed, and refuses mesh connections
        RelayServer truncated = relay(freePort(), "127.0.0.1:" + p1, keyFile("short.key", KEY.substring(1)), "short");
        assertThat(truncated.mesh()).isNull();
        RelayServer keyless = relay(freePort(), "127.0.0.1:" + p1, null, "keyless");
        assertThat(keyless.mesh()).isNull();
        RelayServer dialsTruncated = relay(freePort(), "127.0.0.1:" + truncated.address().getPort(),
                keyFile("k3.key", KEY), "dialer");
        await().atMost(WAIT).until(() -> counter(truncated, "disabled") >= 1);
        assertThat(dialsTruncated.mesh().linkCount()).isZero();
    }
}
