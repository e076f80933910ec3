package dev.burrow.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.forward.PeerStreamDialer;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.MicrometerAgentMetrics;
import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.path.RelayCircuitPath;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientConfig;
import dev.burrow.agent.relay.RelayClientMetrics;
import dev.burrow.agent.relay.RelayConnectionState;
import dev.burrow.agent.relay.RelayTrust;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.InboundStreamGate;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.session.RelaySession;
import dev.burrow.agent.session.RelaySessions;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.transport.Transport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Relay sessions with a real relay and two agents' relay parts in this JVM, on real sockets: many
 * forwarded connections over one relay circuit, the gate refusing one stream while the others go
 * on, half-close both ways, a session that dies under its streams, a bulk stream whose reader is
 * stalled next to an interactive one, and a peer without sessions (an older agent).
 */
class RelaySessionRelayTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    RelayServer relay;
    EventLoopGroup group;
    ExecutorService pool;
    NodeIdentity alice;
    NodeIdentity bob;
    NodeIdentity carol;
    final List<AutoCloseable> closeables = new ArrayList<>();
    final LinkedBlockingQueue<String> greetReceived = new LinkedBlockingQueue<>();
    int echoPort;
    int greetPort;
    int bulkPort;
    int resetPort;

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("session-test", true));
        pool = Executors.newCachedThreadPool();
        relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                        "listen", "127.0.0.1:0",
                        "admin-listen", "off",
                        "tls.mode", "dev",
                        "tls.dev-dir", tmp.resolve("relay").toString(),
                        "auth.mode", "open",
                        "transport", "nio",
                        "limits.ip-connect-rate", "100000",
                        "limits.ip-connect-burst", "100000")))
                .transport(Transport.nio())
                .build()
                .start();
        // self-signed nodes (the relay admits any valid key), as agents without a fleet CA
        alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"), "alice", Clock.systemUTC());
        bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
        carol = NodeIdentity.loadOrCreate(tmp.resolve("carol"), "carol", Clock.systemUTC());
        echoPort = target(this::echo);
        greetPort = target(this::greet);
        bulkPort = target(this::bulk);
        resetPort = target(this::resetAfterOneMiB);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        pool.shutdownNow();
        if (relay != null) {
            relay.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    // ------------------------------------------------------------------ targets

    interface Conn {
        void serve(Socket s) throws IOException;
    }

    int target(Conn c) throws IOException {
        ServerSocket ss = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        closeables.add(ss);
        pool.submit(() -> {
            while (!ss.isClosed()) {
                Socket s;
                try {
                    s = ss.accept();
                } catch (IOException e) {
                    return null;
                }
                closeables.add(s);
                pool.submit(() -> {
                    try (s) {
                        c.serve(s);
                    } catch (IOException ignored) {
                        // the peer went away
                    }
                    return null;
                });
            }
            return null;
        });
        return ss.getLocalPort();
    }

    /** Echoes until EOF, then ends its direction (half-close). */
    void echo(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] buf = new byte[16384];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
            out.flush();
        }
        s.shutdownOutput();
    }

    /** Server-first: says hello and ends its direction, then reads the client's words to EOF. */
    void greet(Socket s) throws IOException {
        s.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        s.shutdownOutput();
        greetReceived.add(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
    }

    /** Writes 256 MiB (blocks while the client does not read). */
    void bulk(Socket s) throws IOException {
        byte[] chunk = new byte[65536];
        OutputStream out = s.getOutputStream();
        for (int i = 0; i < 4096; i++) {
            out.write(chunk);
        }
    }

    /** Reads 1 MiB of an upload, then resets the connection (RST) while the client still sends. */
    void resetAfterOneMiB(Socket s) throws IOException {
        byte[] buf = new byte[65536];
        InputStream in = s.getInputStream();
        long got = 0;
        int n;
        while (got < (1 << 20) && (n = in.read(buf)) > 0) {
            got += n;
        }
        s.setSoLinger(true, 0);
    }

    // ------------------------------------------------------------------ agents

    /** The relay parts of an agent: relay client, circuits, gate, sessions, dialer. */
    final class Side implements AutoCloseable {
        final NodeIdentity id;
        final RelayClient client;
        final RelayCircuitPath circuits;
        final RelaySessions sessions;
        final PeerStreamDialer dialer;
        final boolean sessionsOn;
        final SimpleMeterRegistry meters = new SimpleMeterRegistry();

        Side(NodeIdentity id, List<ExposedService> services, boolean sessionsOn) throws Exception {
            this.id = id;
            this.sessionsOn = sessionsOn;
            NodeVerifier verifier = NodeVerifier.builder().build();
            AgentMetrics metrics = new MicrometerAgentMetrics(meters);
            client = new RelayClient(
                    RelayClientConfig.builder(
                                    URI.create("https://127.0.0.1:"
                                            + relay.address().getPort()),
                                    RelayTrust.pinned(relay.tlsFingerprint()),
                                    id)
                            .acceptsCircuits(true)
                            .transport(Transport.nio())
                            .build(),
                    RelayClientMetrics.NOOP,
                    group);
            client.start();
            circuits = new RelayCircuitPath(client);
            ServiceRegistry registry = new ServiceRegistry();
            registry.replaceAll(services);
            InboundStreamGate gate = new InboundStreamGate(
                    id, verifier, registry, Transport.nio(), metrics, new ActiveStreams(), new RecentRefusals());
            circuits.acceptInto(gate);
            sessions = new RelaySessions(circuits, id, verifier, metrics);
            sessions.admitOnly(
                    p -> registry.all().stream().anyMatch(s -> s.allow().admits(p)));
            if (sessionsOn) {
                sessions.start(gate, Set::of, group.next());
            }
            dialer = new PeerStreamDialer(id, verifier);
            closeables.add(this);
            await("relay connection of " + id.nodeKey().shortId())
                    .atMost(WAIT)
                    .until(() -> client.state() == RelayConnectionState.CONNECTED);
        }

        int forward(NodeKey peer, String service) throws Exception {
            ForwardListener f = new ForwardListener(
                    new ForwardSpec("127.0.0.1", 0, peer, "peer", service),
                    PathSelector.only(sessionsOn ? sessions.path() : circuits),
                    dialer,
                    group,
                    Transport.nio(),
                    AgentMetrics.NOOP,
                    new ActiveStreams(),
                    new RecentRefusals(),
                    Duration.ofMinutes(5),
                    1000);
            closeables.add(f::close);
            return f.start().get(30, TimeUnit.SECONDS).getPort();
        }

        double counter(String name, String tag, String value) {
            var c = meters.find(name).tag(tag, value).counter();
            return c == null ? 0 : c.count();
        }

        @Override
        public void close() {
            sessions.close();
            client.close();
        }
    }

    ExposedService service(String name, int port, NodeKey allowed) {
        return new ExposedService(
                name,
                TargetPolicy.of(TargetSpec.parse("127.0.0.1:" + port)),
                AllowList.parse(List.of("node:" + allowed.nodeId())),
                1000,
                1000,
                Duration.ofMinutes(5),
                ProxyProtocol.OFF,
                null,
                ServiceProtocol.TCP);
    }

    Side aliceSide(boolean sessionsOn) throws Exception {
        NodeKey b = bob.nodeKey();
        return new Side(
                alice,
                List.of(
                        service("echo", echoPort, b),
                        service("greet", greetPort, b),
                        service("bulk", bulkPort, b),
                        service("reset", resetPort, b),
                        // exposed, but not to bob: the gate refuses bob's streams
                        service("secret", echoPort, carol.nodeKey())),
                sessionsOn);
    }

    RelaySession awaitSession(Side dialer, NodeKey peer) {
        await("session to " + peer.shortId()).atMost(WAIT).until(() -> {
            dialer.sessions.ensureStarted(peer); // as every stream to the peer does
            return dialer.sessions.session(peer) != null;
        });
        return dialer.sessions.session(peer);
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(30_000);
        return s;
    }

    static String roundTrip(Socket s, String line) throws IOException {
        s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return readLine(s.getInputStream());
    }

    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new IOException("EOF after '" + b + "'");
            }
            b.write(c);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    // ------------------------------------------------------------------ tests

    @Test
    void manyConnectionsShareOneRelayCircuit() throws Exception {
        Side a = aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int port = b.forward(alice.nodeKey(), "echo");
        RelaySession session = awaitSession(b, alice.nodeKey());
        await().atMost(WAIT).until(() -> relay.activeCircuits() == 1);

        List<Future<Socket>> opened = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int n = i;
            opened.add(pool.submit(() -> {
                Socket s = connect(port);
                assertThat(roundTrip(s, "ping " + n)).isEqualTo("ping " + n);
                return s;
            }));
        }
        List<Socket> sockets = new ArrayList<>();
        for (Future<Socket> f : opened) {
            sockets.add(f.get(120, TimeUnit.SECONDS));
        }
        // all 50 open at once, on the one session circuit
        assertThat(relay.activeCircuits()).isEqualTo(1);
        assertThat(session.streams()).isEqualTo(50);
        assertThat(b.sessions.session(alice.nodeKey())).isSameAs(session);
        for (Socket s : sockets) {
            assertThat(roundTrip(s, "again")).isEqualTo("again");
            s.close();
        }
        await().atMost(WAIT).until(() -> session.streams() == 0);
        assertThat(session.streamsOpened()).isGreaterThanOrEqualTo(50);
        assertThat(a.counter(AgentMetrics.RELAY_SESSION_STREAMS, "role", "listener"))
                .isGreaterThanOrEqualTo(50);
        assertThat(a.counter(AgentMetrics.RELAY_SESSIONS_OPENED, "role", "listener"))
                .isEqualTo(1);
        assertThat(relay.activeCircuits()).isEqualTo(1);
    }

    /**
     * A burst of new connections to a peer with no session yet (none kept warm): they wait for the
     * one session start instead of each asking for a circuit. Before, a burst of 16 took 16 circuits
     * plus the session's, one more than the relay lets one dialer hold pending at one listener, and
     * a connection was refused.
     */
    @Test
    void aBurstBeforeTheSessionIsUpWaitsForItInsteadOfTakingCircuits() throws Exception {
        Side a = aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int port = b.forward(alice.nodeKey(), "echo");
        assertThat(b.sessions.session(alice.nodeKey())).isNull();
        int burst = 3 * PeerStreamDialer.MAX_OPENING;
        List<Future<Socket>> opened = new ArrayList<>();
        for (int i = 0; i < burst; i++) {
            int n = i;
            opened.add(pool.submit(() -> {
                Socket s = connect(port);
                assertThat(roundTrip(s, "burst " + n)).isEqualTo("burst " + n);
                return s;
            }));
        }
        List<Socket> sockets = new ArrayList<>();
        try {
            for (Future<Socket> f : opened) {
                sockets.add(f.get(120, TimeUnit.SECONDS));
            }
            // every one of them open, all on the session's one circuit
            RelaySession session = b.sessions.session(alice.nodeKey());
            assertThat(session).isNotNull();
            assertThat(session.streams()).isEqualTo(burst);
            assertThat(relay.activeCircuits()).isEqualTo(1);
            assertThat(a.counter(AgentMetrics.RELAY_SESSIONS_OPENED, "role", "listener"))
                    .isEqualTo(1);
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void theGateRefusesOneStreamWhileTheOthersOnTheSessionGoOn() throws Exception {
        aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int echo = b.forward(alice.nodeKey(), "echo");
        int secret = b.forward(alice.nodeKey(), "secret");
        int nope = b.forward(alice.nodeKey(), "nope");
        RelaySession session = awaitSession(b, alice.nodeKey());

        try (Socket keep = connect(echo)) {
            assertThat(roundTrip(keep, "one")).isEqualTo("one");
            for (int port : new int[] {secret, nope}) {
                try (Socket refused = connect(port)) {
                    refused.getOutputStream().write("let me in\n".getBytes(StandardCharsets.US_ASCII));
                    // refused: the forward closes the local connection without a byte of the target
                    assertThat(readUntilEnd(refused.getInputStream())).isEmpty();
                }
            }
            assertThat(roundTrip(keep, "two")).isEqualTo("two");
            assertThat(b.sessions.session(alice.nodeKey())).isSameAs(session);
            assertThat(session.streamsOpened()).isGreaterThanOrEqualTo(3);
            assertThat(relay.activeCircuits()).isEqualTo(1);
        }
    }

    static String readUntilEnd(InputStream in) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) > 0) {
                b.write(buf, 0, n);
            }
        } catch (IOException e) {
            // a reset also ends it
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    @Test
    void halfCloseWorksBothWays() throws Exception {
        aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int echo = b.forward(alice.nodeKey(), "echo");
        int greet = b.forward(alice.nodeKey(), "greet");
        RelaySession session = awaitSession(b, alice.nodeKey());

        // the client ends its direction first: the target still answers, then ends its own
        try (Socket s = connect(echo)) {
            s.getOutputStream().write("request then EOF".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("request then EOF");
        }
        // the target ends its direction first: the client still sends, and the target gets it all
        try (Socket s = connect(greet)) {
            assertThat(readLine(s.getInputStream())).isEqualTo("hello");
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            s.getOutputStream().write("bye after your EOF".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(greetReceived.poll(60, TimeUnit.SECONDS)).isEqualTo("bye after your EOF");
        }
        assertThat(session.streamsOpened()).isGreaterThanOrEqualTo(2);
        await().atMost(WAIT).until(() -> session.streams() == 0);
    }

    /**
     * A stream reset while the peer still has DATA in flight on it draws one RST_STREAM per frame
     * that arrives after it: several such resets passed Netty's default limit on resets sent (200
     * per 30 s), which then closed the whole session with every other stream on it.
     */
    @Test
    void resetsOfBusyStreamsDoNotCloseTheSession() throws Exception {
        Side a = aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int reset = b.forward(alice.nodeKey(), "reset");
        int echo = b.forward(alice.nodeKey(), "echo");
        RelaySession session = awaitSession(b, alice.nodeKey());
        try (Socket bystander = connect(echo)) {
            assertThat(roundTrip(bystander, "before")).isEqualTo("before");
            byte[] chunk = new byte[65536];
            for (int i = 0; i < 8; i++) {
                try (Socket s = connect(reset)) {
                    OutputStream out = s.getOutputStream();
                    // upload until the reset comes back (bounded: the target resets after 1 MiB)
                    assertThatThrownBy(() -> {
                                for (int k = 0; k < 16_384; k++) {
                                    out.write(chunk);
                                }
                            })
                            .isInstanceOf(IOException.class);
                }
            }
            assertThat(roundTrip(bystander, "after")).isEqualTo("after");
        }
        assertThat(b.sessions.session(alice.nodeKey())).isSameAs(session);
        assertThat(session.isUp()).isTrue();
        assertThat(a.counter(AgentMetrics.RELAY_SESSIONS_OPENED, "role", "listener"))
                .isEqualTo(1);
    }

    @Test
    void aSessionThatDiesFailsItsStreamsAndTheNextConnectionStillWorks() throws Exception {
        Side a = aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int echo = b.forward(alice.nodeKey(), "echo");
        RelaySession session = awaitSession(b, alice.nodeKey());
        try (Socket s = connect(echo)) {
            assertThat(roundTrip(s, "before")).isEqualTo("before");
            a.sessions.close(); // the listener's side of every session goes away
            // the stream ends (reset or EOF), it does not hang
            assertThat(readUntilEnd(s.getInputStream())).isEmpty();
        }
        await().atMost(WAIT).until(() -> !session.isUp());
        // alice takes no more sessions: the next connection uses a circuit of its own
        try (Socket s = connect(echo)) {
            assertThat(roundTrip(s, "after")).isEqualTo("after");
        }
        assertThat(b.counter(AgentMetrics.RELAY_SESSIONS_CLOSED, "role", "dialer"))
                .isEqualTo(1);
    }

    @Test
    void aDialerClosedSessionIsReplacedByANewOne() throws Exception {
        aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int echo = b.forward(alice.nodeKey(), "echo");
        RelaySession first = awaitSession(b, alice.nodeKey());
        first.close();
        await().atMost(WAIT).until(() -> !first.isUp());
        try (Socket s = connect(echo)) {
            assertThat(roundTrip(s, "x")).isEqualTo("x"); // a circuit of its own, or the new session
        }
        RelaySession second = awaitSession(b, alice.nodeKey());
        assertThat(second).isNotSameAs(first);
        try (Socket s = connect(echo)) {
            assertThat(roundTrip(s, "y")).isEqualTo("y");
        }
        await().atMost(WAIT).until(() -> second.streamsOpened() >= 1);
    }

    @Test
    void aBulkStreamWithAStalledReaderDoesNotStarveAnInteractiveOne() throws Exception {
        aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int echo = b.forward(alice.nodeKey(), "echo");
        int bulk = b.forward(alice.nodeKey(), "bulk");
        RelaySession session = awaitSession(b, alice.nodeKey());
        try (Socket stalled = connect(bulk);
                Socket interactive = connect(echo)) {
            stalled.setReceiveBufferSize(65536);
            // read a little so the bulk stream is surely running, then stop reading it
            assertThat(stalled.getInputStream().readNBytes(1024)).hasSize(1024);
            await().atMost(WAIT).until(() -> session.streams() == 2);
            for (int i = 0; i < 200; i++) {
                assertThat(roundTrip(interactive, "ping " + i)).isEqualTo("ping " + i);
            }
            assertThat(session.streams()).isEqualTo(2);
            assertThat(relay.activeCircuits()).isEqualTo(1);
        }
    }

    @Test
    void aPeerWithoutSessionsGetsACircuitPerStream() throws Exception {
        aliceSide(false); // an agent that does not take the session service (as an older one)
        Side b = new Side(bob, List.of(), true);
        int echo = b.forward(alice.nodeKey(), "echo");
        b.sessions.ensureStarted(alice.nodeKey());
        await().atMost(WAIT)
                .until(() -> b.counter(AgentMetrics.RELAY_SESSION_ERRORS, "reason", "peer_unsupported") >= 1);
        for (int i = 0; i < 3; i++) {
            try (Socket s = connect(echo)) {
                assertThat(roundTrip(s, "old " + i)).isEqualTo("old " + i);
            }
        }
        assertThat(b.sessions.session(alice.nodeKey())).isNull();
        // remembered: no new attempt while backing off
        assertThat(b.counter(AgentMetrics.RELAY_SESSION_ERRORS, "reason", "peer_unsupported"))
                .isEqualTo(1);
    }

    @Test
    void aPeerNoServiceAdmitsGetsNoSession() throws Exception {
        Side a = aliceSide(true);
        Side c = new Side(carol, List.of(), true); // "secret" admits carol
        Side b = new Side(bob, List.of(), true);
        NodeIdentity dave = NodeIdentity.loadOrCreate(tmp.resolve("dave"), "dave", Clock.systemUTC());
        Side d = new Side(dave, List.of(), true); // no service admits dave
        d.sessions.ensureStarted(alice.nodeKey());
        await().atMost(WAIT).until(() -> a.counter(AgentMetrics.RELAY_SESSION_ERRORS, "reason", "not_allowed") >= 1);
        // dave's TLS 1.3 handshake ends before alice's check of dave's certificate: its session may
        // look up for a moment, until alice closes it
        await().atMost(WAIT).until(() -> d.sessions.session(alice.nodeKey()) == null);
        // bob and carol, each admitted by some service, get theirs
        awaitSession(b, alice.nodeKey());
        awaitSession(c, alice.nodeKey());
        int secret = c.forward(alice.nodeKey(), "secret");
        try (Socket s = connect(secret)) {
            assertThat(roundTrip(s, "carol")).isEqualTo("carol");
        }
        assertThat(c.sessions.session(alice.nodeKey()).streamsOpened()).isEqualTo(1);
    }

    @Test
    void aStreamBeyondTheSessionsLimitGetsACircuitOfItsOwn() throws Exception {
        aliceSide(true);
        Side b = new Side(bob, List.of(), true);
        int port = b.forward(alice.nodeKey(), "echo");
        RelaySession session = awaitSession(b, alice.nodeKey());
        int max = dev.burrow.agent.session.SessionProtocol.MAX_CONCURRENT_STREAMS;
        List<Future<Socket>> opened = new ArrayList<>();
        for (int i = 0; i < max; i++) {
            int n = i;
            opened.add(pool.submit(() -> {
                Socket s = connect(port);
                assertThat(roundTrip(s, "s" + n)).isEqualTo("s" + n);
                return s;
            }));
        }
        List<Socket> sockets = new ArrayList<>();
        try {
            for (Future<Socket> f : opened) {
                sockets.add(f.get(180, TimeUnit.SECONDS));
            }
            assertThat(session.streams()).isEqualTo(max);
            assertThat(relay.activeCircuits()).isEqualTo(1);
            try (Socket extra = connect(port)) {
                assertThat(roundTrip(extra, "one more")).isEqualTo("one more");
                assertThat(relay.activeCircuits()).isEqualTo(2); // the session's and its own
                assertThat(session.streams()).isEqualTo(max);
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        await().atMost(WAIT).until(() -> session.streams() == 0);
    }
}
