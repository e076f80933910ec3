package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.identity.tls.RelayTls;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Moving a client between two fake relays of one fleet (one shared certificate): make-before-break
 * while connected, circuits untouched, failed moves harmless, backoff skipped when not connected,
 * and the {@link HomeRelaySelector} reacting to RESTARTING and to a dead relay.
 */
class RelayClientMoveTest {
    private static final Duration WAIT = Duration.ofSeconds(60); // an upper bound only: CI machines are loaded

    private FakeRelay a;
    private FakeRelay b;
    private final List<RelayClient> clients = new ArrayList<>();
    private final List<HomeRelaySelector> selectors = new ArrayList<>();
    private final NodeIdentity listenerId = TestIdentities.ephemeral("listener");
    private final NodeIdentity dialerId = TestIdentities.ephemeral("dialer");

    @BeforeEach
    void start() throws Exception {
        RelayTls.ServerCredentials shared = RelayTls.devSelfSigned(null, List.of());
        a = new FakeRelay(shared);
        b = new FakeRelay(shared);
    }

    @AfterEach
    void stop() {
        selectors.forEach(HomeRelaySelector::close);
        clients.forEach(RelayClient::close);
        a.close();
        b.close();
    }

    private RelayClientConfig.Builder config(NodeIdentity id) {
        return RelayClientConfig.builder(a.url(), RelayTrust.pinned(a.fingerprint()), id)
                .mode(ConnectMode.UPGRADE)
                .backoff(Duration.ofMillis(50), Duration.ofMillis(400))
                .handshakeTimeout(Duration.ofSeconds(20))
                .software("test");
    }

    private RelayClient client(RelayClientConfig config, Recorder recorder) {
        RelayClient c = new RelayClient(config);
        c.addListener(recorder);
        clients.add(c);
        return c;
    }

    static final class Recorder implements RelayClientListener {
        final List<RelayConnectionInfo> connected = new CopyOnWriteArrayList<>();
        final List<Throwable> disconnected = new CopyOnWriteArrayList<>();
        final List<URI> moveFailed = new CopyOnWriteArrayList<>();

        @Override
        public void connected(RelayConnectionInfo info) {
            connected.add(info);
        }

        @Override
        public void disconnected(Throwable cause, Duration retryIn) {
            disconnected.add(cause);
        }

        @Override
        public void moveFailed(URI target, Throwable cause) {
            moveFailed.add(target);
        }
    }

