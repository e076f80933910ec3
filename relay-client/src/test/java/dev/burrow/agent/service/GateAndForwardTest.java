package dev.burrow.agent.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.forward.PeerNameResolver;
import dev.burrow.agent.forward.PeerStreamDialer;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gate and the forward side over a loopback test path, with real TLS between two node
 * identities and a real local target: every refusal reason, identity spoofing in routing metadata, caps, half-close and resets.
 */
class GateAndForwardTest {
    @TempDir
    Path tmp;

    EventLoopGroup group;
    TestIdentities ids;
    NodeIdentity listener;
    NodeIdentity dialer;
    ServiceRegistry registry;
    ActiveStreams inboundActive;
    RecentRefusals inboundRefusals;
    RecentRefusals outboundRefusals;
    LoopbackPath path;
    ServerSocket target;
    ExecutorService targetThreads;
    final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("test", true));
        ids = TestIdentities.create(tmp);
        listener = ids.node("alice", "server");
        dialer = ids.selfSignedNode("bob");
        registry = new ServiceRegistry();
        inboundActive = new ActiveStreams();
        inboundRefusals = new RecentRefusals();
        outboundRefusals = new RecentRefusals();
        NodeVerifier verifier = ids.verifier();
        InboundStreamGate gate = new InboundStreamGate(
                listener, verifier, registry, Transport.nio(), AgentMetrics.NOOP, inboundActive, inboundRefusals);
        path = new LoopbackPath(group, gate);
        path.dialerKey(dialer.nodeKey());
        target = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        targetThreads = Executors.newCachedThreadPool();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
        target.close();
        targetThreads.shutdownNow();
        path.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    void expose(String name, List<String> allow, int maxConn, int maxPerPeer) {
        registry.replaceAll(List.of(new ExposedService(
                name,
                TargetPolicy.of(new TargetSpec("127.0.0.1", target.getLocalPort())),
                AllowList.parse(allow),
                maxConn,
                maxPerPeer,
                Duration.ofMinutes(1))));
    }

    ForwardListener forward(String service) throws Exception {
        ForwardListener f = new ForwardListener(
                new ForwardSpec("127.0.0.1", 0, listener.nodeKey(), "alice", service),
                PathSelector.only(path),
                new PeerStreamDialer(dialer, ids.verifier()),
                group,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                outboundRefusals,
                Duration.ofMinutes(1),
                100);
        f.start().get(10, TimeUnit.SECONDS);
        closeables.add(f);
        return f;
    }

    ForwardListener forwardByName(String name, String service, PeerNameResolver.Lookup lookup) throws Exception {
        ForwardListener f = new ForwardListener(
                ForwardSpec.byName("127.0.0.1", 0, name, service),
                PathSelector.only(path),
                new PeerStreamDialer(dialer, ids.verifier()),
                group,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                outboundRefusals,
                Duration.ofMinutes(1),
                100,
                new PeerNameResolver(lookup));
        f.start().get(10, TimeUnit.SECONDS);
        closeables.add(f);
        return f;
    }

    static PeerNameResolver.Lookup answering(
            java.util.concurrent.atomic.AtomicInteger asked, dev.burrow.identity.NodeKey... keys) {
        return n -> {
            asked.incrementAndGet();
            return java.util.concurrent.CompletableFuture.completedFuture(List.of(keys));
        };
    }

    /** The target: reads until EOF, then answers with what it got, upper-cased, and closes. */
    void serveUppercaseAfterEof() {
        targetThreads.submit(() -> {
            while (!target.isClosed()) {
                Socket s = target.accept();
                targetThreads.submit(() -> {
                    try (s) {
                        byte[] in = s.getInputStream().readAllBytes();
                        s.getOutputStream()
                                .write(new String(in, StandardCharsets.UTF_8)
                                        .toUpperCase()
                                        .getBytes(StandardCharsets.UTF_8));
                        s.shutdownOutput();
                        s.getInputStream().read();
                    } catch (IOException ignored) {
                        // test peer gone
                    }
                    return null;
                });
            }
            return null;
        });
    }

    Socket connect(ForwardListener f) throws IOException {
        Socket s = new Socket();
        s.connect(f.boundAddress(), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    @Test
    void halfCloseCarriesTheRequestAndTheAnswerComesBack() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        serveUppercaseAfterEof();
        ForwardListener f = forward("web");
        try (Socket s = connect(f)) {
            s.getOutputStream().write("hello burrow".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput(); // the target answers only after EOF: half-close must travel end to end
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("HELLO BURROW");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> inboundActive.count() == 0);
        assertThat(inboundActive.endedBytesFromPeers()).isEqualTo(12);
    }

    @Test
    void serverSpeaksFirstBytesArriveWithoutTheClientSending() throws Exception {
        expose("ssh", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        targetThreads.submit(() -> {
            try (Socket s = target.accept()) {
                s.getOutputStream().write("SSH-2.0-test\r\n".getBytes(StandardCharsets.US_ASCII));
                s.getInputStream().read();
            }
            return null;
        });
        ForwardListener f = forward("ssh");
        try (Socket s = connect(f)) {
            byte[] banner = s.getInputStream().readNBytes(14);
            assertThat(new String(banner, StandardCharsets.US_ASCII)).isEqualTo("SSH-2.0-test\r\n");
        }
    }

    @Test
    void forwardByNameReachesTheNamedNodeAndReusesTheAnswer() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        serveUppercaseAfterEof();
        var asked = new java.util.concurrent.atomic.AtomicInteger();
        ForwardListener f = forwardByName("alice", "web", answering(asked, listener.nodeKey()));
        for (int i = 0; i < 2; i++) {
            try (Socket s = connect(f)) {
                s.getOutputStream().write("by name".getBytes(StandardCharsets.UTF_8));
                s.shutdownOutput();
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("BY NAME");
            }
        }
        assertThat(asked).hasValue(1); // cached for PeerNameResolver.CACHE_TTL
    }

    @Test
    void concurrentConnectionsShareOneLookup() throws Exception {
        var asked = new java.util.concurrent.atomic.AtomicInteger();
        var answer = new java.util.concurrent.CompletableFuture<List<dev.burrow.identity.NodeKey>>();
        PeerNameResolver resolver = new PeerNameResolver(n -> {
            asked.incrementAndGet();
            return answer;
        });
        var first = resolver.resolve("alice");
        var second = resolver.resolve("alice");
        assertThat(asked).hasValue(1);
        answer.complete(List.of(listener.nodeKey()));
        assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo(listener.nodeKey());
        assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo(listener.nodeKey());
        assertThat(resolver.resolve("alice").get(10, TimeUnit.SECONDS)).isEqualTo(listener.nodeKey());
        assertThat(asked).hasValue(1); // cached now
        resolver.invalidate("alice");
        resolver.resolve("alice");
        assertThat(asked).hasValue(2);
    }

    @Test
    void relayMappingANameToAnotherNodeIsRefusedNeverConnected() throws Exception {
        // alice would accept bob; the lying relay says "carol" is alice's key. TLS proves the key is alice's,
        // and her certificate says alice, not carol: the dialer refuses before OPEN, and asks again next time.
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        var asked = new java.util.concurrent.atomic.AtomicInteger();
        ForwardListener f = forwardByName("carol", "web", answering(asked, listener.nodeKey()));
        assertRefused(f, StreamStatusCode.NOT_ALLOWED);
        assertThat(f.lastError()).contains("is not named carol").contains("certificate says alice");
        assertRefused(f, StreamStatusCode.NOT_ALLOWED);
        assertThat(asked).hasValue(2); // a failure drops the cached answer
        assertThat(inboundActive.count()).isZero();
        assertThat(inboundActive.endedBytesFromPeers()).isZero();
    }

    @Test
    void aSelfSignedNodeClaimingTheNameIsRefused() throws Exception {
        // The relay (lying, or fooled) maps "alice" to a node whose self-signed certificate says alice:
        // TLS succeeds against that key, but a self-signed name is never believed.
        NodeIdentity impostor = TestIdentities.ephemeral("alice");
        InboundStreamGate impostorGate = new InboundStreamGate(
                impostor, ids.verifier(), registry, Transport.nio(), AgentMetrics.NOOP, inboundActive, inboundRefusals);
        LoopbackPath impostorPath = new LoopbackPath(group, impostorGate);
        impostorPath.dialerKey(dialer.nodeKey());
        closeables.add(impostorPath::close);
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        ForwardListener f = new ForwardListener(
                ForwardSpec.byName("127.0.0.1", 0, "alice", "web"),
                PathSelector.only(impostorPath),
                new PeerStreamDialer(dialer, ids.verifier()),
                group,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                outboundRefusals,
                Duration.ofMinutes(1),
                100,
                new PeerNameResolver(answering(new java.util.concurrent.atomic.AtomicInteger(), impostor.nodeKey())));
        f.start().get(10, TimeUnit.SECONDS);
        closeables.add(f);
        assertRefused(f, StreamStatusCode.NOT_ALLOWED);
        assertThat(f.lastError()).contains("is not named alice").contains("not CA-issued");
        assertThat(inboundActive.count()).isZero();
    }

    @Test
    void unknownAndAmbiguousNamesAreRefusedWithTheReason() throws Exception {
        var asked = new java.util.concurrent.atomic.AtomicInteger();
        ForwardListener none = forwardByName("dave", "web", answering(asked));
        assertRefused(none, StreamStatusCode.PEER_NOT_FOUND);
        assertThat(none.lastError()).contains("no node named dave is connected to the relay");
        assertThat(outboundRefusals.snapshot()).anySatisfy(r -> {
            assertThat(r.peer()).isEqualTo("dave");
            assertThat(r.message()).contains("no node named dave");
        });
        ForwardListener two = forwardByName(
                "eve", "web", answering(asked, TestIdentities.randomNodeKey(), TestIdentities.randomNodeKey()));
        assertRefused(two, StreamStatusCode.PEER_NOT_FOUND);
        assertThat(two.lastError()).contains("name eve is ambiguous");
    }

    @Test
    void dialerNotOnTheAllowListIsRefusedWithAReason() throws Exception {
        expose("web", List.of("name:bob"), 10, 10); // bob is self-signed: his name is never trusted
        ForwardListener f = forward("web");
        assertRefused(f, StreamStatusCode.NOT_ALLOWED);
        assertThat(inboundRefusals.snapshot())
                .anySatisfy(r -> assertThat(r.message()).contains("allow list"));
        assertThat(f.lastError()).contains("NOT_ALLOWED");
    }

    @Test
    void caIssuedNameAndTagAreHonoured() throws Exception {
        NodeIdentity carol = ids.node("carol", "dev");
        expose("web", List.of("tag:dev"), 10, 10);
        serveUppercaseAfterEof();
        path.dialerKey(carol.nodeKey());
        ForwardListener f = new ForwardListener(
                new ForwardSpec("127.0.0.1", 0, listener.nodeKey(), "alice", "web"),
                PathSelector.only(path),
                new PeerStreamDialer(carol, ids.verifier()),
                group,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                outboundRefusals,
                Duration.ofMinutes(1),
                100);
        f.start().get(10, TimeUnit.SECONDS);
        closeables.add(f);
        try (Socket s = connect(f)) {
            s.getOutputStream().write("x".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("X");
        }
    }

    @Test
    void anUnauthorisedDialerGetsOneRefusalWhateverItAsksForAndTheDetailStaysHere() throws Exception {
        // bob is self-signed: his claimed name never counts, so no rule of any service admits him.
        expose("web", List.of("name:bob"), 10, 10);
        ForwardListener existing = forward("web");
        assertRefused(existing, StreamStatusCode.NOT_ALLOWED);
        ForwardListener missing = forward("db");
        assertRefused(missing, StreamStatusCode.NOT_ALLOWED);

        // what bob learns: the same code and text for a service that exists and one that does not
        var told = outboundRefusals.snapshot();
        assertThat(told).hasSizeGreaterThanOrEqualTo(2);
        assertThat(told.get(told.size() - 2).message())
                .isEqualTo(told.get(told.size() - 1).message())
                .contains("not allowed")
                .doesNotContain("allow list")
                .doesNotContain("no service");
        // what the exposing agent keeps (its log, metrics and burrow status)
        assertThat(inboundRefusals.snapshot())
                .anySatisfy(r -> assertThat(r.code()).isEqualTo(StreamStatusCode.SERVICE_UNKNOWN))
                .anySatisfy(r -> assertThat(r.message()).contains("allow list of service 'web'"));
    }

    @Test
    void unexposedServiceIsRefused() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        assertRefused(forward("db"), StreamStatusCode.SERVICE_UNKNOWN);
    }

    @Test
    void pathClaimingAnotherIdentityIsRefused() throws Exception {
        // identity spoofing in routing metadata: the path says the stream comes from an allowed node, TLS proves it is
        // bob.
        NodeIdentity allowed = ids.selfSignedNode("trusted");
        expose("web", List.of("node:" + allowed.nodeKey().nodeId()), 10, 10);
        path.claim(allowed.nodeKey());
        assertRefused(forward("web"), StreamStatusCode.NOT_ALLOWED);
        assertThat(inboundRefusals.snapshot())
                .anySatisfy(r -> assertThat(r.message()).contains("identity"));
    }

    @Test
    void serviceInsideTlsMustMatchTheAnnouncedOne() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        path.announce(s -> "other");
        assertRefused(forward("web"), StreamStatusCode.BAD_REQUEST);
    }

    @Test
    void perPeerCapRefusesTheExtraConnectionAndFreesItsSlot() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 1);
        targetThreads.submit(() -> {
            List<Socket> held = new ArrayList<>();
            while (!target.isClosed()) {
                held.add(target.accept());
            }
            return null;
        });
        ForwardListener f = forward("web");
        Socket first = connect(f);
        await().atMost(Duration.ofSeconds(10)).until(() -> inboundActive.count() == 1);
        assertRefused(f, StreamStatusCode.LIMIT_REACHED);
        first.setSoLinger(true, 0); // the target never ends its side: abort, do not half-close
        first.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> inboundActive.count() == 0);
        try (Socket again = connect(f)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> inboundActive.count() == 1);
        }
    }

    @Test
    void unreachableTargetIsReported() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        target.close(); // nothing listens on the target port any more
        assertRefused(forward("web"), StreamStatusCode.TARGET_UNREACHABLE);
    }

    @Test
    void targetResetReachesTheClientAsAReset() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        targetThreads.submit(() -> {
            Socket s = target.accept();
            s.getInputStream().read();
            s.setSoLinger(true, 0);
            s.close();
            return null;
        });
        ForwardListener f = forward("web");
        try (Socket s = connect(f)) {
            s.getOutputStream().write(1);
            assertThat(readUntilEnd(s)).isEqualTo("reset");
        }
    }

    @Test
    void aFailingConnectionDoesNotDisturbAnother() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        List<Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        targetThreads.submit(() -> {
            while (!target.isClosed()) {
                accepted.add(target.accept());
            }
            return null;
        });
        ForwardListener f = forward("web");
        try (Socket good = connect(f);
                Socket bad = connect(f)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> accepted.size() == 2);
            bad.setSoLinger(true, 0);
            bad.close();
            await().atMost(Duration.ofSeconds(10)).until(() -> inboundActive.count() == 1);
            good.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
            good.getOutputStream().flush();
            Socket goodTarget = accepted.stream()
                    .filter(s -> !s.isClosed())
                    .filter(s -> {
                        try {
                            s.setSoTimeout(2000);
                            return s.getInputStream().readNBytes(4).length == 4;
                        } catch (IOException e) {
                            return false;
                        }
                    })
                    .findFirst()
                    .orElseThrow();
            goodTarget.getOutputStream().write("pong".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(good.getInputStream().readNBytes(4), StandardCharsets.UTF_8))
                    .isEqualTo("pong");
        }
        for (Socket s : accepted) {
            s.close();
        }
    }

    @Test
    void aClientThatStopsReadingStallsOnlyItsOwnStreamAndMemoryStaysBounded() throws Exception {
        expose("web", List.of("node:" + dialer.nodeKey().nodeId()), 10, 10);
        java.util.concurrent.atomic.AtomicLong pushed = new java.util.concurrent.atomic.AtomicLong();
        List<Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        targetThreads.submit(() -> {
            while (!target.isClosed()) {
                Socket s = target.accept();
                accepted.add(s);
                if (accepted.size() == 1) {
                    targetThreads.submit(
                            () -> { // floods the first client, which never reads
                                byte[] chunk = new byte[64 * 1024];
                                try {
                                    while (true) {
                                        s.getOutputStream().write(chunk);
                                        pushed.addAndGet(chunk.length);
                                    }
                                } catch (IOException ignored) {
                                    // closed at the end of the test
                                }
                                return null;
                            });
                } else {
                    targetThreads.submit(() -> {
                        s.getOutputStream().write(s.getInputStream().readNBytes(4));
                        return null;
                    });
                }
            }
            return null;
        });
        ForwardListener f = forward("web");
        try (Socket stalled = connect(f)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> pushed.get() > 0);
            // The flood stops once every buffer on the way is full: TCP pushes back on the target.
            await().atMost(Duration.ofSeconds(20))
                    .pollDelay(Duration.ofMillis(500))
                    .until(() -> {
                        long before = pushed.get();
                        Thread.sleep(1000);
                        return pushed.get() == before;
                    });
            assertThat(pushed.get())
                    .as("bytes the target could push into a stream nobody reads")
                    .isLessThan(64L * 1024 * 1024);
            try (Socket other = connect(f)) {
                other.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
                assertThat(new String(other.getInputStream().readNBytes(4), StandardCharsets.UTF_8))
                        .isEqualTo("ping");
            }
        } finally {
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    void assertRefused(ForwardListener f, StreamStatusCode code) throws Exception {
        Socket s;
        try {
            s = connect(f);
        } catch (java.net.SocketException e) {
            s = null; // refused so fast that the reset beat connect() back: a refusal all the same
        }
        if (s != null) {
            try (Socket open = s) {
                assertThat(readUntilEnd(open)).isIn("reset", "eof");
            }
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !outboundRefusals.snapshot().isEmpty());
        assertThat(outboundRefusals
                        .snapshot()
                        .get(outboundRefusals.snapshot().size() - 1)
                        .code())
                .isEqualTo(code);
    }

    static String readUntilEnd(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // drain
            }
            return "eof";
        } catch (SocketException e) {
            return "reset";
        }
    }
}
