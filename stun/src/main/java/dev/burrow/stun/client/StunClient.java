package dev.burrow.stun.client;

import dev.burrow.stun.codec.StunAttribute;
import dev.burrow.stun.codec.StunClass;
import dev.burrow.stun.codec.StunCodec;
import dev.burrow.stun.codec.StunDecodeException;
import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.codec.TransactionId;
import dev.burrow.stun.metrics.ClientIgnoreReason;
import dev.burrow.stun.metrics.ClientOutcome;
import dev.burrow.stun.metrics.StunMetrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Asynchronous STUN Binding client over a Netty UDP channel.
 *
 * <p>Two ways to use it:
 * <ul>
 * <li>{@link #open}: the client binds and owns its own socket;
 * <li>{@link #attach}: the client writes through a channel someone else owns (the agent's
 *     peer-traffic socket), and is fed what that socket receives by a {@link StunDemuxHandler}
 *     in its pipeline (or by calling {@link #receive} directly). STUN responses that match an
 *     outstanding transaction are consumed; everything else goes on down the pipeline.
 * </ul>
 *
 * <p>Transactions: a random 96-bit ID each; a response is accepted only from the address the
 * request went to (or the one named for a CHANGE-REQUEST), only once, and only while the
 * transaction is outstanding. Futures complete on the channel's event loop: do not block in
 * their callbacks. At most {@link #MAX_OUTSTANDING} transactions run at once.
 */
public final class StunClient implements AutoCloseable {
    /** Bound on concurrent transactions per client: a probe needs a handful; beyond this, fail fast. */
    public static final int MAX_OUTSTANDING = 256;

    private final Channel channel;
    private final boolean ownsChannel;
    private final RetransmissionPolicy defaultPolicy;
    private final StunMetrics metrics;
    private final Map<TransactionId, Transaction> pending = new ConcurrentHashMap<>();
    private final AtomicInteger outstanding = new AtomicInteger();
    private volatile boolean closed;

    /**
     * The clock that deadlines and round-trip times are measured on. {@link System#nanoTime()} in
     * production; tests pair a fake one with an {@code EmbeddedChannel}'s frozen scheduler to check
     * the retransmission schedule exactly, without wall-clock bounds.
     */
    private final LongSupplier nanoClock;

    private StunClient(Channel channel, boolean ownsChannel, RetransmissionPolicy defaultPolicy, StunMetrics metrics) {
        this(channel, ownsChannel, defaultPolicy, metrics, System::nanoTime);
    }

    private StunClient(
            Channel channel,
            boolean ownsChannel,
            RetransmissionPolicy defaultPolicy,
            StunMetrics metrics,
            LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.defaultPolicy = Objects.requireNonNull(defaultPolicy, "defaultPolicy");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    /**
     * A client on a caller-owned datagram channel. The caller must hand received packets to
     * {@link #receive} (put a {@link StunDemuxHandler} in the pipeline); {@link #close()} fails
     * outstanding transactions but leaves the channel open.
     */
    public static StunClient attach(Channel channel, RetransmissionPolicy defaultPolicy, StunMetrics metrics) {
        return new StunClient(channel, false, defaultPolicy, metrics);
    }

    /** As {@link #attach(Channel, RetransmissionPolicy, StunMetrics)}, timing with {@code nanoClock} (tests). */
    static StunClient attach(
            Channel channel, RetransmissionPolicy defaultPolicy, StunMetrics metrics, LongSupplier nanoClock) {
        return new StunClient(channel, false, defaultPolicy, metrics, nanoClock);
    }

    /** A client on its own new UDP socket bound to {@code bind} (port 0 for any). */
    public static StunClient open(
            EventLoopGroup group,
            Class<? extends DatagramChannel> type,
            InetSocketAddress bind,
            RetransmissionPolicy defaultPolicy,
            StunMetrics metrics)
            throws IOException {
        StunClient[] holder = new StunClient[1];
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(type)
                .option(
                        ChannelOption.RECVBUF_ALLOCATOR,
                        new FixedRecvByteBufAllocator(StunClientHandler.READ_BUFFER_BYTES))
                .handler(new StunClientHandler(() -> holder[0], metrics));
        ChannelFuture f = b.bind(bind).awaitUninterruptibly();
        if (!f.isSuccess()) {
            f.channel().close();
            throw new IOException(
                    "cannot bind STUN client socket on " + bind + ": "
                            + f.cause().getMessage(),
                    f.cause());
        }
        holder[0] = new StunClient(f.channel(), true, defaultPolicy, metrics);
        return holder[0];
    }

    /** The socket's local address, or null when the channel has none (not bound, or not an IP socket). */
    public InetSocketAddress localAddress() {
        return channel.localAddress() instanceof InetSocketAddress a ? a : null;
    }

    /** Transactions still waiting for an answer. */
    public int outstanding() {
        return outstanding.get();
    }

    /** A plain Binding request to {@code server} with the default policy. */
    public CompletableFuture<BindingResult> bind(InetSocketAddress server) {
        return send(BindingRequest.to(server));
    }

    /** Starts a Binding transaction. The future fails with {@link TimeoutException}, {@link StunErrorResponseException} or {@link IOException}. */
    public CompletableFuture<BindingResult> send(BindingRequest request) {
        CompletableFuture<BindingResult> future = new CompletableFuture<>();
        if (closed || !channel.isActive()) {
            metrics.clientTransaction(ClientOutcome.FAILED);
            future.completeExceptionally(new IOException("STUN client is closed"));
            return future;
        }
        if (outstanding.incrementAndGet() > MAX_OUTSTANDING) {
            outstanding.decrementAndGet();
            metrics.clientTransaction(ClientOutcome.FAILED);
            future.completeExceptionally(
                    new IOException("too many outstanding STUN transactions (" + MAX_OUTSTANDING + ")"));
            return future;
        }
        TransactionId id = TransactionId.random();
        List<StunAttribute> attributes = new ArrayList<>(2);
        if (request.change() != null) {
            attributes.add(request.change());
        }
        if (request.username() != null) {
            attributes.add(new StunAttribute.Username(request.username()));
        }
        StunMessage message = new StunMessage(StunClass.REQUEST, StunMessage.BINDING, id, attributes);
        ByteBuf encoded = Unpooled.buffer(StunCodec.encodedLength(message, request.integrity(), true));
        // FINGERPRINT lets a peer that multiplexes STUN with other traffic recognise our request.
        StunCodec.encode(message, encoded, request.integrity(), true);
        RetransmissionPolicy policy = request.policy() == null ? defaultPolicy : request.policy();
        Transaction tx = new Transaction(id, request, ByteBufUtil.getBytes(encoded), policy, future, nanoClock);
        pending.put(id, tx);
        future.whenComplete((r, e) -> {
            if (pending.remove(id, tx)) {
                // completed from outside (cancelled) rather than by a response or timeout
                metrics.clientTransaction(ClientOutcome.FAILED);
            }
            outstanding.decrementAndGet();
            ScheduledFuture<?> t = tx.timer;
            if (t != null) {
                t.cancel(false);
            }
        });
        channel.eventLoop().execute(() -> transmit(tx));
        return future;
    }

    private void transmit(Transaction tx) {
        if (tx.future.isDone()) {
            return;
        }
        long now = nanoClock.getAsLong();
        if (tx.transmissions == 0) {
            tx.firstSentNanos = now;
        }
        tx.transmissions++;
        metrics.clientSent();
        channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(tx.bytes), tx.request.server()))
                .addListener(f -> {
                    if (!f.isSuccess() && !channel.isActive()) {
                        finish(tx, ClientOutcome.FAILED, new IOException("STUN client channel closed", f.cause()));
                    }
                    // Other send errors (e.g. no route for a while) are retried on schedule, like loss.
                });
        long remaining = tx.deadlineNanos - now;
        long wait = tx.policy.waitAfterNanos(tx.transmissions);
        boolean last = tx.transmissions >= tx.policy.maxRequests() || wait >= remaining;
        long delay = Math.max(0, Math.min(wait, remaining));
        tx.timer = channel.eventLoop()
                .schedule(
                        () -> {
                            if (last) {
                                finish(
                                        tx,
                                        ClientOutcome.TIMEOUT,
                                        new TimeoutException("no STUN answer from " + tx.request.server() + " after "
                                                + tx.transmissions + " transmissions"));
                            } else {
                                transmit(tx);
                            }
                        },
                        delay,
                        TimeUnit.NANOSECONDS);
    }

    private void finish(Transaction tx, ClientOutcome outcome, Throwable failure) {
        if (pending.remove(tx.id, tx)) {
            metrics.clientTransaction(outcome);
            tx.future.completeExceptionally(failure);
        }
    }

    /**
     * Offers a received datagram. Returns true when the packet was a response to one of our
     * outstanding transactions (it is then used up, even when it had to be ignored as forged or
     * malformed); false for anything else, which the caller should pass on. Never releases
     * {@code content} and never moves its indices.
     */
    public boolean receive(ByteBuf content, InetSocketAddress sender) {
        if (!StunCodec.looksLikeStun(content)) {
            return false;
        }
        int start = content.readerIndex();
        if (!StunClass.ofMessageType(content.getUnsignedShort(start)).isResponse()) {
            return false;
        }
        Transaction tx = pending.get(TransactionId.read(content, start + 8));
        if (tx == null) {
            // Unknown, duplicate or late (unsolicited STUN responses): not ours to use.
            metrics.clientIgnored(ClientIgnoreReason.UNKNOWN_TRANSACTION);
            return false;
        }
        if (!normalize(tx.request.expectedSource()).equals(normalize(sender))) {
            metrics.clientIgnored(ClientIgnoreReason.WRONG_SOURCE);
            return true;
        }
        StunMessage response;
        try {
            response = StunCodec.decode(content);
        } catch (StunDecodeException e) {
            metrics.clientIgnored(ClientIgnoreReason.MALFORMED);
            return true;
        }
        if (tx.request.integrity() != null
                && response.messageClass() == StunClass.SUCCESS_RESPONSE
                && StunCodec.verifyIntegrity(content, tx.request.integrity()).check()
                        != StunCodec.IntegrityCheck.VALID) {
            metrics.clientIgnored(ClientIgnoreReason.BAD_INTEGRITY);
            return true;
        }
        if (!pending.remove(tx.id, tx)) {
            metrics.clientIgnored(ClientIgnoreReason.UNKNOWN_TRANSACTION);
            return true;
        }
        complete(tx, response, sender);
        return true;
    }

    private void complete(Transaction tx, StunMessage response, InetSocketAddress sender) {
        if (response.messageClass() == StunClass.ERROR_RESPONSE) {
            metrics.clientTransaction(ClientOutcome.ERROR_RESPONSE);
            StunAttribute.ErrorCode error =
                    response.attribute(StunAttribute.ErrorCode.class).orElse(null);
            tx.future.completeExceptionally(
                    error == null
                            ? new StunErrorResponseException(500, "error response without ERROR-CODE")
                            : new StunErrorResponseException(error.code(), error.reason()));
            return;
        }
        InetSocketAddress mapped = response.attribute(StunAttribute.XorMappedAddress.class)
                .map(StunAttribute.XorMappedAddress::address)
                .orElse(response.attribute(StunAttribute.MappedAddress.class)
                        .map(StunAttribute.MappedAddress::address)
                        .orElse(null));
        if (mapped == null) {
            metrics.clientTransaction(ClientOutcome.FAILED);
            tx.future.completeExceptionally(new IOException("STUN success response without a mapped address"));
            return;
        }
        metrics.clientTransaction(ClientOutcome.SUCCESS);
        tx.future.complete(new BindingResult(
                tx.request.server(),
                sender,
                localAddress(),
                mapped,
                response.attribute(StunAttribute.ResponseOrigin.class)
                        .map(StunAttribute.ResponseOrigin::address)
                        .orElse(null),
                response.attribute(StunAttribute.OtherAddress.class)
                        .map(StunAttribute.OtherAddress::address)
                        .orElse(null),
                Duration.ofNanos(nanoClock.getAsLong() - tx.firstSentNanos),
                tx.transmissions));
    }

    /** IPv4-mapped IPv6 (::ffff:a.b.c.d, as a dual-stack socket may report) compared as plain IPv4. */
    static InetSocketAddress normalize(InetSocketAddress a) {
        if (a != null && a.getAddress() instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            boolean mapped = b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            if (mapped) {
                try {
                    return new InetSocketAddress(InetAddress.getByAddress(Arrays.copyOfRange(b, 12, 16)), a.getPort());
                } catch (UnknownHostException e) {
                    return a;
                }
            }
        }
        return a;
    }

    /** Fails every outstanding transaction; closes the socket when the client owns it. */
    @Override
    public void close() {
        closed = true;
        for (Transaction tx : List.copyOf(pending.values())) {
            finish(tx, ClientOutcome.FAILED, new IOException("STUN client closed"));
        }
        if (ownsChannel) {
            channel.close().awaitUninterruptibly();
        }
    }

    private static final class Transaction {
        final TransactionId id;
        final BindingRequest request;
        final byte[] bytes;
        final RetransmissionPolicy policy;
        final CompletableFuture<BindingResult> future;
        final long deadlineNanos;
        long firstSentNanos;
        int transmissions;
        volatile ScheduledFuture<?> timer;

        Transaction(
                TransactionId id,
                BindingRequest request,
                byte[] bytes,
                RetransmissionPolicy policy,
                CompletableFuture<BindingResult> future,
                LongSupplier clock) {
            this.id = id;
            this.request = request;
            this.bytes = bytes;
            this.policy = policy;
            this.future = future;
            this.deadlineNanos = clock.getAsLong() + policy.maxTotal().toNanos();
        }
    }
}