    /** Collects what a circuit receives as text. */
    static final class Collect extends ChannelInboundHandlerAdapter {
        final LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                got.add(buf.toString(StandardCharsets.UTF_8));
            } finally {
                buf.release();
            }
        }
    }

    private static String roundTrip(CircuitConnection from, Collect at, String text) throws Exception {
        from.channel()
                .writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8))
                .sync();
        StringBuilder sb = new StringBuilder();
        while (sb.length() < text.length()) {
            String part = at.got.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            if (part == null) {
                break;
            }
            sb.append(part);
        }
        return sb.toString();
    }

    private static URI urlOf(RelayClient c) {
        return c.connection().map(RelayConnectionInfo::relayUrl).orElse(null);
    }

    @Test
    void movingWhileConnectedIsMakeBeforeBreakAndLeavesAttachedCircuitsRunning() throws Exception {
        Recorder lr = new Recorder();
        Recorder dr = new Recorder();
        RelayClient listener = client(config(listenerId).acceptsCircuits(true).build(), lr);
        RelayClient dialer = client(config(dialerId).build(), dr);
        LinkedBlockingQueue<CircuitConnection> accepted = new LinkedBlockingQueue<>();
        listener.setCircuitAcceptor(new CircuitAcceptor() {
            @Override
            public CircuitDecision decide(IncomingCircuit offer) {
                return CircuitDecision.accept();
            }

            @Override
            public void attached(IncomingCircuit offer, CircuitConnection connection) {
                accepted.add(connection);
            }
        });
        listener.start();
        dialer.start();
        listener.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        dialer.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        CircuitConnection out = dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        CircuitConnection in = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(in).isNotNull();
        Collect atListener = new Collect();
        Collect atDialer = new Collect();
        in.pipeline().addLast(atListener);
        out.pipeline().addLast(atDialer);
        in.start();
        out.start();
        in.channel().config().setAutoRead(true);
        out.channel().config().setAutoRead(true);
        assertThat(roundTrip(out, atListener, "before")).isEqualTo("before");

        List<RelayConnectionState> states = new CopyOnWriteArrayList<>();
        var sampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        sampler.scheduleAtFixedRate(() -> states.add(listener.state()), 0, 1, TimeUnit.MILLISECONDS);
        try {
            listener.moveTo(b.url());
            dialer.moveTo(b.url());
            await().atMost(WAIT)
                    .until(() -> b.url().equals(urlOf(listener)) && b.url().equals(urlOf(dialer)));
            await("the old control connections are closed")
                    .atMost(WAIT)
                    .until(() -> a.liveSessions().isEmpty());
        } finally {
            sampler.shutdownNow();
        }
        assertThat(states).as("connected all along").containsOnly(RelayConnectionState.CONNECTED);
        assertThat(lr.disconnected).isEmpty();
        assertThat(dr.disconnected).isEmpty();
        assertThat(b.liveSessions()).hasSize(2);

        // The circuit attached through A is its own connection: it still carries data both ways.
        assertThat(out.channel().isActive()).isTrue();
        assertThat(roundTrip(out, atListener, "after the move")).isEqualTo("after the move");
        assertThat(roundTrip(in, atDialer, "and back")).isEqualTo("and back");

        // New circuits go through B.
        CircuitConnection out2 =
                dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        CircuitConnection in2 = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(in2).isNotNull();
        for (CircuitConnection c : List.of(out, in, out2, in2)) {
            c.close().sync();
        }
    }

    @Test
    void aFailedMoveKeepsTheCurrentConnection() throws Exception {
        Recorder r = new Recorder();
        RelayClient c = client(config(listenerId).build(), r);
        c.start();
        c.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        URI nowhere = URI.create("https://127.0.0.1:" + closedPort);
        c.moveTo(nowhere);
        await().atMost(WAIT).until(() -> r.moveFailed.contains(nowhere));
        assertThat(c.state()).isEqualTo(RelayConnectionState.CONNECTED);
        assertThat(urlOf(c)).isEqualTo(a.url());
        assertThat(a.liveSessions()).hasSize(1);
        assertThat(r.disconnected).isEmpty();
        // and it can still move afterwards
        c.moveTo(b.url());
        await().atMost(WAIT).until(() -> b.url().equals(urlOf(c)));
    }

    @Test
    void closingDuringAMoveClosesBothConnections() throws Exception {
        Recorder r = new Recorder();
        RelayClient c = client(config(listenerId).build(), r);
        c.start();
        c.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        b.sendHello = false; // the move's handshake never completes
        c.moveTo(b.url());
        await("the move's connection is open").atMost(WAIT).until(() -> b.controlConnections.get() == 1);
        c.close();
        await("both closed")
                .atMost(WAIT)
                .until(() -> a.liveSessions().isEmpty() && b.sessions.stream().noneMatch(x -> x.channel.isActive()));
        assertThat(c.state()).isEqualTo(RelayConnectionState.CLOSED);
    }

    @Test
    void aMoveWhileBackingOffSkipsTheBackoff() throws Exception {
        Recorder r = new Recorder();
        RelayClient c = client(
                config(listenerId)
                        .backoff(Duration.ofMinutes(10), Duration.ofMinutes(10))
                        .build(),
                r);
        c.start();
        c.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        a.liveSessions().forEach(FakeRelay.Session::close);
        await().atMost(WAIT).until(() -> !r.disconnected.isEmpty());
        assertThat(c.state()).isEqualTo(RelayConnectionState.BACKING_OFF);
        c.moveTo(b.url());
        await("connected long before the 10 minute backoff")
                .atMost(WAIT)
                .until(() -> b.url().equals(urlOf(c)));
    }

    @Test
    void aSingleRelayThatRestartsIsRenewedMakeBeforeBreak() throws Exception {
        // One URL (a load balancer in front of a fleet): after reconnectIn the client dials the same URL
        // again and leaves the draining connection only once the new one is up.
        Recorder r = new Recorder();
        RelayClient c = client(config(listenerId).build(), r);
        c.start();
        c.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        FakeRelay.Session first = a.liveSessions().get(0);
        first.send(new RelayFrame.Restarting(100, 30_000));
        await("a second connection replaces the first")
                .atMost(WAIT)
                .until(() -> !first.channel.isActive() && a.liveSessions().size() == 1 && r.connected.size() == 2);
        assertThat(r.disconnected).isEmpty();
        assertThat(c.state()).isEqualTo(RelayConnectionState.CONNECTED);
    }

    @Test
    void aFloodOfRestartingFramesLeadsToOneRenewal() throws Exception {
        Recorder r = new Recorder();
        RelayClient c = client(config(listenerId).build(), r);
        c.start();
        c.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        FakeRelay.Session first = a.liveSessions().get(0);
        for (int i = 0; i < 1000; i++) {
            first.send(new RelayFrame.Restarting(300, 30_000));
        }
        await().atMost(WAIT).until(() -> r.connected.size() == 2 && !first.channel.isActive());
        Thread.sleep(1500); // longer than reconnectIn plus its spread: no further renewal follows
        assertThat(a.controlConnections.get()).isEqualTo(2);
        assertThat(r.disconnected).isEmpty();
    }

    @Test
    void aRenewalRefusedWhileDrainingKeepsTheConnectionAndRetries() throws Exception {
        Recorder r = new Recorder();
        RelayClient c = client(config(listenerId).build(), r);
        c.start();
        c.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        a.denyWith = dev.burrow.protocol.frame.DenyReason.DRAINING;
        a.liveSessions().get(0).send(new RelayFrame.Restarting(50, 30_000));
        await("renewals are refused").atMost(WAIT).until(() -> r.moveFailed.size() >= 2);
        assertThat(c.state()).isEqualTo(RelayConnectionState.CONNECTED);
        assertThat(r.disconnected).isEmpty();
        a.denyWith = null;
        await("a later renewal succeeds").atMost(WAIT).until(() -> r.connected.size() == 2);
        await().atMost(WAIT).until(() -> a.liveSessions().size() == 1);
    }

    private HomeRelaySelector selector(Map<URI, Duration> rtts, List<RelaySwitchReason> switches) {
        RelayProber prober = url -> {
            Duration d = rtts.get(url);
            return d == null
                    ? CompletableFuture.failedFuture(new java.io.IOException("unreachable"))
                    : CompletableFuture.completedFuture(d);
        };
        HomeRelaySelector s = new HomeRelaySelector(
                List.of(new RelayCandidate(a.url()), new RelayCandidate(b.url())),
                HomeRelayPolicy.Settings.DEFAULTS,
                prober,
                switches::add,
                Duration.ofHours(1),
                Duration.ofSeconds(10),
                System::nanoTime);
        selectors.add(s);
        return s;
    }

    @Test
    void theSelectorPicksTheFasterRelayAndMovesWhenItRestarts() throws Exception {
        List<RelaySwitchReason> switches = new CopyOnWriteArrayList<>();
        HomeRelaySelector s = selector(Map.of(a.url(), Duration.ofMillis(30), b.url(), Duration.ofMillis(5)), switches);
        Recorder r = new Recorder();
        RelayClient c = client(config(listenerId).relaySelector(s).build(), r);
        s.start(c).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> b.url().equals(urlOf(c)));
        assertThat(s.snapshot().homeReason()).contains("lowest RTT");

        b.liveSessions().get(0).send(new RelayFrame.Restarting(200, 10_000));
        await("moved to A").atMost(WAIT).until(() -> a.url().equals(urlOf(c)));
        await().atMost(WAIT).until(() -> b.liveSessions().isEmpty());
        assertThat(switches).containsExactly(RelaySwitchReason.DRAINING);
        assertThat(r.disconnected).isEmpty();
        HomeRelaySelector.Snapshot snap = s.snapshot();
        assertThat(snap.home()).isEqualTo(a.url());
        assertThat(snap.switches()).isEqualTo(1);
        assertThat(snap.candidates())
                .filteredOn(v -> v.url().equals(b.url()))
                .first()
                .extracting(HomeRelayPolicy.CandidateView::state)
                .isEqualTo("draining");
    }

    @Test
    void theSelectorMovesAtOnceWhenHomeDies() throws Exception {
        List<RelaySwitchReason> switches = new CopyOnWriteArrayList<>();
        HomeRelaySelector s = selector(Map.of(a.url(), Duration.ofMillis(5), b.url(), Duration.ofMillis(30)), switches);
        Recorder r = new Recorder();
        RelayClient c = client(
                config(listenerId)
                        .backoff(Duration.ofMinutes(10), Duration.ofMinutes(10))
                        .relaySelector(s)
                        .build(),
                r);
        s.start(c).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> a.url().equals(urlOf(c)));
        a.liveSessions().forEach(FakeRelay.Session::close);
        await("moved to B without waiting for the 10 minute backoff")
                .atMost(WAIT)
                .until(() -> b.url().equals(urlOf(c)));
        assertThat(switches).containsExactly(RelaySwitchReason.DEAD);
        assertThat(s.snapshot().homeReason()).startsWith("dead");
    }

    @Test
    void withEveryRelayDownTheClientKeepsBackingOffAndRotates() throws Exception {
        List<RelaySwitchReason> switches = new CopyOnWriteArrayList<>();
        Recorder r = new Recorder();
        int p1;
        int p2;
        try (ServerSocket x = new ServerSocket(0);
                ServerSocket y = new ServerSocket(0)) {
            p1 = x.getLocalPort();
            p2 = y.getLocalPort();
        }
        // Both candidates point at closed ports.
        URI d1 = URI.create("https://127.0.0.1:" + p1);
        URI d2 = URI.create("https://127.0.0.1:" + p2);
        HomeRelaySelector dead = new HomeRelaySelector(
                List.of(new RelayCandidate(d1), new RelayCandidate(d2)),
                HomeRelayPolicy.Settings.DEFAULTS,
                url -> CompletableFuture.failedFuture(new java.io.IOException("down")),
                switches::add,
                Duration.ofHours(1),
                Duration.ofSeconds(10),
                System::nanoTime);
        selectors.add(dead);
        List<URI> tried = new CopyOnWriteArrayList<>();
        RelayUrlSelector recording = (configured, previous, reason) -> {
            URI u = dead.select(configured, previous, reason);
            tried.add(u);
            return u;
        };
        RelayClient c = client(
                RelayClientConfig.builder(d1, RelayTrust.pinned(a.fingerprint()), listenerId)
                        .mode(ConnectMode.UPGRADE)
                        .backoff(Duration.ofMillis(20), Duration.ofMillis(100))
                        .relaySelector(recording)
                        .build(),
                r);
        dead.start(c).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> r.disconnected.size() >= 6 && tried.size() >= 6);
        // a snapshot: the client keeps retrying, and a live sub-list of a growing list fails
        assertThat(List.copyOf(tried).subList(0, 6))
                .as("attempts alternate between the two dead relays")
                .containsExactly(d1, d2, d1, d2, d1, d2);
        assertThat(c.state()).isIn(RelayConnectionState.BACKING_OFF, RelayConnectionState.CONNECTING);
        assertThat(dead.snapshot().candidates())
                .extracting(HomeRelayPolicy.CandidateView::state)
                .containsOnly("down");
        assertThat(switches).as("failed attempts are not switches").isEmpty();
    }
}
