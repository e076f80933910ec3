package dev.burrow.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.direct.DirectPath;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.AgentMetrics.DirectSessionError;
import dev.burrow.agent.metrics.AgentMetrics.SessionError;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.SpliceOutcome;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two agents' direct TCP sessions on this host: a dialer connects to the listener's port, the
 * session runs TLS with both node certificates, and streams reach the listener's gate as direct
 * streams from the verified dialer; peers no service admits, closed ports and floods of
 * unauthenticated connections are contained and counted.
 */
@Timeout(60)
class DirectSessionsLoopbackTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final NodeIdentity a = NodeIdentity.ephemeral("a");
    private final NodeIdentity b = NodeIdentity.ephemeral("b");
    private final NodeVerifier verifier = NodeVerifier.builder().build();
    private final Counting metricsA = new Counting();
    private final Counting metricsB = new Counting();
    private final List<InboundStream> arrived = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closing = new ArrayList<>();

    /** Counts direct-session errors by reason. */
    static final class Counting implements AgentMetrics {
        final Map<DirectSessionError, AtomicLong> errors = new EnumMap<>(DirectSessionError.class);
        final AtomicLong opened = new AtomicLong();
        final AtomicLong refusedForRate = new AtomicLong();
        final AtomicLong paced = new AtomicLong();

        Counting() {
            for (DirectSessionError e : DirectSessionError.values()) {
                errors.put(e, new AtomicLong());
            }
        }

        long errors(DirectSessionError e) {
            return errors.get(e).get();
        }

        @Override
        public void directSessionError(DirectSessionError error) {
            errors.get(error).incrementAndGet();
        }

        @Override
        public void directSessionOpened(boolean dialer) {
            opened.incrementAndGet();
        }

        @Override
        public void relaySessionError(SessionError error) {
            if (error == SessionError.STREAM_RATE) {
                refusedForRate.incrementAndGet();
            }
        }

        @Override
        public void relaySessionOpenPaced() {
            paced.incrementAndGet();
        }

        @Override
        public void streamOpened(Direction direction) {}

        @Override
        public void streamRefused(Direction direction, StreamStatusCode code) {}

        @Override
        public void streamEnded(Direction direction, SpliceOutcome outcome, long bytesIn, long bytesOut) {}

        @Override
        public void preambleError() {}
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The gate's stand-in: records the stream and echoes it, ending its side after the dialer's end. */
    private void echo(InboundStream s) {
        arrived.add(s);
        s.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.writeAndFlush(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) { // like cat: end our side after the echo
                    ctx.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2DataFrame(true));
                }
                ctx.fireUserEventTriggered(evt);
            }
        });
        s.channel().config().setAutoRead(true);
    }

    private DirectSessions sessions(NodeIdentity id, Counting metrics, boolean admitAll) throws Exception {
        DirectSessions s = new DirectSessions(id, verifier, metrics, group, Transport.nio());
        s.start(this::echo, p -> admitAll, k -> true, group.next());
        closing.add(s);
        return s;
    }

    private InetSocketAddress listenOnLoopback(DirectSessions s) {
        assertThat(s.listen(new InetSocketAddress("127.0.0.1", 0))).isTrue();
        return s.listening().get(0);
    }

    @Test
    void streamsOnASessionReachTheGateAsDirectStreamsFromTheVerifiedDialer() throws Exception {
        DirectSessions dialer = sessions(a, metricsA, true);
        DirectSessions listener = sessions(b, metricsB, true);
        InetSocketAddress at = listenOnLoopback(listener);

        dialer.connect(b.nodeKey(), at);
        await().atMost(Duration.ofSeconds(15)).until(() -> dialer.session(b.nodeKey()) != null);
        await().until(() -> listener.counts()[1] == 1);

        byte[] payload = new byte[3 << 20];
        new Random(7).nextBytes(payload);
        for (int i = 0; i < 3; i++) { // several streams on the one session
            assertThat(roundTrip(dialer, b.nodeKey(), payload)).isEqualTo(payload);
        }
        assertThat(arrived).hasSize(3);
        for (InboundStream s : arrived) {
            assertThat(s.path()).isEqualTo(DirectPath.NAME);
            assertThat(s.claimedPeer()).isEqualTo(a.nodeKey());
        }
        assertThat(dialer.counts()).containsExactly(1, 0);
        assertThat(dialer.describe(b.nodeKey())).isEqualTo("streams on a direct TCP session");
        assertThat(metricsA.opened.get()).isEqualTo(1);
        assertThat(metricsB.opened.get()).isEqualTo(1);
    }

    /** Writes {@code payload} on a new stream, half-closes, and returns what came back before the end. */
    private static byte[] roundTrip(DirectSessions dialer, NodeKey peer, byte[] payload) throws Exception {
        CompletableFuture<Channel> opened = dialer.openStream(peer, "echo");
        assertThat(opened).isNotNull();
        Channel ch = opened.get(10, TimeUnit.SECONDS);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf buf = (ByteBuf) msg;
                byte[] bytes = new byte[buf.readableBytes()];
                buf.readBytes(bytes);
                buf.release();
                synchronized (got) {
                    got.writeBytes(bytes);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                synchronized (got) {
                    done.complete(got.toByteArray());
                }
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                    synchronized (got) {
                        done.complete(got.toByteArray());
                    }
                }
            }
        });
        ch.config().setAutoRead(true);
        ch.read();
        ch.writeAndFlush(Unpooled.wrappedBuffer(payload));
        ch.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2DataFrame(true));
        byte[] result = done.get(20, TimeUnit.SECONDS);
        ch.close();
        return result;
    }

    @Test
    void aPeerThatStopsAnsweringIsClosedAsSilentWhileAnAnsweringOneStaysUp() throws Exception {
        DirectSessions dialer = sessions(a, metricsA, true);
        DirectSessions listener = sessions(b, metricsB, true);
        dialer.silences(Duration.ofMillis(100), Duration.ofMillis(1500), Duration.ofMillis(1500));
        listener.silences(Duration.ofMillis(100), Duration.ofMillis(1500), Duration.ofMillis(1500));
        dialer.connect(b.nodeKey(), listenOnLoopback(listener));
        await().atMost(Duration.ofSeconds(15)).until(() -> dialer.session(b.nodeKey()) != null);
        await().until(() -> listener.inboundSessions().size() == 1);

        // an answering peer: pings keep the session up well past the silence limit
        for (int i = 0; i < 25; i++) {
            dialer.tick();
            listener.tick();
            Thread.sleep(100);
        }
        assertThat(dialer.session(b.nodeKey())).isNotNull();
        assertThat(metricsA.errors(DirectSessionError.SILENT)).isZero();

        // the listener stops reading (a peer gone without a reset): the dialer's pings go unanswered
        RelaySession held = listener.inboundSessions().iterator().next();
        held.channel()
                .eventLoop()
                .submit(() -> held.channel().config().setAutoRead(false))
                .get();
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    dialer.tick();
                    return dialer.session(b.nodeKey()) == null;
                });
        assertThat(metricsA.errors(DirectSessionError.SILENT)).isEqualTo(1);
    }

    @Test
    void aDialerNoServiceAdmitsGetsNoSessionAndTheFailureIsCounted() throws Exception {
        DirectSessions dialer = sessions(a, metricsA, true);
        DirectSessions listener = sessions(b, metricsB, false);
        InetSocketAddress at = listenOnLoopback(listener);

        dialer.connect(b.nodeKey(), at);
        await().atMost(Duration.ofSeconds(15)).until(() -> metricsA.errors(DirectSessionError.SETUP_FAILED) == 1);
        assertThat(dialer.session(b.nodeKey())).isNull();
        assertThat(dialer.openStream(b.nodeKey(), "echo")).isNull(); // the caller takes QUIC
        assertThat(listener.counts()).containsExactly(0, 0);
        assertThat(arrived).isEmpty();
    }

    @Test
    void aPeerWithNothingListeningCountsOneConnectFailureAndBacksOff() throws Exception {
        DirectSessions dialer = sessions(a, metricsA, true);
        InetSocketAddress closed;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
        dialer.connect(b.nodeKey(), closed);
        await().until(() -> metricsA.errors(DirectSessionError.CONNECT_FAILED) == 1);
        dialer.connect(b.nodeKey(), closed); // backing off: no second SYN
        Thread.sleep(300);
        assertThat(metricsA.errors(DirectSessionError.CONNECT_FAILED)).isEqualTo(1);
        assertThat(dialer.session(b.nodeKey())).isNull();
        assertThat(dialer.describe(b.nodeKey()))
                .startsWith("streams on QUIC (TCP to " + closed + " did not connect; next try in ");
    }

    @Test
    void aWantedPeerIsRetriedAfterTheWaitWithoutANewStream() throws Exception {
        DirectSessions dialer = sessions(a, metricsA, true);
        DirectSessions listener = sessions(b, metricsB, true);
        InetSocketAddress at;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            at = new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
        dialer.retryAt(peer -> peer.equals(b.nodeKey()) ? Optional.of(at) : Optional.empty());
        dialer.connect(b.nodeKey(), at); // the peer's path came up before its listener bound
        await().until(() -> metricsA.errors(DirectSessionError.CONNECT_FAILED) == 1);
        dialer.tick(); // within the wait: no second SYN
        Thread.sleep(200);
        assertThat(metricsA.errors(DirectSessionError.CONNECT_FAILED)).isEqualTo(1);

        assertThat(listener.listen(at)).isTrue();
        long waitOver = System.nanoTime() + DirectSessions.FIRST_RETRY.toNanos();
        await().atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    dialer.tick(); // what the agent's timer does every few seconds
                    return dialer.session(b.nodeKey()) != null;
                });
        assertThat(System.nanoTime() - waitOver)
                .as("not before the wait was over")
                .isPositive();
        assertThat(metricsA.errors(DirectSessionError.CONNECT_FAILED)).isEqualTo(1);
        await().until(() -> listener.counts()[1] == 1);
        assertThat(arrived).isEmpty(); // no stream was needed to bring it up
    }

    @Test
    void unauthenticatedConnectionsBeyondThePerAddressLimitAreClosedUnread() throws Exception {
        DirectSessions listener = sessions(b, metricsB, true);
        InetSocketAddress at = listenOnLoopback(listener);
        List<Socket> sockets = new ArrayList<>();
        try {
            int extra = 3;
            for (int i = 0; i < DirectSessions.MAX_PENDING_PER_ADDRESS + extra; i++) {
                Socket s = new Socket();
                s.connect(at, 2000);
                s.setSoTimeout(300);
                sockets.add(s);
            }
            await().until(() -> metricsB.errors(DirectSessionError.HANDSHAKE_LIMIT) == extra);
            int closedByListener = 0;
            for (Socket s : sockets) {
                InputStream in = s.getInputStream();
                try {
                    if (in.read() == -1) {
                        closedByListener++;
                    }
                } catch (SocketTimeoutException stillPending) {
                    // held, waiting for our TLS ClientHello
                } catch (java.net.SocketException reset) {
                    closedByListener++;
                }
            }
            assertThat(closedByListener).isEqualTo(extra);
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        // the held ones are released once they close: a real dialer gets through afterwards
        DirectSessions dialer = sessions(a, metricsA, true);
        dialer.connect(b.nodeKey(), at);
        await().atMost(Duration.ofSeconds(15)).until(() -> dialer.session(b.nodeKey()) != null);
    }

    @Test
    void streamsOpenedFasterThanThePeersRateWaitInsteadOfBeingRefused() throws Exception {
        RelaySession session = upSession();
        // three seconds' worth: unpaced, this machine opens them in about a second and the listener
        // refuses a third (its bucket and one second's refill hold 4,000)
        int total = 3 * SessionProtocol.MAX_STREAM_OPENS_PER_SECOND;
        long took = openAndReset(session, total, () -> session.openStream("echo"));
        await().atMost(Duration.ofSeconds(20)).until(() -> arrived.size() + metricsB.refusedForRate.get() == total);
        System.out.printf(
                "paced: %d streams in %d ms, %d waited%n",
                total, TimeUnit.NANOSECONDS.toMillis(took), metricsA.paced.get());
        // without the pacer this machine opens several thousand a second and the listener refuses
        // some (the next test); OpenPacerTest checks the waits themselves
        assertThat(metricsB.refusedForRate.get()).isZero();
        assertThat(session.isUp()).isTrue();
    }

    @Test
    void aDialerThatDoesNotPaceHasItsExcessStreamsRefusedAndTheSessionStays() throws Exception {
        RelaySession session = upSession();
        Supplier<CompletableFuture<Channel>> unpaced = () -> {
            assertThat(session.reserveStream()).isTrue();
            CompletableFuture<Channel> f = new CompletableFuture<>();
            session.open("echo", f); // an older or hostile dialer: no pacer
            return f;
        };
        // as fast as this machine opens them, until the listener's bucket runs dry (a loaded
        // machine may need more than the bucket and a second's refill)
        int total = 0;
        long took = 0;
        while (total < 10 * SessionProtocol.MAX_STREAM_OPENS_PER_SECOND) {
            took += openAndReset(session, 1000, unpaced);
            total += 1000;
            int sent = total;
            await().atMost(Duration.ofSeconds(20)).until(() -> arrived.size() + metricsB.refusedForRate.get() == sent);
            if (metricsB.refusedForRate.get() > 0) {
                break;
            }
        }
        System.out.printf(
                "unpaced: %d streams in %d ms, %d refused%n",
                total, TimeUnit.NANOSECONDS.toMillis(took), metricsB.refusedForRate.get());
        assertThat(metricsB.refusedForRate.get()).isPositive();
        assertThat(metricsA.paced.get()).isZero();
        assertThat(session.isUp()).isTrue();
        byte[] payload = "still carries streams".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Thread.sleep(1000); // the listener's bucket refills
        assertThat(roundTrip(upDialer, b.nodeKey(), payload)).isEqualTo(payload);
    }

    private DirectSessions upDialer;
    private DirectSessions upListener;

    /** A dialer's direct session from a to b, up, with the listener echoing its streams. */
    private RelaySession upSession() throws Exception {
        upDialer = sessions(a, metricsA, true);
        upListener = sessions(b, metricsB, true);
        upDialer.connect(b.nodeKey(), listenOnLoopback(upListener));
        await().atMost(Duration.ofSeconds(15)).until(() -> upDialer.session(b.nodeKey()) != null);
        await().until(() -> upListener.inboundSessions().size() == 1);
        return upDialer.session(b.nodeKey());
    }

    /**
     * Opens {@code total} streams as fast as the session's stream cap allows: batches of 100, each
     * sent one byte and reset once open, the next batch once both ends released the last (so the listener's stream
     * cap refuses nothing and every refusal is the rate's). Returns the nanos it took.
     */
    private long openAndReset(RelaySession session, int total, Supplier<CompletableFuture<Channel>> open)
            throws Exception {
        long start = System.nanoTime();
        int batch = 100;
        for (int done = 0; done < total; done += batch) {
            List<CompletableFuture<Channel>> opened = new ArrayList<>();
            for (int i = 0; i < Math.min(batch, total - done); i++) {
                opened.add(open.get());
            }
            for (CompletableFuture<Channel> f : opened) {
                Channel ch = f.get(10, TimeUnit.SECONDS);
                ch.write(Unpooled.wrappedBuffer(new byte[] {1})); // a stream's HEADERS go with its first write
                ch.close();
            }
            RelaySession far = upListener.inboundSessions().iterator().next();
            await().atMost(Duration.ofSeconds(10))
                    .pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(1))
                    .until(() -> session.streams() == 0 && far.streams() == 0);
        }
        return System.nanoTime() - start;
    }
}
