package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pooled circuit connections between two relays meshed in one JVM on loopback: a cross-relay circuit
 * takes a pre-opened plain connection (or a TLS one with {@code mesh.circuit-tls}, or when the
 * sibling takes no plain ones), opens one when the pool is exhausted, survives killed pooled
 * connections, and the pool is replaced on key reload and closed on link loss. Every circuit moves
 * random bytes both ways, checked by SHA-256.
 */
class MeshCircuitPoolTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final String KEY = MeshRelayTest.KEY;

    @TempDir
    Path tmp;

    final List<RelayServer> relays = new ArrayList<>();
    final List<TestRelayClient> clients = new ArrayList<>();
    int requestIds;

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

    /** Two meshed relays; {@code extra[i]} settings for relay i. Retries when a chosen port was taken. */
    List<RelayServer> twoRelays(Path key, Map<String, String> extra0, Map<String, String> extra1) throws Exception {
        for (int attempt = 1; ; attempt++) {
            int[] ports = {freePort(), freePort()};
            String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
            try {
                RelayServer r0 = relay(ports[0], peers, key, "r0", extra0);
                RelayServer r1 = relay(ports[1], peers, key, "r1", extra1);
                await("mesh links")
                        .atMost(WAIT)
                        .until(() -> r0.mesh().linkCount() == 1 && r1.mesh().linkCount() == 1);
                return List.of(r0, r1);
            } catch (IOException e) {
                if (attempt == 5) {
                    throw e;
                }
                relays.forEach(RelayServer::close);
                relays.clear();
            }
        }
    }

    RelayServer relay(int port, String peers, Path key, String id, Map<String, String> extra) throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put("listen", "127.0.0.1:" + port);
        m.put("relay-id", id);
        m.put("mesh.peers", peers);
        m.put("mesh.resolve-interval", "1s");
        m.put("mesh.key-file", key.toString());
        m.putAll(extra);
        RelayServer r = TestRelays.start(m);
        relays.add(r);
        return r;
    }

    Path keyFile(String content) throws IOException {
        Path f = tmp.resolve("mesh.key");
        Files.writeString(f, content + "\n");
        return f;
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

    /** A dialer on {@code rd}, a listener on {@code rl}: control connections, ready for circuits. */
    record Pair(TestRelayClient dialer, TestRelayClient listener, NodeIdentity listenerId) {}

    Pair pair(RelayServer rd, RelayServer rl) throws Exception {
        NodeIdentity dialerId = NodeIdentity.ephemeral("dialer");
        NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
        TestRelayClient dialer = client(rd, dialerId, false);
        TestRelayClient listener = client(rl, listenerId, true);
        await().atMost(WAIT).until(() -> rd.mesh().hasRoute(listenerId.nodeKey()));
        return new Pair(dialer, listener, listenerId);
    }

    /** One circuit from rd's dialer to rl's listener; random bytes both ways, compared by SHA-256. */
    void circuit(RelayServer rd, RelayServer rl, Pair p) throws Exception {
        int id = ++requestIds;
        p.dialer().send(new ClientFrame.CircuitRequest(id, p.listenerId().nodeKey(), "ssh"));
        RelayFrame.CircuitOffer offer = p.listener().awaitFrame(RelayFrame.CircuitOffer.class);
        p.listener().send(new ClientFrame.CircuitAccept(offer.circuitId()));
        RelayFrame.CircuitAccepted accepted = p.dialer().awaitFrame(RelayFrame.CircuitAccepted.class);
        assertThat(accepted.requestId()).isEqualTo(id);

        TestRelayClient l =
                TestRelayClient.connect(rl.address(), TestRelays.clientTls(rl), Options.circuit(Mode.UPGRADE));
        clients.add(l);
        l.send(new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));
        TestRelayClient d =
                TestRelayClient.connect(rd.address(), TestRelays.clientTls(rd), Options.circuit(Mode.UPGRADE));
        clients.add(d);
        d.send(new ClientFrame.CircuitAttach(accepted.circuitId(), accepted.token()));
        l.awaitFrame(RelayFrame.CircuitAttached.class);
        d.awaitFrame(RelayFrame.CircuitAttached.class);

        Random rnd = new Random(id);
        byte[] up = new byte[200_000 + id];
        byte[] down = new byte[100_000 + id];
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
        d.close();
        l.close();
    }

    static boolean allPlain(Set<Channel> chs) {
        return chs.stream().allMatch(c -> c.pipeline().get(SslHandler.class) == null);
    }

    static boolean allTls(Set<Channel> chs) {
        return chs.stream().allMatch(c -> c.pipeline().get(SslHandler.class) != null);
    }

    @Test
    void aCrossRelayCircuitTakesAPooledPlainConnectionAndThePoolRefills() throws Exception {
        List<RelayServer> r = twoRelays(keyFile(KEY), Map.of(), Map.of());
        RelayServer r0 = r.get(0);
        RelayServer r1 = r.get(1);
        await("pool filled")
                .atMost(WAIT)
                .until(() -> r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING
                        && r1.mesh().acceptedPooled().size() == MeshCircuitPool.IDLE_PER_SIBLING);
        assertThat(r0.mesh().poolMode(r1.address())).isEqualTo(MeshCircuitPool.Mode.PLAIN);
        assertThat(allPlain(r1.mesh().acceptedPooled()))
                .as("plain TCP between relays")
                .isTrue();
        double authBefore = counter(r1, "auth_ok");

        Pair p = pair(r0, r1);
        for (int i = 0; i < 3; i++) {
            circuit(r0, r1, p);
        }
        assertThat(counter(r0, "circuit_pool_taken")).isEqualTo(3);
        assertThat(counter(r0, "circuit_pool_empty")).isZero();
        assertThat(counter(r0, "circuit_bridged")).isEqualTo(3);
        assertThat(counter(r1, "circuit_bind_refused")).isZero();
        // the pool refills behind the circuits (three new handshakes, none on a circuit's path)
        await().atMost(WAIT).until(() -> r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING);
        await().atMost(WAIT).until(() -> counter(r1, "auth_ok") >= authBefore + 3);

        // and the other direction too (r1's pool to r0)
        Pair back = pair(r1, r0);
        circuit(r1, r0, back);
        assertThat(counter(r1, "circuit_pool_taken")).isEqualTo(1);
    }

    @Test
    void withCircuitTlsThePoolUsesRelayTls() throws Exception {
        List<RelayServer> r = twoRelays(keyFile(KEY), Map.of("mesh.circuit-tls", "true"), Map.of());
        RelayServer r0 = r.get(0);
        RelayServer r1 = r.get(1);
        await().atMost(WAIT).until(() -> r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING);
        assertThat(r0.mesh().poolMode(r1.address())).isEqualTo(MeshCircuitPool.Mode.TLS);
        // r0 dials TLS ones to r1; r1 (default) dials plain ones to r0
        await().atMost(WAIT).until(() -> r0.mesh().acceptedPooled().size() == MeshCircuitPool.IDLE_PER_SIBLING);
        assertThat(allPlain(r0.mesh().acceptedPooled())).isTrue();
        await().atMost(WAIT).until(() -> r1.mesh().acceptedPooled().size() == MeshCircuitPool.IDLE_PER_SIBLING);
        assertThat(allTls(r1.mesh().acceptedPooled())).isTrue();

        circuit(r0, r1, pair(r0, r1));
        assertThat(counter(r0, "circuit_pool_taken")).isEqualTo(1);
    }

    @Test
    void aSiblingThatTakesNoPlainCircuitsGetsTlsPooledConnections() throws Exception {
        List<RelayServer> r = twoRelays(keyFile(KEY), Map.of(), Map.of("tls.plain-circuits", "false"));
        RelayServer r0 = r.get(0);
        RelayServer r1 = r.get(1);
        await().atMost(WAIT).until(() -> r0.mesh().poolMode(r1.address()) == MeshCircuitPool.Mode.TLS);
        await().atMost(WAIT).until(() -> r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING);
        assertThat(counter(r0, "circuit_pool_fallback")).isEqualTo(1);
        assertThat(allTls(r1.mesh().acceptedPooled())).isTrue();
        circuit(r0, r1, pair(r0, r1));
        assertThat(counter(r0, "circuit_pool_taken")).isEqualTo(1);
        // r1 itself still dials plain ones to r0 (r0 takes them)
        assertThat(r1.mesh().poolMode(r0.address())).isEqualTo(MeshCircuitPool.Mode.PLAIN);
    }

    @Test
    void aSiblingWithoutPooledConnectionsGetsOneTlsConnectionWithCircuitAttachPerCircuit() throws Exception {
        List<RelayServer> r = twoRelays(keyFile(KEY), Map.of(), Map.of());
        RelayServer r0 = r.get(0);
        RelayServer r1 = r.get(1);
        Pair p = pair(r0, r1);
        // what r0 does for a sibling of an older version (purpose 3 refused): the protocol before pools
        r0.mesh().forcePoolModeForTests(r1.address(), MeshCircuitPool.Mode.NONE);
        await().atMost(WAIT).until(() -> r1.mesh().acceptedPooled().isEmpty());
        assertThat(r0.mesh().pooledIdle(r1.address())).isZero();

        circuit(r0, r1, p);
        circuit(r0, r1, p);
        assertThat(counter(r0, "circuit_bridged")).isEqualTo(2);
        assertThat(counter(r0, "circuit_pool_taken") + counter(r0, "circuit_pool_empty"))
                .isZero();
        assertThat(counter(r1, "circuit_bind_refused") + counter(r1, "protocol_error"))
                .isZero();
        assertThat(r0.mesh().pooledIdle(r1.address()))
                .as("no pool for such a sibling")
                .isZero();
    }

    @Test
    void anExhaustedPoolOpensAConnectionForTheCircuit() throws Exception {
        List<RelayServer> r = twoRelays(keyFile(KEY), Map.of(), Map.of());
        RelayServer r0 = r.get(0);
        RelayServer r1 = r.get(1);
        Pair p = pair(r0, r1);
        r0.mesh().exhaustPoolsForTests(true);
        assertThat(r0.mesh().pooledIdle(r1.address())).isZero();

        circuit(r0, r1, p);
        circuit(r0, r1, p);
        assertThat(counter(r0, "circuit_pool_empty")).isEqualTo(2);
        assertThat(counter(r0, "circuit_pool_taken")).isZero();
        assertThat(counter(r0, "circuit_bridged")).isEqualTo(2);

        r0.mesh().exhaustPoolsForTests(false);
        await().atMost(WAIT).until(() -> r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING);
        circuit(r0, r1, p);
        assertThat(counter(r0, "circuit_pool_taken")).isEqualTo(1);
    }

    @Test
    void pooledConnectionsKilledOnTheFarSideAreNoticedAndReplaced() throws Exception {
        List<RelayServer> r = twoRelays(keyFile(KEY), Map.of(), Map.of());
        RelayServer r0 = r.get(0);
        RelayServer r1 = r.get(1);
        Pair p = pair(r0, r1);
        await().atMost(WAIT).until(() -> r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING);

        // the listener's relay drops every pooled connection (as a crashed worker or a conntrack flush would)
        Set<Channel> killed = r1.mesh().acceptedPooled();
        killed.forEach(Channel::close);
        // a circuit right away: whatever it takes (a dead one is replaced once, or a fresh one) works
        circuit(r0, r1, p);
        await().atMost(WAIT)
                .until(() -> r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING
                        && r1.mesh().acceptedPooled().stream().noneMatch(killed::contains));
        circuit(r0, r1, p);
        assertThat(counter(r0, "circuit_bridged")).isEqualTo(2);
        assertThat(counter(r0, "circuit_failed")).isZero();
        assertThat(r0.mesh().linkCount()).as("the link is untouched").isEqualTo(1);
    }

    @Test
    void aKeyReloadReplacesThePoolAndLinkLossClosesIt() throws Exception {
        Path key = keyFile(KEY);
        List<RelayServer> r = twoRelays(key, Map.of(), Map.of());
        RelayServer r0 = r.get(0);
        RelayServer r1 = r.get(1);
        Pair p = pair(r0, r1);
        await().atMost(WAIT).until(() -> r1.mesh().acceptedPooled().size() == MeshCircuitPool.IDLE_PER_SIBLING);
        Set<Channel> before = r1.mesh().acceptedPooled();

        // rotation step 1 on both: the old key still accepted, but every pooled connection is replaced
        String next = KEY.replace('1', '9');
        long reloads0 = r0.mesh().keyReloads();
        long reloads1 = r1.mesh().keyReloads();
        Files.writeString(key, KEY + "\n" + next + "\n");
        await().atMost(WAIT)
                .until(() -> r0.mesh().keyReloads() > reloads0 && r1.mesh().keyReloads() > reloads1);
        await().atMost(WAIT)
                .until(() -> before.stream().noneMatch(Channel::isOpen)
                        && r1.mesh().acceptedPooled().size() == MeshCircuitPool.IDLE_PER_SIBLING);
        circuit(r0, r1, p);

        // link loss: r0's pool to r1 goes with its link, and comes back with it
        Set<Channel> beforeLoss = Set.copyOf(r1.mesh().acceptedPooled());
        r0.mesh().backoffForTests(Duration.ofMillis(50), Duration.ofMillis(200));
        r0.mesh().breakOutboundLinks();
        await().atMost(WAIT).until(() -> beforeLoss.stream().noneMatch(Channel::isOpen));
        await().atMost(WAIT)
                .until(() -> r0.mesh().linkCount() == 1
                        && r0.mesh().pooledIdle(r1.address()) == MeshCircuitPool.IDLE_PER_SIBLING);
        circuit(r0, r1, p);
        assertThat(counter(r0, "circuit_bridged")).isEqualTo(2);
    }

    /** Opens plain TCP to {@code r}'s public port and upgrades to the mesh protocol; the 101 is read. */
    static java.net.Socket plainMeshUpgrade(RelayServer r) throws Exception {
        java.net.Socket s =
                new java.net.Socket(r.address().getAddress(), r.address().getPort());
        s.setSoTimeout(20_000);
        s.getOutputStream()
                .write(
                        ("GET /v1/mesh HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: burrow-mesh-v1\r\n\r\n")
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = s.getInputStream().read();
            assertThat(b).as("response to the upgrade").isNotNegative();
            head.append((char) b);
        }
        assertThat(head.toString()).startsWith("HTTP/1.1 101");
        return s;
    }

    static void send(java.net.Socket s, MeshFrame f) throws Exception {
        io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer();
        MeshCodec.encode(f, b);
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        b.release();
        s.getOutputStream().write(bytes);
        s.getOutputStream().flush();
    }

    /** Reads until the relay closes the connection (bounded by the socket timeout). */
    static void awaitClosedByRelay(java.net.Socket s) throws Exception {
        byte[] buf = new byte[4096];
        while (s.getInputStream().read(buf) >= 0) {
            // the acceptor's HELLO and AUTH, then nothing
        }
    }

    static MeshFrame.Hello hello(MeshProtocol.Purpose purpose) {
        byte[] instance = new byte[16];
        byte[] nonce = new byte[32];
        new java.security.SecureRandom().nextBytes(instance);
        new java.security.SecureRandom().nextBytes(nonce);
        return new MeshFrame.Hello(MeshProtocol.VERSION, purpose, instance, nonce, "outsider");
    }

    @Test
    void anOutsiderOnPlainTcpCanNeitherLinkNorJoinACircuit() throws Exception {
        List<RelayServer> r = twoRelays(keyFile(KEY), Map.of(), Map.of());
        RelayServer r1 = r.get(1);
        double protocolErrors = counter(r1, "protocol_error");
        double authFailed = counter(r1, "auth_failed");

        // a link (presence, names, circuit tokens) or a token-carrying circuit needs TLS
        for (MeshProtocol.Purpose purpose : List.of(MeshProtocol.Purpose.LINK, MeshProtocol.Purpose.CIRCUIT)) {
            try (java.net.Socket s = plainMeshUpgrade(r1)) {
                send(s, hello(purpose));
                awaitClosedByRelay(s);
            }
        }
        assertThat(counter(r1, "protocol_error")).isEqualTo(protocolErrors + 2);

        // a pooled circuit connection is allowed, but without the key AUTH fails
        try (java.net.Socket s = plainMeshUpgrade(r1)) {
            send(s, hello(MeshProtocol.Purpose.POOLED_CIRCUIT));
            send(s, new MeshFrame.Auth(new byte[32]));
            awaitClosedByRelay(s);
        }
        assertThat(counter(r1, "auth_failed")).isEqualTo(authFailed + 1);

        // and a CIRCUIT_BIND before AUTH is refused by the decoder
        try (java.net.Socket s = plainMeshUpgrade(r1)) {
            send(s, hello(MeshProtocol.Purpose.POOLED_CIRCUIT));
            send(s, new MeshFrame.CircuitBind(dev.burrow.protocol.frame.CircuitId.of(new byte[16]), new byte[32]));
            awaitClosedByRelay(s);
        }
        assertThat(counter(r1, "circuit_bind_refused")).isZero();
    }
}
