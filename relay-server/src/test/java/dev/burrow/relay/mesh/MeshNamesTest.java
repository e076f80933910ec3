package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certified names across the mesh, on real relays in one JVM: a name verified by one relay resolves
 * on its sibling (local clients first), the circuit to the resolved key crosses the mesh, and the
 * name goes when its node leaves or the link breaks. A sibling that names nodes it never announced,
 * or sends a malformed NAMES frame, loses its link with a counter moving (a hand-driven link into a
 * real relay's mesh).
 */
class MeshNamesTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final String KEY = MeshRelayTest.KEY;

    @TempDir
    Path tmp;

    TestIdentities ids;
    final List<RelayServer> relays = new ArrayList<>();
    final List<TestRelayClient> clients = new ArrayList<>();
    final AtomicLong requestIds = new AtomicLong(1);

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

    RelayServer relay(int port, String peers, String id) throws Exception {
        Path key = tmp.resolve("mesh.key");
        if (!Files.exists(key)) {
            Files.writeString(key, KEY + "\n");
        }
        Map<String, String> m = new HashMap<>();
        m.put("listen", "127.0.0.1:" + port);
        m.put("relay-id", id);
        m.put("mesh.peers", peers);
        m.put("mesh.resolve-interval", "1s");
        m.put("mesh.key-file", key.toString());
        RelayServer r =
                TestRelays.startWith(RelayServer.builder(TestRelays.config(m)).verifier(ids.verifier()));
        relays.add(r);
        return r;
    }

    /** Two meshed relays trusting one fleet CA (ports chosen up front; retried when one was taken meanwhile). */
    List<RelayServer> twoRelays() throws Exception {
        ids = TestIdentities.create(tmp.resolve("fleet"));
        for (int attempt = 1; ; attempt++) {
            int p0 = freePort();
            int p1 = freePort();
            String peers = "127.0.0.1:" + p0 + ",127.0.0.1:" + p1;
            try {
                RelayServer r0 = relay(p0, peers, "names-0");
                RelayServer r1 = relay(p1, peers, "names-1");
                await("mesh links")
                        .atMost(WAIT)
                        .until(() -> r0.mesh().linkCount() == 1 && r1.mesh().linkCount() == 1);
                return List.of(r0, r1);
            } catch (IOException e) {
                relays.forEach(RelayServer::close);
                relays.clear();
                if (attempt == 5) {
                    throw e;
                }
            }
        }
    }

    TestRelayClient client(RelayServer r, NodeIdentity id, boolean accepts) {
        TestRelayClient c;
        try {
            c = TestRelayClient.connect(r.address(), TestRelays.clientTls(r), Options.control(Mode.UPGRADE));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        clients.add(c);
        assertThat(c.authenticate(id, accepts, true)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    /** A CA-issued identity with {@code name} and its own key (several may share a name). */
    NodeIdentity named(String dir, String name) throws IOException {
        NodeIdentity id = NodeIdentity.loadOrCreate(tmp.resolve("nodes").resolve(dir), name, Clock.systemUTC());
        X509Certificate cert = ids.ca().issue(id.nodeKey(), name, Set.of(), Duration.ofDays(1));
        id.installCertificate(ids.ca().chainFor(cert));
        return id;
    }

    List<NodeKey> lookup(TestRelayClient c, String name) {
        long id = requestIds.getAndIncrement();
        c.send(new ClientFrame.LookupName(id, name));
        return await().atMost(WAIT)
                .until(
                        () -> c.frames().stream()
                                .filter(f -> f instanceof RelayFrame.NameResult r && r.requestId() == id)
                                .map(f -> ((RelayFrame.NameResult) f).keys())
                                .findFirst()
                                .orElse(null),
                        k -> k != null);
    }

    static double counter(RelayServer r, String event) {
        var c = r.prometheus()
                .find(RelayMetrics.MESH_EVENTS)
                .tag("event", event)
                .counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void aNameVerifiedByOneRelayResolvesOnItsSiblingAndGoesWithItsNode() throws Exception {
        List<RelayServer> r = twoRelays();
        NodeIdentity alice = ids.node("alice");
        TestRelayClient asker = client(r.get(0), TestIdentities.ephemeral("asker"), false);
        TestRelayClient a = client(r.get(1), alice, true);
        client(r.get(1), TestIdentities.ephemeral("mallory"), false); // a self-signed claim is never announced

        await("alice's name on relay 0")
                .atMost(WAIT)
                .until(() -> lookup(asker, "alice").equals(List.of(alice.nodeKey())));
        assertThat(lookup(asker, "mallory")).isEmpty();
        assertThat(counter(r.get(0), "names_received")).isGreaterThanOrEqualTo(1);
        assertThat(r.get(0).prometheus().get(RelayMetrics.MESH_NAMES).gauge().value())
                .as("names gauge")
                .isEqualTo(1);

        // the circuit to the resolved key crosses the mesh as any other
        asker.send(new ClientFrame.CircuitRequest(77, lookup(asker, "alice").get(0), "web"));
        RelayFrame.CircuitOffer offer = a.awaitFrame(RelayFrame.CircuitOffer.class);
        assertThat(offer.service()).isEqualTo("web");

        // local clients come first, then the mesh's, distinct
        NodeIdentity localAlice = named("alice-local", "alice");
        client(r.get(0), localAlice, false);
        assertThat(lookup(asker, "alice")).containsExactly(localAlice.nodeKey(), alice.nodeKey());

        // alice leaves relay 1: her name goes on relay 0 too (with her route)
        a.close();
        await("alice's name dropped")
                .atMost(WAIT)
                .until(() -> lookup(asker, "alice").equals(List.of(localAlice.nodeKey())));
        assertThat(r.get(0).mesh().meshNameCount()).isZero();
        assertThat(r.get(0).prometheus().get(RelayMetrics.MESH_NAMES).gauge().value())
                .isZero();

        // she comes back: announced again; then the link breaks and the full state is sent again
        client(r.get(1), alice, true);
        await().atMost(WAIT).until(() -> r.get(0).mesh().lookupName("alice").equals(List.of(alice.nodeKey())));
        r.get(0).mesh().breakOutboundLinks();
        await("relinked")
                .atMost(WAIT)
                .until(() -> counter(r.get(0), "link_down") >= 1
                        && r.get(0).mesh().linkCount() == 1
                        && r.get(0).mesh().lookupName("alice").equals(List.of(alice.nodeKey())));

        // relay 1 goes away for good: the names learned over its link go with it
        r.get(1).close();
        await("names of a lost sibling dropped")
                .atMost(WAIT)
                .until(() -> r.get(0).mesh().meshNameCount() == 0);
        assertThat(lookup(asker, "alice")).containsExactly(localAlice.nodeKey());
    }

    @Test
    void aReplacementConnectionWithAnotherNameRenamesItOnTheSibling() throws Exception {
        List<RelayServer> r = twoRelays();
        NodeIdentity node = named("mover", "first-name");
        TestRelayClient first = client(r.get(1), node, false);
        await().atMost(WAIT)
                .until(() -> r.get(0).mesh().lookupName("first-name").equals(List.of(node.nodeKey())));
        // the node re-enrolled under another name and reconnects with the same key: the new connection replaces the old
        X509Certificate cert = ids.ca().issue(node.nodeKey(), "second-name", Set.of(), Duration.ofDays(1));
        node.installCertificate(ids.ca().chainFor(cert));
        client(r.get(1), node, false);
        first.awaitClosed();
        await("renamed on the sibling")
                .atMost(WAIT)
                .until(() -> r.get(0).mesh().lookupName("second-name").equals(List.of(node.nodeKey()))
                        && r.get(0).mesh().lookupName("first-name").isEmpty());
        // and to no name at all (a self-signed certificate): cleared on the sibling, still routed
        java.security.KeyPair kp = new java.security.KeyPair(node.publicKey(), node.privateKey());
        java.time.Instant now = java.time.Instant.now();
        X509Certificate self = dev.burrow.identity.NodeCertificate.selfSigned(
                node.nodeKey(),
                node.privateKey(),
                "second-name",
                Set.of(),
                now.minus(Duration.ofMinutes(5)),
                now.plus(Duration.ofDays(1)));
        client(r.get(1), NodeIdentity.inMemory(kp, List.of(self)), false);
        await("cleared on the sibling").atMost(WAIT).until(() -> r.get(0).mesh().meshNameCount() == 0);
        assertThat(r.get(0).mesh().hasRoute(node.nodeKey())).isTrue();
    }

    /** A link into {@code r}'s mesh driven by hand, as if {@code r} had dialled a sibling that speaks through {@code ch}. */
    static MeshLink fakeSibling(RelayServer r, EmbeddedChannel ch) {
        MeshLink link = new MeshLink(r.mesh(), ch, true, "fake-sibling", null);
        ch.pipeline().addLast(link);
        return link;
    }

    @Test
    void aSiblingThatNamesNodesItNeverAnnouncedOrSendsMalformedNamesLosesItsLink() throws Exception {
        ids = TestIdentities.create(tmp.resolve("fleet"));
        int port = freePort();
        RelayServer r =
                relay(port, "127.0.0.1:" + port, "lonely"); // its only peer is itself: the mesh runs, with no sibling
        TestRelayClient asker = client(r, TestIdentities.ephemeral("asker"), false);
        NodeKey ghost = TestIdentities.randomNodeKey();
        NodeKey stranger = TestIdentities.randomNodeKey();

        EmbeddedChannel ch = new EmbeddedChannel();
        fakeSibling(r, ch);
        ch.writeInbound(new MeshFrame.Present(List.of(ghost)));
        ch.writeInbound(new MeshFrame.Names(List.of(new MeshFrame.Named(ghost, "ghost"))));
        assertThat(lookup(asker, "ghost")).containsExactly(ghost);

        // a name for a node this sibling never announced: refused before it is stored, link reset
        ch.writeInbound(new MeshFrame.Names(List.of(new MeshFrame.Named(stranger, "stranger"))));
        assertThat(ch.isActive()).isFalse();
        assertThat(counter(r, "names_refused")).isEqualTo(1);
        assertThat(lookup(asker, "stranger")).isEmpty();
        assertThat(lookup(asker, "ghost")).isEmpty(); // everything learned over the link went with it
        assertThat(r.mesh().meshNameCount()).isZero();
        ch.finishAndReleaseAll();

        // a NAMES frame announcing more entries than a frame may hold: the decoder refuses it on the count
        MeshFrameDecoder decoder = new MeshFrameDecoder();
        EmbeddedChannel raw = new EmbeddedChannel(decoder);
        decoder.authenticated();
        fakeSibling(r, raw);
        double before = counter(r, "protocol_error");
        ByteBuf bad = Unpooled.buffer();
        bad.writeByte(MeshFrameType.NAMES.code())
                .writeInt(2 + NodeKey.LENGTH + 1)
                .writeShort(MeshProtocol.MAX_NAMES_PER_FRAME + 1)
                .writeBytes(ghost.bytes())
                .writeByte(0);
        raw.writeInbound(bad);
        assertThat(raw.isActive()).isFalse();
        assertThat(counter(r, "protocol_error")).isEqualTo(before + 1);
        raw.finishAndReleaseAll();

        // the relay itself is unaffected
        assertThat(lookup(asker, "nobody")).isEmpty();
    }
}
