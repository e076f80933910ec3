package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.testing.LogCapture;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Circuits end to end through the fake relay: open, accept, attach, data both ways, rejection, timeout. */
class RelayCircuitTest {
    private static final Duration WAIT = Duration.ofSeconds(60); // an upper bound only: CI machines are loaded
    private static final int DATA = 1024 * 1024 + 17;

    private FakeRelay relay;
    private RelayClient listener;
    private RelayClient dialer;
    private final NodeIdentity listenerId = TestIdentities.ephemeral("listener");
    private final NodeIdentity dialerId = TestIdentities.ephemeral("dialer");
    private final LinkedBlockingQueue<CircuitConnection> accepted = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<IncomingCircuit> offers = new LinkedBlockingQueue<>();
    private volatile CircuitDecision decision = CircuitDecision.accept();

    @BeforeEach
    void startRelay() throws Exception {
        relay = new FakeRelay();
    }

    @AfterEach
    void stop() {
        for (RelayClient c : new RelayClient[] {listener, dialer}) {
            if (c != null) {
                c.close();
            }
        }
        CircuitConnection c;
        while ((c = accepted.poll()) != null) {
            c.close();
        }
        relay.close();
    }

    private void connect(ConnectMode mode, RelayClientConfig.Builder dialerConfig) throws Exception {
        connect(mode, dialerConfig, ClientFixture.config(relay, listenerId, mode));
    }

