package dev.burrow.stun.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.stun.codec.Integrity;
import dev.burrow.stun.codec.IntegrityAlgorithm;
import dev.burrow.stun.codec.StunAttribute;
import dev.burrow.stun.codec.StunAttribute.XorMappedAddress;
import dev.burrow.stun.codec.StunCodec;
import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.codec.TransactionId;
import dev.burrow.stun.metrics.ClientIgnoreReason;
import dev.burrow.stun.metrics.ClientOutcome;
import dev.burrow.stun.metrics.CountingStunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client on real loopback sockets: against our server and against scripted fake servers (malformed mapped addresses, unsolicited STUN responses). */
class StunClientTest {
    static final RetransmissionPolicy FAST =
            new RetransmissionPolicy(Duration.ofMillis(20), 7, 16, Duration.ofSeconds(5));
    private static EventLoopGroup group;
    private final CountingStunMetrics metrics = new CountingStunMetrics();

    @BeforeAll
    static void startGroup() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    static InetSocketAddress loopback(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    private StunClient client() throws Exception {
        return StunClient.open(group, NioDatagramChannel.class, loopback(0), FAST, metrics);
    }

    @Test
    void bindsAgainstOurServer() throws Exception {
        try (StunServer server = StunServer.start(
                        StunServerConfig.udp(loopback(0)),
                        group,
                        NioDatagramChannel.class,
                        NioServerSocketChannel.class,
                        dev.burrow.stun.metrics.StunMetrics.NOOP);
                StunClient client = client()) {
            BindingResult r = client.bind(server.udpAddress()).get(5, TimeUnit.SECONDS);
            assertThat(r.mappedAddress()).isEqualTo(client.localAddress());
            assertThat(r.respondedFrom()).isEqualTo(server.udpAddress());
            assertThat(r.transmissions()).isEqualTo(1);
            assertThat(client.outstanding()).isZero();
            assertThat(metrics.transactions(ClientOutcome.SUCCESS)).isEqualTo(1);
        }
    }

    @Test
    void authenticatedBindingAgainstOurServer() throws Exception {
        StunServerConfig config = StunServerConfig.udp(loopback(0))
                .withCredentials(u -> u.equals("agent") ? "pw-123456".getBytes(StandardCharsets.UTF_8) : null);
        try (StunServer server = StunServer.start(
                        config, group, NioDatagramChannel.class, null, dev.burrow.stun.metrics.StunMetrics.NOOP);
                StunClient client = client()) {
            Integrity key = Integrity.shortTerm(IntegrityAlgorithm.HMAC_SHA256, "pw-123456");
            BindingResult r = client.send(BindingRequest.to(server.udpAddress()).withCredentials("agent", key))
                    .get(5, TimeUnit.SECONDS);
            assertThat(r.mappedAddress()).isEqualTo(client.localAddress());
            Integrity wrong = Integrity.shortTerm(IntegrityAlgorithm.HMAC_SHA1, "nope");
            assertThatThrownBy(() -> client.send(
                                    BindingRequest.to(server.udpAddress()).withCredentials("agent", wrong))
                            .get(5, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(StunErrorResponseException.class)
                    .satisfies(e -> assertThat(((StunErrorResponseException) e.getCause()).code())
                            .isEqualTo(401));
        }
    }

    /** A scripted server on a plain socket: the script gets each request and the socket to answer with. */
    private static final class FakeServer implements AutoCloseable {
        final DatagramSocket socket;
        final DatagramSocket other;
        final Thread thread;
        volatile int requests;

        FakeServer(BiConsumer<FakeServer, DatagramPacket> script) throws Exception {
            socket = new DatagramSocket(loopback(0));
            other = new DatagramSocket(loopback(0));
            thread = new Thread(() -> {
                byte[] buf = new byte[2048];
                while (!socket.isClosed()) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        socket.receive(p);
                    } catch (Exception closed) {
                        return;
                    }
                    requests++;
                    script.accept(this, p);
                }
            });
            thread.setDaemon(true);
            thread.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        static TransactionId id(DatagramPacket p) {
            return TransactionId.read(Unpooled.wrappedBuffer(p.getData(), 0, p.getLength()), 8);
        }

        void send(DatagramSocket from, byte[] bytes, java.net.SocketAddress to) {
            try {
                from.send(new DatagramPacket(bytes, bytes.length, to));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            socket.close();
            other.close();
        }
    }

    static byte[] encode(StunMessage m) {
        ByteBuf b = Unpooled.buffer();
        StunCodec.encode(m, b);
        return ByteBufUtil.getBytes(b);
    }

    static byte[] success(TransactionId id, InetSocketAddress mapped) {
        return encode(StunMessage.bindingSuccess(id, new XorMappedAddress(mapped)));
    }

    @Test
    void retransmitsUntilAnswered() throws Exception {
        try (FakeServer fake = new FakeServer((f, p) -> {
                    if (f.requests == 3) {
                        f.send(
                                f.socket,
                                success(FakeServer.id(p), (InetSocketAddress) p.getSocketAddress()),
                                p.getSocketAddress());
                    }
                });
                StunClient client = client()) {
            BindingResult r = client.bind(fake.address()).get(5, TimeUnit.SECONDS);
            assertThat(r.transmissions()).isEqualTo(3);
            assertThat(metrics.count("sent")).isEqualTo(3);
        }
    }

    /**
     * The retransmission schedule on a fake clock: an {@code EmbeddedChannel} with frozen time runs
     * the client's timers, and the client's deadline clock moves with it. Exact instants, no
     * wall-clock bound that a loaded machine could miss.
     */
    @Test
    void timesOutAfterRcTransmissionsOnSchedule() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.freezeTime();
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(1_000_000_000L);
        RetransmissionPolicy tiny = new RetransmissionPolicy(Duration.ofMillis(10), 3, 2, Duration.ofSeconds(5));
        StunClient client = StunClient.attach(ch, tiny, metrics, now::get);
        try {
            InetSocketAddress server = new InetSocketAddress("127.0.0.1", 3478);
            var future = client.send(BindingRequest.to(server).withPolicy(tiny));
            ch.runPendingTasks();
            // sent at 0, 10 and 30 ms (RTO 10 ms, doubling); gives up at 50 ms (last wait Rm x RTO = 20 ms)
            assertSentAt(ch, now, 0, 1, future);
            assertSentAt(ch, now, 9, 1, future);
            assertSentAt(ch, now, 10, 2, future);
            assertSentAt(ch, now, 29, 2, future);
            assertSentAt(ch, now, 30, 3, future);
            assertSentAt(ch, now, 49, 3, future);
            advanceTo(ch, now, 50);
            assertThat(future).isCompletedExceptionally();
            assertThatThrownBy(future::join).hasCauseInstanceOf(TimeoutException.class);
            assertThat(metrics.transactions(ClientOutcome.TIMEOUT)).isEqualTo(1);
            assertThat(client.outstanding()).isZero();

            // the total bound cuts the RFC schedule short: RTO 500 ms > 300 ms, so one transmission, over at 300 ms
            RetransmissionPolicy bounded = RetransmissionPolicy.rfc8489Within(Duration.ofMillis(300));
            long base = elapsedMillis(now);
            var f2 = client.send(BindingRequest.to(server).withPolicy(bounded));
            ch.runPendingTasks();
            assertSentAt(ch, now, base, 4, f2);
            assertSentAt(ch, now, base + 299, 4, f2);
            advanceTo(ch, now, base + 300);
            assertThat(f2).isCompletedExceptionally();
            assertThat(metrics.count("sent")).isEqualTo(4);
        } finally {
            client.close();
            ch.finishAndReleaseAll();
        }
    }

    private static final long FAKE_EPOCH = 1_000_000_000L;
    private int datagramsSeen;

    /** At {@code millis} on the fake clock, {@code sent} requests in total have gone out and the transaction is still open. */
    private void assertSentAt(
            EmbeddedChannel ch,
            java.util.concurrent.atomic.AtomicLong now,
            long millis,
            int sent,
            java.util.concurrent.CompletableFuture<?> future) {
        advanceTo(ch, now, millis);
        Object o;
        while ((o = ch.readOutbound()) != null) {
            datagramsSeen++;
            io.netty.util.ReferenceCountUtil.release(o);
        }
        assertThat(datagramsSeen).as("requests sent by %d ms", millis).isEqualTo(sent);
        assertThat(future).as("still waiting at %d ms", millis).isNotDone();
    }

    private static void advanceTo(EmbeddedChannel ch, java.util.concurrent.atomic.AtomicLong now, long millis) {
        long target = FAKE_EPOCH + TimeUnit.MILLISECONDS.toNanos(millis);
        long delta = target - now.get();
        if (delta > 0) {
            now.set(target);
            ch.advanceTimeBy(delta, TimeUnit.NANOSECONDS);
        }
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
    }

    private static long elapsedMillis(java.util.concurrent.atomic.AtomicLong now) {
        return TimeUnit.NANOSECONDS.toMillis(now.get() - FAKE_EPOCH);
    }

    @Test
    void rfcScheduleAddsUpTo39point5Seconds() {
        RetransmissionPolicy p = RetransmissionPolicy.RFC8489;
        long total = 0;
        for (int sent = 1; sent <= p.maxRequests(); sent++) {
            total += p.waitAfterNanos(sent);
        }
        assertThat(Duration.ofNanos(total)).isEqualTo(Duration.ofMillis(39_500));
    }

    @Test
    void ignoresUnknownDuplicateAndWrongSourceResponses() throws Exception {
        // unsolicited STUN responses: the fake first answers with a random ID, then from another socket, then correctly
        // twice.
        try (FakeServer fake = new FakeServer((f, p) -> {
                    if (f.requests > 1) {
                        return;
                    }
                    InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
                    TransactionId id = FakeServer.id(p);
                    f.send(
                            f.socket,
                            success(TransactionId.random(), new InetSocketAddress(from.getAddress(), 1)),
                            from);
                    f.send(f.other, success(id, new InetSocketAddress(from.getAddress(), 2)), from);
                    f.send(f.socket, success(id, from), from);
                    f.send(f.socket, success(id, new InetSocketAddress(from.getAddress(), 3)), from);
                });
                StunClient client = client()) {
            BindingResult r = client.bind(fake.address()).get(5, TimeUnit.SECONDS);
            assertThat(r.mappedAddress()).isEqualTo(client.localAddress());
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> metrics.ignored(ClientIgnoreReason.UNKNOWN_TRANSACTION) == 2);
            assertThat(metrics.ignored(ClientIgnoreReason.WRONG_SOURCE)).isEqualTo(1);
            assertThat(metrics.transactions(ClientOutcome.SUCCESS)).isEqualTo(1);
        }
    }

    @Test
    void malformedXorMappedAddressIsIgnoredWithoutException() throws Exception {
        // malformed mapped addresses: family 2 with an IPv4-sized value, unknown family 3, value under 4 bytes; then a
        // good answer.
        try (FakeServer fake = new FakeServer((f, p) -> {
                    if (f.requests > 1) {
                        return;
                    }
                    TransactionId id = FakeServer.id(p);
                    for (byte[] value : new byte[][] {{0, 2, 1, 2, 1, 2, 3, 4}, {0, 3, 1, 2, 1, 2, 3, 4}, {0, 1, 1}}) {
                        f.send(
                                f.socket,
                                encode(StunMessage.bindingSuccess(
                                        id,
                                        new StunAttribute.Unknown(
                                                StunAttribute.XorMappedAddress.class == null ? 0 : 0x0020, value))),
                                p.getSocketAddress());
                    }
                    f.send(f.socket, success(id, (InetSocketAddress) p.getSocketAddress()), p.getSocketAddress());
                });
                StunClient client = client()) {
            BindingResult r = client.bind(fake.address()).get(5, TimeUnit.SECONDS);
            assertThat(r.mappedAddress()).isEqualTo(client.localAddress());
            assertThat(metrics.ignored(ClientIgnoreReason.MALFORMED)).isEqualTo(3);
        }
    }

    @Test
    void errorResponsesFailTheFutureWithTheCode() throws Exception {
        try (FakeServer fake = new FakeServer((f, p) -> f.send(
                        f.socket,
                        encode(StunMessage.bindingError(
                                FakeServer.id(p),
                                new StunAttribute.ErrorCode(420, ""),
                                new StunAttribute.UnknownAttributes(java.util.List.of(3)))),
                        p.getSocketAddress()));
                StunClient client = client()) {
            assertThatThrownBy(
                            () -> client.send(BindingRequest.to(fake.address()).withChange(true, true, fake.address()))
                                    .get(5, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .satisfies(e -> assertThat(((StunErrorResponseException) e.getCause()).code())
                            .isEqualTo(420));
        }
    }

    @Test
    void closeFailsOutstandingTransactions() throws Exception {
        try (FakeServer silent = new FakeServer((f, p) -> {})) {
            StunClient client = client();
            var future = client.bind(silent.address());
            client.close();
            assertThatThrownBy(() -> future.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(java.io.IOException.class);
            assertThatThrownBy(() -> client.bind(silent.address()).get(5, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(java.io.IOException.class);
        }
    }

    @Test
    void outstandingTransactionsAreBounded() throws Exception {
        try (FakeServer silent = new FakeServer((f, p) -> {});
                StunClient client = client()) {
            RetransmissionPolicy slow = RetransmissionPolicy.rfc8489Within(Duration.ofSeconds(10));
            var futures = new java.util.ArrayList<java.util.concurrent.CompletableFuture<BindingResult>>();
            for (int i = 0; i < StunClient.MAX_OUTSTANDING; i++) {
                futures.add(client.send(BindingRequest.to(silent.address()).withPolicy(slow)));
            }
            assertThatThrownBy(() -> client.bind(silent.address()).get(1, TimeUnit.SECONDS))
                    .hasMessageContaining("too many outstanding");
            futures.forEach(f -> f.cancel(false));
            assertThat(client.outstanding()).isZero();
        }
    }
}
