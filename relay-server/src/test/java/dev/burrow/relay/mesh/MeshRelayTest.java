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

    /** Starts relays on ports chosen up front (each names the others); another process may grab one first: retry. */
    interface Setup<T> {
        T start(int[] ports) throws Exception;
    }

    <T> T withPorts(int n, Setup<T> setup) throws Exception {
        for (int attempt = 1; ; attempt++) {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ports[i] = freePort();
            }
            int before = relays.size();
            try {
                return setup.start(ports);
            } catch (IOException e) {
                boolean bind = false;
                for (Throwable t = e; t != null; t = t.getCause()) {
                    bind |= t instanceof java.net.BindException;
                }
                if (!bind || attempt == 5) {
                    throw e;
                }
                while (relays.size() > before) {
                    relays.remove(relays.size() - 1).close();
                }
            }
        }
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
        TestRelayClient c =
                TestRelayClient.connect(r.address(), TestRelays.clientTls(r), Options.control(Mode.UPGRADE));
        clients.add(c);
        assertThat(c.authenticate(id, accepts)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    static double counter(RelayServer r, String event) {
        var c = r.prometheus()
                .find(RelayMetrics.MESH_EVENTS)
                .tag("event", event)
                .counter();
        return c == null ? 0 : c.count();
    }

    List<RelayServer> threeRelays() throws Exception {
        Path key = keyFile("mesh.key", KEY);
        List<RelayServer> out = withPorts(3, ports -> {
            String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
            List<RelayServer> started = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                started.add(relay(ports[i], peers, key, "relay-" + i));
            }
            return started;
        });
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
        for (RelayServer relay : r) {
            // ...and never dials that address again (the dialling side learns it from the accepting side)
            double selfMesh = counter(relay, "self_mesh");
            await().during(Duration.ofSeconds(3)).atMost(WAIT).until(() -> counter(relay, "self_mesh") == selfMesh);
        }
        NodeIdentity aliceId = NodeIdentity.ephemeral("alice");
        NodeIdentity bobId = NodeIdentity.ephemeral("bob");
        NodeIdentity carolId = NodeIdentity.ephemeral("carol");
        TestRelayClient alice = client(r.get(0), aliceId, false);
        TestRelayClient bob = client(r.get(1), bobId, false);
        TestRelayClient carol = client(r.get(2), carolId, false);
        await().atMost(WAIT)
                .until(() -> r.get(0).mesh().hasRoute(bobId.nodeKey())
                        && r.get(1).mesh().hasRoute(aliceId.nodeKey())
                        && r.get(0).mesh().hasRoute(carolId.nodeKey())
                        && r.get(2).mesh().hasRoute(bobId.nodeKey()));

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
        assertThat(new String(bob2.takeDatagram().payload(), StandardCharsets.UTF_8))
                .isEqualTo("again");
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
        await().atMost(WAIT)
                .until(() -> r.get(0).mesh().hasRoute(bobId.nodeKey())
                        && r.get(0).mesh().hasRoute(carolId.nodeKey()));
        alice.sendDatagram(bobId.nodeKey(), "x".getBytes(StandardCharsets.UTF_8)); // alice now watches bob

        r.get(1).close();
        RelayFrame.PeerGone gone = alice.awaitFrame(RelayFrame.PeerGone.class);
        assertThat(gone.peer()).isEqualTo(bobId.nodeKey());
        await().atMost(WAIT)
                .until(() -> !r.get(0).mesh().hasRoute(bobId.nodeKey())
                        && !r.get(2).mesh().hasRoute(bobId.nodeKey()));
        assertThat(counter(r.get(0), "link_down")).isGreaterThanOrEqualTo(1);

        alice.sendDatagram(carolId.nodeKey(), "still here".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(carol.takeDatagram().payload(), StandardCharsets.UTF_8))
                .isEqualTo("still here");
    }

    @Test
    void aBrokenLinkDropsItsRoutesAndTheFullPresenceIsSentAgainOnReconnect() throws Exception {
        List<RelayServer> r = threeRelays();
        NodeIdentity aliceId = NodeIdentity.ephemeral("alice");
        NodeIdentity bobId = NodeIdentity.ephemeral("bob");
        NodeIdentity carolId = NodeIdentity.ephemeral("carol");
        TestRelayClient alice = client(r.get(0), aliceId, false);
        TestRelayClient bob = client(r.get(1), bobId, false);
        await().atMost(WAIT).until(() -> r.get(0).mesh().hasRoute(bobId.nodeKey()));
        alice.sendDatagram(bobId.nodeKey(), "watch".getBytes(StandardCharsets.UTF_8));
        bob.takeDatagram();

        r.get(0).mesh().breakOutboundLinks();
        assertThat(alice.awaitFrame(RelayFrame.PeerGone.class).peer()).isEqualTo(bobId.nodeKey());
        bob.close(); // clients come and go while the link is down
        TestRelayClient carol = client(r.get(1), carolId, false);
        await().atMost(WAIT)
                .until(() -> r.get(0).mesh().linkCount() == 2 && r.get(0).mesh().hasRoute(carolId.nodeKey()));
        assertThat(r.get(0).mesh().hasRoute(bobId.nodeKey())).isFalse(); // no stale route
        alice.sendDatagram(carolId.nodeKey(), "after the break".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(carol.takeDatagram().payload(), StandardCharsets.UTF_8))
                .isEqualTo("after the break");
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

        TestRelayClient l = TestRelayClient.connect(
                r.get(2).address(), TestRelays.clientTls(r.get(2)), Options.circuit(Mode.UPGRADE));
        clients.add(l);
        l.send(new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));
        TestRelayClient d = TestRelayClient.connect(
                r.get(0).address(), TestRelays.clientTls(r.get(0)), Options.circuit(Mode.UPGRADE));
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
        await().atMost(WAIT)
                .until(() -> l.circuitBytes().length >= up.length && d.circuitBytes().length >= down.length);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        assertThat(sha.digest(l.circuitBytes())).isEqualTo(sha.digest(up));
        assertThat(sha.digest(d.circuitBytes())).isEqualTo(sha.digest(down));
        assertThat(counter(r.get(0), "circuit_bridged")).isEqualTo(1);
        // both relays count it as active (a draining relay waits for it)
        await().atMost(WAIT)
                .until(() -> r.get(0).activeCircuits() == 1 && r.get(2).activeCircuits() == 1);

        // half-close crosses both relays too
        d.shutdownOutput();
        await().atMost(WAIT).until(l::inputShutdown);
        l.writeRaw("late".getBytes(StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> new String(d.circuitBytes(), StandardCharsets.ISO_8859_1).endsWith("late"));
        l.shutdownOutput();
        d.awaitClosed();
        l.awaitClosed();
        await().atMost(WAIT)
                .until(() -> r.get(0).activeCircuits() == 0 && r.get(2).activeCircuits() == 0);
    }

    @Test
    void aDrainingDialerRelayKeepsItsCrossRelayCircuitsUntilTheyEnd() throws Exception {
        List<RelayServer> r = threeRelays();
        NodeIdentity dialerId = NodeIdentity.ephemeral("dialer");
        NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
        TestRelayClient dialer = client(r.get(0), dialerId, false);
        TestRelayClient listener = client(r.get(1), listenerId, true);
        await().atMost(WAIT).until(() -> r.get(0).mesh().hasRoute(listenerId.nodeKey()));
        dialer.send(new ClientFrame.CircuitRequest(3, listenerId.nodeKey(), "ssh"));
        RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
        listener.send(new ClientFrame.CircuitAccept(offer.circuitId()));
        RelayFrame.CircuitAccepted accepted = dialer.awaitFrame(RelayFrame.CircuitAccepted.class);
        TestRelayClient l = TestRelayClient.connect(
                r.get(1).address(), TestRelays.clientTls(r.get(1)), Options.circuit(Mode.UPGRADE));
        clients.add(l);
        l.send(new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));
        TestRelayClient d = TestRelayClient.connect(
                r.get(0).address(), TestRelays.clientTls(r.get(0)), Options.circuit(Mode.UPGRADE));
        clients.add(d);
        d.send(new ClientFrame.CircuitAttach(accepted.circuitId(), accepted.token()));
        d.awaitFrame(RelayFrame.CircuitAttached.class);

        var drained = r.get(0).drain(Duration.ofSeconds(60));
        dialer.awaitFrame(RelayFrame.Restarting.class);
        dialer.close(); // the dialer moves away; its circuit connection stays on relay 0
        await().atMost(WAIT).until(() -> r.get(0).clientCount() == 0);
        d.writeRaw("during the drain".getBytes(StandardCharsets.UTF_8));
        await().atMost(WAIT)
                .until(() -> new String(l.circuitBytes(), StandardCharsets.UTF_8).equals("during the drain"));
        assertThat(drained).isNotDone(); // the bridged circuit keeps the relay up within the grace
        d.close(); // a half-close: the other direction may still carry bytes...
        l.close(); // ...until the listener ends too
        drained.get(30, java.util.concurrent.TimeUnit.SECONDS); // the circuit ended: the drain completes
    }

    @Test
    void aKeyFileChangeIsPickedUpWithoutARestart() throws Exception {
        String newKey = KEY.replace('1', '9');
        Path k1 = keyFile("k1.key", KEY);
        Path k2 = keyFile("k2.key", newKey);
        List<RelayServer> two = withPorts(2, ports -> {
            String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
            return List.of(relay(ports[0], peers, k1, "r1"), relay(ports[1], peers, k2, "r2"));
        });
        RelayServer r1 = two.get(0);
        RelayServer r2 = two.get(1);
        await().atMost(WAIT).until(() -> counter(r1, "auth_failed") >= 1 && counter(r2, "auth_failed") >= 1);
        // r2's file is rewritten in place (as a Secret update does): it now proves the old key and
        // accepts both, so the two relays agree again without a restart
        Files.writeString(k2, KEY + "\n" + newKey + "\n");
        await().atMost(WAIT).until(() -> r1.mesh().linkCount() == 1 && r2.mesh().linkCount() == 1);
    }

    @Test
    void aWrongKeyIsRejectedAndABadKeyDisablesMeshing() throws Exception {
        Path goodKey = keyFile("good.key", KEY);
        Path wrongKey = keyFile("wrong.key", KEY.replace('0', '1'));
        List<RelayServer> two = withPorts(2, ports -> {
            String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
            return List.of(relay(ports[0], peers, goodKey, "good"), relay(ports[1], peers, wrongKey, "wrong"));
        });
        RelayServer good = two.get(0);
        RelayServer wrong = two.get(1);
        int p1 = good.address().getPort();
        await().atMost(WAIT).until(() -> counter(good, "auth_failed") >= 1 && counter(wrong, "auth_failed") >= 1);
        assertThat(good.mesh().linkCount()).isZero();
        assertThat(wrong.mesh().linkCount()).isZero();

        // a truncated key, or none at all: the relay runs, unmeshed, and refuses mesh connections
        RelayServer truncated = relay(0, "127.0.0.1:" + p1, keyFile("short.key", KEY.substring(1)), "short");
        assertThat(truncated.mesh()).isNull();
        RelayServer keyless = relay(0, "127.0.0.1:" + p1, null, "keyless");
        assertThat(keyless.mesh()).isNull();
        RelayServer dialsTruncated =
                relay(0, "127.0.0.1:" + truncated.address().getPort(), keyFile("k3.key", KEY), "dialer");
        await().atMost(WAIT).until(() -> counter(truncated, "disabled") >= 1);
        assertThat(dialsTruncated.mesh().linkCount()).isZero();
    }

    @Test
    void aSiblingThatStartsLateIsLinkedInBothDirectionsWithoutWaitingOutTheBackoff() throws Exception {
        Path key = keyFile("mesh.key", KEY);
        int[] ports = withPorts(2, p -> {
            relay(p[0], "127.0.0.1:" + p[0] + ",127.0.0.1:" + p[1], key, "early");
            return p;
        });
        RelayServer a = relays.get(0);
        java.net.InetSocketAddress bAddress =
                new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), ports[1]);
        // a has failed to reach b several times; from now on its redial waits 15-30 s
        await().atMost(WAIT).until(() -> a.mesh().dialFailures(bAddress) >= 3);
        a.mesh().backoffForTests(Duration.ofSeconds(30), Duration.ofSeconds(30));
        await().atMost(WAIT).until(() -> a.mesh().dialFailures(bAddress) >= 4);

        RelayServer b = relay(ports[1], "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1], key, "late");
        NodeIdentity bobId = NodeIdentity.ephemeral("bob");
        NodeIdentity aliceId = NodeIdentity.ephemeral("alice");
        client(b, bobId, false);
        client(a, aliceId, false);
        // well under the 15-30 s a's backoff would have taken: b dialled a, so a dialled b at once
        Duration quick = Duration.ofSeconds(10);
        await("both directions")
                .atMost(quick)
                .until(() -> a.mesh().linkCount() == 1
                        && b.mesh().linkCount() == 1
                        && a.mesh().inboundLinkCount() == 1
                        && b.mesh().inboundLinkCount() == 1);
        await("presence")
                .atMost(quick)
                .until(() -> a.mesh().hasRoute(bobId.nodeKey()) && b.mesh().hasRoute(aliceId.nodeKey()));
        assertThat(counter(a, "redial_early")).isGreaterThanOrEqualTo(1);
        assertThat(a.ready()).isTrue();
        assertThat(b.ready()).isTrue();
        // one link per direction: nothing more is dialled and nothing flaps
        await().during(Duration.ofSeconds(2))
                .atMost(WAIT)
                .until(() -> a.mesh().linkCount() == 1
                        && b.mesh().linkCount() == 1
                        && a.mesh().inboundLinkCount() == 1
                        && b.mesh().inboundLinkCount() == 1);
        assertThat(counter(a, "link_down") + counter(b, "link_down")).isZero();
    }

    @Test
    void readinessWaitsForTheFirstMeshSyncButNotForever() throws Exception {
        // a sibling that accepts TCP but never answers: the dial hangs until the handshake timeout
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Path key = keyFile("mesh.key", KEY);
            RelayServer r = relay(0, "127.0.0.1:" + silent.getLocalPort(), key, "waits");
            await().atMost(MeshManager.FIRST_SYNC_WAIT.plus(WAIT)).until(r::ready);
            assertThat(r.mesh().synced()).isTrue();
            assertThat(r.mesh().linkCount()).isZero();
        }
    }

    @Test
    void removingAKeyFromTheFileCutsOnlyTheLinksThatProvedIt() throws Exception {
        String k1 = KEY;
        String k2 = KEY.replace('1', '9');
        String k3 = KEY.replace('2', '7');
        Path f1 = keyFile("r1.key", k1);
        Path f2 = keyFile("r2.key", k1);
        try (var logs = dev.burrow.identity.testing.LogCapture.start()) {
            List<RelayServer> two = withPorts(2, ports -> {
                String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
                return List.of(relay(ports[0], peers, f1, "r1"), relay(ports[1], peers, f2, "r2"));
            });
            RelayServer r1 = two.get(0);
            RelayServer r2 = two.get(1);
            await().atMost(WAIT)
                    .until(() -> r1.mesh().linkCount() == 1
                            && r2.mesh().linkCount() == 1
                            && r1.mesh().inboundLinkCount() == 1
                            && r2.mesh().inboundLinkCount() == 1);

            // rotation steps 1 and 2: every link proved k1, which both files still hold: nothing is cut
            rewrite(List.of(r1, r2), List.of(f1, f2), k1 + "\n" + k2);
            rewrite(List.of(r1, r2), List.of(f1, f2), k2 + "\n" + k1);
            assertThat(counter(r1, "key_revoked") + counter(r2, "key_revoked")).isZero();
            assertThat(counter(r1, "link_down") + counter(r2, "link_down")).isZero();

            // step 3: k1 is gone; the four links proved k1 and are cut, then come back proving k2
            rewrite(List.of(r1, r2), List.of(f1, f2), k2);
            await().atMost(WAIT).until(() -> counter(r1, "key_revoked") + counter(r2, "key_revoked") >= 2);
            await().atMost(WAIT)
                    .until(() -> r1.mesh().linkCount() == 1
                            && r2.mesh().linkCount() == 1
                            && r1.mesh().inboundLinkCount() == 1
                            && r2.mesh().inboundLinkCount() == 1
                            && counter(r1, "auth_ok") >= 4
                            && counter(r2, "auth_ok") >= 4);
            await().atMost(WAIT).until(() -> counter(r1, "link_down") + counter(r2, "link_down") >= 4);
            double revoked = counter(r1, "key_revoked") + counter(r2, "key_revoked");
            double down = counter(r1, "link_down") + counter(r2, "link_down");

            // a key added later cuts nothing: the links proved k2, which is still accepted
            rewrite(List.of(r1, r2), List.of(f1, f2), k2 + "\n" + k3);
            assertThat(counter(r1, "key_revoked") + counter(r2, "key_revoked")).isEqualTo(revoked);
            assertThat(counter(r1, "link_down") + counter(r2, "link_down")).isEqualTo(down);
            assertThat(r1.mesh().linkCount() + r2.mesh().linkCount()).isEqualTo(2);
            assertThat(logs.text())
                    .contains("event=mesh_link_key_revoked")
                    .doesNotContainIgnoringCase(k1)
                    .doesNotContainIgnoringCase(k2)
                    .doesNotContainIgnoringCase(k3);
        }
    }

    /** Rewrites key files in place (as a Secret update does) and waits until each relay reloaded. */
    private static void rewrite(List<RelayServer> rs, List<Path> files, String content) throws Exception {
        long[] before = new long[rs.size()];
        for (int i = 0; i < rs.size(); i++) {
            before[i] = rs.get(i).mesh().keyReloads();
            Files.writeString(files.get(i), content + "\n");
        }
        for (int i = 0; i < rs.size(); i++) {
            RelayServer r = rs.get(i);
            long b = before[i];
            await("key reload").atMost(WAIT).until(() -> r.mesh().keyReloads() > b);
        }
    }
}
