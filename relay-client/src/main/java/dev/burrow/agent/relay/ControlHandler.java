package dev.burrow.agent.relay;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The client end of one control connection: answers SERVER_HELLO with CLIENT_AUTH, waits for
 * SERVER_ACCEPT or DENY, then keeps the connection alive (answers PING, sends its own PINGs for
 * RTT, declares the relay dead after two missed keepalives or an unanswered ping) and hands every
 * other frame to {@link Events}. Any protocol violation closes the connection; nothing escapes the
 * pipeline. Frames are released after {@link Events#frame} returns.
 */
final class ControlHandler extends ChannelInboundHandlerAdapter {
    static final String NAME = "control";
    static final String IDLE = "idle";

    /**
     * Smallest keepalive interval we honour: below it a scheduling hiccup would kill a healthy
     * connection (and a hostile relay could make us reconnect constantly).
     */
    static final long MIN_KEEPALIVE_MILLIS = 250;
    /** Largest keepalive interval we honour: a relay silent for 2 h is dead whatever it claims. */
    static final long MAX_KEEPALIVE_MILLIS = Duration.ofHours(1).toMillis();
    /** Bytes of our PING data: a random nonce, the protocol's minimum. */
    static final int PING_DATA_LENGTH = 8;
    /** Extra random delay on each ping interval, as a fraction, so many agents do not ping in lockstep. */
    static final double PING_JITTER = 0.25;

    /** What the owner learns from a control connection. Called on the event loop. */
    interface Events {
        void accepted(ControlHandler handler, RelayFrame.ServerHello hello, RelayFrame.ServerAccept accept);

        /** A post-authentication frame other than PING/PONG/KEEPALIVE; released after return. */
        void frame(ControlHandler handler, RelayFrame frame);

        void rtt(ControlHandler handler, Duration rtt);

        void writabilityChanged(ControlHandler handler, boolean writable);

        /** The connection closed (or never opened); called exactly once per handler. */
        void closed(ControlHandler handler, Throwable cause);
    }

    enum Phase {
        AWAITING_HELLO,
        AWAITING_ACCEPT,
        READY,
        CLOSED
    }

    // Final after construction.
    private final NodeIdentity identity;
    private final List<byte[]> chain;
    private final int flags;
    private final String software;
    private final Duration pingInterval;
    private final Duration pingTimeout;
    private final RelayClientMetrics metrics;
    private final Events events;
    private final LongSupplier nanoClock;

    // Owner's bookkeeping (RelayLink and CircuitAttacher, on the event loop): the connection attempt
    // this handler belongs to.
    RelayAddress address;
    ConnectMode mode;
    /** This relay refused a circuit connection without relay TLS: use TLS for the rest of this connection. */
    boolean plainCircuitsRefused;

    boolean fallbackAllowed;
    /** The resolved relay address this connection went to; circuits attach to the same one. */
    InetSocketAddress remote;

    // Any thread (volatile): senders check the connection before writing to it.
    private volatile boolean ready;
    private volatile int maxDatagram;

    // Owned by the event loop.
    private ChannelHandlerContext ctx;
    private Phase phase = Phase.AWAITING_HELLO;
    private Throwable closeCause;
    private boolean closedReported;
    private long readyAtNanos;
    private byte[] outstandingPing;
    private long outstandingPingSentNanos;
    private ScheduledFuture<?> pingTask;
    private ScheduledFuture<?> pingTimeoutTask;
    private RelayFrame.ServerHello hello;

    ControlHandler(
            NodeIdentity identity,
            boolean acceptsCircuits,
            String software,
            Duration pingInterval,
            Duration pingTimeout,
            RelayClientMetrics metrics,
            Events events,
            LongSupplier nanoClock) {
        this.identity = identity;
        this.chain = encodeChain(identity.certificateChain());
        this.flags = acceptsCircuits ? ClientFrame.FLAG_ACCEPTS_CIRCUITS : 0;
        this.software = software;
        this.pingInterval = pingInterval;
        this.pingTimeout = pingTimeout;
        this.metrics = metrics;
        this.events = events;
        this.nanoClock = nanoClock;
    }

    static List<byte[]> encodeChain(List<X509Certificate> certificates) {
        List<byte[]> der = new ArrayList<>(certificates.size());
        try {
            for (X509Certificate c : certificates) {
                der.add(c.getEncoded());
            }
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("node certificate cannot be encoded", e);
        }
        return der;
    }

    /** True once SERVER_ACCEPT arrived and until the connection closes. Safe from any thread. */
    boolean ready() {
        return ready;
    }

    int maxDatagram() {
        return maxDatagram;
    }

    long readyAtNanos() {
        return readyAtNanos;
    }

    Phase phase() {
        return phase;
    }

    Channel channel() {
        return ctx == null ? null : ctx.channel();
    }

    /** Closes the connection with {@code cause} as the reason reported to the owner. Event loop only. */
    void close(Throwable cause) {
        if (closeCause == null) {
            closeCause = cause;
        }
        if (ctx != null) {
            ctx.close();
        } else {
            reportClosed(); // no channel yet (resolving or connecting): the attempt ends now
        }
    }

    /** The channel could not even connect: report once. */
    void connectFailed(Throwable cause) {
        if (closeCause == null) {
            closeCause = cause;
        }
        reportClosed();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (phase == Phase.CLOSED) {
            ctx.close(); // the attempt was given up before its channel existed
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (phase == Phase.CLOSED) {
                return;
            }
            if (msg instanceof RelayFrame frame) {
                handle(ctx, frame);
            } else {
                fail(ctx, new ProtocolViolation(ProtocolViolation.Kind.UNEXPECTED_FRAME, "unexpected message"));
            }
        } catch (RuntimeException e) {
            // A bug in an event consumer must not kill the event loop or leak: close this connection.
            fail(ctx, e);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void handle(ChannelHandlerContext ctx, RelayFrame frame) {
        if (frame instanceof Frame.Unknown) {
            metrics.unknownFrame(); // forward compatibility: skipped by the decoder, counted here
            return;
        }
        switch (phase) {
            case AWAITING_HELLO -> {
                if (!(frame instanceof RelayFrame.ServerHello hello)) {
                    fail(ctx, violation("expected SERVER_HELLO, got " + frame.type()));
                    return;
                }
                onHello(ctx, hello);
            }
            case AWAITING_ACCEPT -> {
                switch (frame) {
                    case RelayFrame.ServerAccept accept -> onAccept(ctx, accept);
                    case RelayFrame.Deny deny -> onDeny(ctx, deny);
                    case Frame.Ping ping -> answerPing(ctx, ping);
                    default -> fail(ctx, violation(frame.type() + " before SERVER_ACCEPT"));
                }
            }
            case READY -> {
                switch (frame) {
                    case Frame.Ping ping -> answerPing(ctx, ping);
                    case Frame.Pong pong -> onPong(pong);
                    case RelayFrame.Keepalive k -> {} // its arrival resets the idle timer
                    case RelayFrame.Deny deny -> onDeny(ctx, deny);
                    case RelayFrame.ServerHello h -> fail(ctx, violation("second SERVER_HELLO"));
                    case RelayFrame.ServerAccept a -> fail(ctx, violation("second SERVER_ACCEPT"));
                    default -> events.frame(this, frame);
                }
            }
            case CLOSED -> {}
        }
    }

    private static ProtocolViolation violation(String message) {
        return new ProtocolViolation(ProtocolViolation.Kind.UNEXPECTED_FRAME, message);
    }

    private void onHello(ChannelHandlerContext ctx, RelayFrame.ServerHello hello) {
        if (hello.version() < RelayProtocol.MIN_VERSION
                || hello.minVersion() > RelayProtocol.VERSION
                || hello.minVersion() > hello.version()) {
            fail(
                    ctx,
                    new RelayDeniedException(
                            DenyReason.UNSUPPORTED_VERSION,
                            "relay speaks versions "
                                    + hello.minVersion() + ".." + hello.version() + ", this client "
                                    + RelayProtocol.MIN_VERSION
                                    + ".." + RelayProtocol.VERSION));
            return;
        }
        this.hello = hello;
        byte[] proof = RelayAuthProof.sign(identity, hello.challenge());
        // The highest version both speak (the range check above guarantees it is at least both minimums).
        int version = Math.min(RelayProtocol.VERSION, hello.version());
        ClientFrame.ClientAuth auth =
                new ClientFrame.ClientAuth(version, flags, identity.nodeKey(), proof, chain, software);
        phase = Phase.AWAITING_ACCEPT;
        ctx.writeAndFlush(auth).addListener(f -> {
            if (!f.isSuccess()) {
                fail(ctx, f.cause());
            }
        });
    }

    private void onAccept(ChannelHandlerContext ctx, RelayFrame.ServerAccept accept) {
        phase = Phase.READY;
        readyAtNanos = nanoClock.getAsLong();
        maxDatagram = (int) Math.min(accept.maxDatagram(), FrameLimits.MAX_DATAGRAM_PAYLOAD);
        long keepalive = accept.keepaliveMillis();
        if (keepalive > 0) {
            long k = Math.max(MIN_KEEPALIVE_MILLIS, Math.min(MAX_KEEPALIVE_MILLIS, keepalive));
            ctx.pipeline().addBefore(ctx.name(), IDLE, new IdleStateHandler(2 * k, 0, 0, TimeUnit.MILLISECONDS));
        }
        ready = true;
        schedulePing(ctx);
        events.accepted(this, hello, accept);
    }

    private void onDeny(ChannelHandlerContext ctx, RelayFrame.Deny deny) {
        metrics.denied(deny.reason());
        fail(ctx, new RelayDeniedException(deny.reason(), deny.message()));
    }

    private void answerPing(ChannelHandlerContext ctx, Frame.Ping ping) {
        // Pong backlog is bounded by writability: a relay flooding pings gets fewer answers, not our memory.
        if (ctx.channel().isWritable()) {
            ctx.writeAndFlush(new Frame.Pong(ping.data()), ctx.voidPromise());
        }
    }

    private void schedulePing(ChannelHandlerContext ctx) {
        long base = pingInterval.toNanos();
        long delay = base + (long) (ThreadLocalRandom.current().nextDouble() * PING_JITTER * base);
        pingTask = ctx.executor().schedule(() -> sendPing(ctx), delay, TimeUnit.NANOSECONDS);
    }

    private void sendPing(ChannelHandlerContext ctx) {
        if (phase != Phase.READY) {
            return;
        }
        if (outstandingPing == null) {
            byte[] data = new byte[PING_DATA_LENGTH];
            ThreadLocalRandom.current().nextBytes(data);
            outstandingPing = data;
            outstandingPingSentNanos = nanoClock.getAsLong();
            ctx.writeAndFlush(new Frame.Ping(data), ctx.voidPromise());
            pingTimeoutTask = ctx.executor()
                    .schedule(
                            () -> {
                                if (phase == Phase.READY && outstandingPing == data) {
                                    metrics.deadRelay(RelayClientMetrics.DeadCause.PING);
                                    fail(
                                            ctx,
                                            new RelayTimeoutException("relay did not answer PING within "
                                                    + pingTimeout.toMillis() + " ms"));
                                }
                            },
                            pingTimeout.toNanos(),
                            TimeUnit.NANOSECONDS);
        }
        schedulePing(ctx);
    }

    private void onPong(Frame.Pong pong) {
        byte[] expected = outstandingPing;
        if (expected == null || !Arrays.equals(expected, pong.data())) {
            return; // late or unsolicited: harmless
        }
        outstandingPing = null;
        if (pingTimeoutTask != null) {
            pingTimeoutTask.cancel(false);
        }
        Duration rtt = Duration.ofNanos(nanoClock.getAsLong() - outstandingPingSentNanos);
        metrics.rtt(rtt);
        events.rtt(this, rtt);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (phase == Phase.READY) {
                metrics.deadRelay(RelayClientMetrics.DeadCause.KEEPALIVE);
                fail(ctx, new RelayTimeoutException("no frame from relay for two keepalive intervals"));
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (phase == Phase.READY) {
            events.writabilityChanged(this, ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        fail(ctx, c);
    }

    private void fail(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof ProtocolViolation v && phase != Phase.CLOSED) {
            metrics.protocolViolation(v.kind());
        }
        if (closeCause == null) {
            closeCause = cause;
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        reportClosed();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        reportClosed(); // pipeline torn down without channelInactive (e.g. registration failure)
    }

    private void reportClosed() {
        phase = Phase.CLOSED;
        ready = false;
        if (pingTask != null) {
            pingTask.cancel(false);
        }
        if (pingTimeoutTask != null) {
            pingTimeoutTask.cancel(false);
        }
        if (closedReported) {
            return;
        }
        closedReported = true;
        Throwable cause = closeCause != null ? closeCause : new IOException("relay closed the connection");
        events.closed(this, cause);
    }
}