    private void connect(
            ConnectMode mode, RelayClientConfig.Builder dialerConfig, RelayClientConfig.Builder listenerConfig)
            throws Exception {
        listener = new RelayClient(listenerConfig.acceptsCircuits(true).build());
        listener.setCircuitAcceptor(new CircuitAcceptor() {
            @Override
            public CircuitDecision decide(IncomingCircuit offer) {
                offers.add(offer);
                return decision;
            }

            @Override
            public void attached(IncomingCircuit offer, CircuitConnection connection) {
                accepted.add(connection);
            }
        });
        dialer = new RelayClient(dialerConfig.build());
        listener.start();
        dialer.start();
        listener.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        dialer.whenConnected().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private void connect(ConnectMode mode) throws Exception {
        connect(mode, ClientFixture.config(relay, dialerId, mode));
    }

    /** Hashes everything it reads; completes when {@code expected} bytes arrived. */
    static final class DigestSink extends ChannelInboundHandlerAdapter {
        final CompletableFuture<byte[]> digest = new CompletableFuture<>();
        final CompletableFuture<Object> inputClosed = new CompletableFuture<>();
        private final MessageDigest sha;
        private final long expected;
        private long received;

        DigestSink(long expected) throws Exception {
            this.sha = MessageDigest.getInstance("SHA-256");
            this.expected = expected;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            try {
                received += b.readableBytes();
                sha.update(b.nioBuffer());
                if (received >= expected) {
                    digest.complete(sha.digest());
                }
            } finally {
                b.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent
                    || evt instanceof io.netty.handler.ssl.SslCloseCompletionEvent) {
                inputClosed.complete(evt);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            inputClosed.complete("inactive");
        }
    }

    private static byte[] send(CircuitConnection c, long seed) throws Exception {
        byte[] data = new byte[DATA];
        new Random(seed).nextBytes(data);
        int half = data.length / 2;
        for (int off = 0; off < half; off += 16 * 1024) {
            c.channel().write(Unpooled.wrappedBuffer(data, off, Math.min(16 * 1024, half - off)));
        }
        // Then one large write: WebSocket mode must split it into messages a relay accepts.
        c.channel().write(Unpooled.wrappedBuffer(data, half, data.length - half));
        c.channel().flush();
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    @ParameterizedTest
    @EnumSource(
            value = ConnectMode.class,
            names = {"UPGRADE", "WEBSOCKET"})
    void aCircuitCarriesBytesBothWaysIntact(ConnectMode mode) throws Exception {
        connect(mode);
        CircuitConnection out = dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        CircuitConnection in = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(in).isNotNull();
        IncomingCircuit offer = offers.take();
        assertThat(offer.source()).isEqualTo(dialerId.nodeKey());
        assertThat(offer.service()).isEqualTo("ssh");
        assertThat(in.circuitId()).isEqualTo(out.circuitId()).isEqualTo(offer.circuitId());
        assertThat(out.dialer()).isTrue();
        assertThat(in.dialer()).isFalse();
        assertThat(out.peer()).isEqualTo(listenerId.nodeKey());
        assertThat(out.mode()).isEqualTo(mode);
        assertThat(out.channel().config().isAutoRead()).isFalse();

        DigestSink atListener = new DigestSink(DATA);
        DigestSink atDialer = new DigestSink(DATA);
        in.pipeline().addLast(atListener);
        out.pipeline().addLast(atDialer);
        in.start();
        out.start();
        in.channel().config().setAutoRead(true);
        out.channel().config().setAutoRead(true);

        byte[] fromDialer = send(out, 1);
        byte[] fromListener = send(in, 2);
        assertThat(atListener.digest.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(fromDialer);
        assertThat(atDialer.digest.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(fromListener);

        // The dialer closes: the listener sees its input end (half-closure is on) and closes its side.
        out.close().sync();
        assertThat(atListener.inputClosed.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isNotNull();
        in.close().sync();
    }

    @Test
    void halfCloseEndsOneDirectionAndTheOtherKeepsFlowing() throws Exception {
        connect(ConnectMode.UPGRADE);
        halfCloseOnOneCircuit();
    }

    @Test
    void circuitsSkipRelayTlsWhenTheRelayTakesThemAndHalfCloseStillWorks() throws Exception {
        relay.plainCircuits = true;
        connect(ConnectMode.UPGRADE);
        halfCloseOnOneCircuit();
        // Both circuit connections (dialer's and listener's) went without relay TLS; control ones with it.
        assertThat(relay.plainConnections.get()).isEqualTo(2);
    }

    @Test
    void aRelayThatRefusesPlainCircuitsGetsTlsOnesAndIsAskedOnlyOnce() throws Exception {
        connect(ConnectMode.UPGRADE);
        for (int i = 0; i < 3; i++) {
            CircuitConnection out =
                    dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
            CircuitConnection in = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(in).isNotNull();
            assertThat(out.pipeline().get(io.netty.handler.ssl.SslHandler.class))
                    .isNotNull();
            assertThat(in.pipeline().get(io.netty.handler.ssl.SslHandler.class)).isNotNull();
            out.close().sync();
            in.close().sync();
        }
        // One refused plain attempt per control connection (dialer and listener), then TLS.
        assertThat(relay.plainConnections.get()).isEqualTo(2);
    }

    @Test
    void withPlainCircuitsOffTheClientNeverTriesThem() throws Exception {
        relay.plainCircuits = true;
        connect(
                ConnectMode.UPGRADE,
                ClientFixture.config(relay, dialerId, ConnectMode.UPGRADE).plainCircuits(false),
                ClientFixture.config(relay, listenerId, ConnectMode.UPGRADE).plainCircuits(false));
        CircuitConnection out = dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        CircuitConnection in = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(out.pipeline().get(io.netty.handler.ssl.SslHandler.class)).isNotNull();
        assertThat(in).isNotNull();
        assertThat(relay.plainConnections.get()).isZero();
        out.close().sync();
        in.close().sync();
    }

    private void halfCloseOnOneCircuit() throws Exception {
        CircuitConnection out = dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        CircuitConnection in = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        DigestSink atListener = new DigestSink(DATA);
        DigestSink atDialer = new DigestSink(DATA);
        in.pipeline().addLast(atListener);
        out.pipeline().addLast(atDialer);
        in.start();
        out.start();
        in.channel().config().setAutoRead(true);
        out.channel().config().setAutoRead(true);

        byte[] request = send(out, 3);
        out.shutdownOutput().sync();
        assertThat(atListener.digest.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(request);
        assertThat(atListener.inputClosed.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isNotNull();
        // The dialer stopped writing; the listener still answers and the dialer still reads.
        assertThat(in.channel().isActive()).isTrue();
        byte[] response = send(in, 4);
        assertThat(atDialer.digest.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(response);
        in.shutdownOutput().sync();
        assertThat(atDialer.inputClosed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
        out.close().sync();
        in.close().sync();
    }

    @Test
    void aStalledCircuitDoesNotStallDatagramsOrOtherCircuits() throws Exception {
        connect(ConnectMode.UPGRADE);
        LinkedBlockingQueue<byte[]> datagrams = new LinkedBlockingQueue<>();
        listener.setDatagramHandler((src, p) -> datagrams.add(io.netty.buffer.ByteBufUtil.getBytes(p)));
        CircuitConnection stalled =
                dialer.openCircuit(listenerId.nodeKey(), "bulk").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        CircuitConnection stalledIn = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        stalledIn.start(); // never reads: autoRead stays off
        for (int i = 0; i < 256; i++) {
            stalled.channel().write(Unpooled.wrappedBuffer(new byte[16 * 1024]));
        }
        stalled.channel().flush();

        assertThat(dialer.send(listenerId.nodeKey(), Unpooled.wrappedBuffer(new byte[] {5})))
                .isEqualTo(SendResult.QUEUED);
        assertThat(datagrams.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).containsExactly(5);
        CircuitConnection out = dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        CircuitConnection in = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        DigestSink sink = new DigestSink(DATA);
        in.pipeline().addLast(sink);
        in.start();
        in.channel().config().setAutoRead(true);
        byte[] sent = send(out, 5);
        assertThat(sink.digest.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(sent);
        out.close();
        stalled.close();
    }

    @Test
    void tokensAndProofsNeverReachTheLogs() throws Exception {
        try (LogCapture logs = LogCapture.start()) {
            connect(ConnectMode.UPGRADE);
            CircuitConnection out =
                    dialer.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS);
            CircuitConnection in = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            out.close().sync();
            in.close().sync();
            String text = logs.text().toLowerCase(java.util.Locale.ROOT);
            assertThat(relay.issuedTokens).hasSize(2);
            for (var token : relay.issuedTokens) {
                assertThat(text)
                        .doesNotContain(HexFormat.of().formatHex(token.bytes()))
                        .doesNotContain(Base64.getEncoder()
                                .encodeToString(token.bytes())
                                .toLowerCase(java.util.Locale.ROOT));
            }
            for (var auth : relay.auths) {
                assertThat(text).doesNotContain(HexFormat.of().formatHex(auth.signature()));
            }
            assertThat(text).contains("connected to relay");
        }
    }

    @Test
    void aRejectionReachesTheDialerWithReasonAndMessage() throws Exception {
        decision = CircuitDecision.reject(CircuitRejectReason.NOT_ALLOWED, "not you");
        connect(ConnectMode.UPGRADE);
        CompletableFuture<CircuitConnection> f = dialer.openCircuit(listenerId.nodeKey(), "ssh");
        assertThatThrownBy(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(CircuitRejectedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(CircuitRejectReason.NOT_ALLOWED);
                    assertThat(e.remoteMessage()).isEqualTo("not you");
                    assertThat(e.local()).isFalse();
                });
    }

    @Test
    void anUnknownPeerIsRejectedByTheRelay() throws Exception {
        connect(ConnectMode.UPGRADE);
        CompletableFuture<CircuitConnection> f = dialer.openCircuit(TestIdentities.randomNodeKey(), "ssh");
        assertThatThrownBy(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .cause()
                .isInstanceOfSatisfying(
                        CircuitRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(CircuitRejectReason.PEER_NOT_FOUND));
    }

    @Test
    void anUnansweredRequestTimesOutAndPendingRequestsAreCapped() throws Exception {
        relay.routeCircuits = false;
        connect(
                ConnectMode.UPGRADE,
                ClientFixture.config(relay, dialerId, ConnectMode.UPGRADE)
                        .circuitTimeout(Duration.ofMillis(500))
                        .maxPendingCircuits(2));
        CompletableFuture<CircuitConnection> a = dialer.openCircuit(listenerId.nodeKey(), "a");
        CompletableFuture<CircuitConnection> b = dialer.openCircuit(listenerId.nodeKey(), "b");
        CompletableFuture<CircuitConnection> c = dialer.openCircuit(listenerId.nodeKey(), "c");
        assertThatThrownBy(() -> c.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .cause()
                .isInstanceOfSatisfying(CircuitRejectedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(CircuitRejectReason.LIMIT_REACHED);
                    assertThat(e.local()).isTrue();
                });
        for (CompletableFuture<CircuitConnection> f : java.util.List.of(a, b)) {
            assertThatThrownBy(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .cause()
                    .isInstanceOfSatisfying(CircuitRejectedException.class, e -> {
                        assertThat(e.reason()).isEqualTo(CircuitRejectReason.TIMEOUT);
                        assertThat(e.local()).isTrue();
                    });
        }
        // Slots are free again after the timeouts.
        CompletableFuture<CircuitConnection> d = dialer.openCircuit(listenerId.nodeKey(), "d");
        assertThatThrownBy(() -> d.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .cause()
                .isInstanceOfSatisfying(
                        CircuitRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(CircuitRejectReason.TIMEOUT));
    }

    @Test
    void openingWithoutARelayFailsFast() {
        RelayClient idle = new RelayClient(
                ClientFixture.config(relay, dialerId, ConnectMode.UPGRADE).build());
        try {
            assertThatThrownBy(
                            () -> idle.openCircuit(listenerId.nodeKey(), "ssh").get(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .cause()
                    .isInstanceOf(RelayUnavailableException.class);
            assertThatThrownBy(() ->
                            idle.openCircuit(listenerId.nodeKey(), "Bad Name!").get())
                    .cause()
                    .isInstanceOf(IllegalArgumentException.class);
        } finally {
            idle.close();
        }
    }

    @Test
    void dialersThatNeverAttachCannotKeepAnotherFromTheListenersAttachSlots() throws Exception {
        // 4 attach slots; two hogs hold 2 each (they asked for circuits and never attach)
        connect(
                ConnectMode.UPGRADE,
                ClientFixture.config(relay, dialerId, ConnectMode.UPGRADE),
                ClientFixture.config(relay, listenerId, ConnectMode.UPGRADE).maxPendingCircuits(4));
        FakeRelay.Session session = relay.session(listenerId.nodeKey());
        NodeKey hogA = TestIdentities.ephemeral("hog-a").nodeKey();
        NodeKey hogB = TestIdentities.ephemeral("hog-b").nodeKey();
        NodeKey good = TestIdentities.ephemeral("good").nodeKey();
        List<FakeRelay.FakeCircuit> held = new java.util.ArrayList<>();
        for (NodeKey hog : List.of(hogA, hogA, hogB, hogB)) {
            FakeRelay.FakeCircuit c = relay.offerFrom(hog, session, "ssh");
            held.add(c);
            org.awaitility.Awaitility.await().atMost(WAIT).until(() -> c.listenerSide != null);
        }
        // the listener is full; a fifth dialer's offer takes the oldest slot of a hog
        FakeRelay.FakeCircuit fresh = relay.offerFrom(good, session, "ssh");
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> fresh.listenerSide != null);
        org.awaitility.Awaitility.await()
                .atMost(WAIT)
                .until(() ->
                        held.stream().filter(c -> !c.listenerSide.isActive()).count() == 1);
        int lost = held.indexOf(held.stream()
                .filter(c -> !c.listenerSide.isActive())
                .findFirst()
                .orElseThrow());
        assertThat(lost).as("the oldest circuit of one hog").isIn(0, 2);
        NodeKey loser = lost == 0 ? hogA : hogB;
        // a hog that lost one (1 against 2) cannot take a slot back: refused, nothing else moves
        FakeRelay.FakeCircuit again = relay.offerFrom(loser, session, "ssh");
        org.awaitility.Awaitility.await()
                .atMost(WAIT)
                .until(() -> session.received.stream()
                        .anyMatch(f -> f instanceof ClientFrame.CircuitReject r
                                && r.circuitId().equals(again.id)
                                && r.reason() == CircuitRejectReason.LIMIT_REACHED));
        assertThat(held.stream().filter(c -> c.listenerSide.isActive()).count()).isEqualTo(3);
        assertThat(fresh.listenerSide.isActive()).isTrue();
        assertThat(offers).as("the refused offer never reached the acceptor").hasSize(5);
    }

    @Test
    void aNodeThatAcceptsNoCircuitsRejectsOffers() throws Exception {
        connect(ConnectMode.UPGRADE);
        listener.setCircuitAcceptor(null);
        CompletableFuture<CircuitConnection> f = dialer.openCircuit(listenerId.nodeKey(), "ssh");
        assertThatThrownBy(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .cause()
                .isInstanceOfSatisfying(
                        CircuitRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(CircuitRejectReason.SERVICE_UNKNOWN));
    }

    @Test
    void ingressOffersReachTheAcceptorFlaggedAndUnknownFlagsAreRefused() throws Exception {
        connect(ConnectMode.UPGRADE);
        FakeRelay.Session session = relay.session(listenerId.nodeKey());
        decision = CircuitDecision.reject(CircuitRejectReason.NOT_ALLOWED, "not public");
        CircuitId ingressId = CircuitId.random();
        session.send(new RelayFrame.CircuitOffer(
                ingressId, listenerId.nodeKey(), "web", CircuitToken.random(), RelayFrame.CircuitOffer.FLAG_INGRESS));
        IncomingCircuit seen = offers.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(seen).isNotNull();
        assertThat(seen.ingress()).isTrue();
        // a flag this build does not know: refused before any acceptor sees it
        CircuitId futureId = CircuitId.random();
        session.send(new RelayFrame.CircuitOffer(futureId, listenerId.nodeKey(), "web", CircuitToken.random(), 0x80));
        java.util.List<ClientFrame.CircuitReject> rejects = new java.util.ArrayList<>();
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> {
            Frame f;
            while ((f = session.received.poll()) != null) {
                if (f instanceof ClientFrame.CircuitReject r) {
                    rejects.add(r);
                }
            }
            return rejects.size() == 2;
        });
        assertThat(rejects).anySatisfy(r -> {
            assertThat(r.circuitId()).isEqualTo(ingressId);
            assertThat(r.reason()).isEqualTo(CircuitRejectReason.NOT_ALLOWED);
        });
        assertThat(rejects).anySatisfy(r -> {
            assertThat(r.circuitId()).isEqualTo(futureId);
            assertThat(r.reason()).isEqualTo(CircuitRejectReason.BAD_REQUEST);
        });
        assertThat(offers).isEmpty();
    }
}
