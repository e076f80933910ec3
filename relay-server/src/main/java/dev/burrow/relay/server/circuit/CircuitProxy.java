package dev.burrow.relay.server.circuit;

import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.net.CircuitAttachHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Copies bytes between the two ends of an active circuit, with backpressure and half-close.
 *
 * <p>Auto-read is off on both channels; a side is read only while the other side is writable (below
 * its high-water mark), and reading resumes when it becomes writable again, so no buffer grows past
 * one read plus the other side's high-water mark. When one side's input ends (TCP FIN, or TLS
 * close_notify) the other side's output is shut down after everything before it has been written
 * (TLS close_notify, or TCP FIN without TLS), and the other direction keeps flowing. Both channels
 * close once <em>both</em> directions have finished, that is once each side's output shutdown has been
 * written (writes are ordered, so every byte before it went out first): closing as soon as both
 * inputs ended would cut off whatever was still queued for a slow reader. On any error both close. WebSocket has no half-close: the end of one side
 * closes both. A circuit idle in both directions for the idle timeout is closed.
 */
final class CircuitProxy extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    private final RelayMetrics metrics;
    private CircuitProxy peerProxy;
    /** Directions (of two) whose end has been written to the receiving side; shared by both proxies. */
    private AtomicInteger finishedDirections;

    private boolean inputDone;
    private boolean readPending;
    private Runnable onIdle;

    private CircuitProxy(Channel peer, RelayMetrics metrics) {
        this.peer = peer;
        this.metrics = metrics;
    }

    /**
     * Reads of up to 256 KiB: with auto-read off each read request reads once, so the read size is
     * what a wake-up moves. A bulk transfer fills it; an interactive one allocates small buffers.
     */
    static final RecvByteBufAllocator CIRCUIT_READS =
            new AdaptiveRecvByteBufAllocator(2048, 16 * 1024, RelayProtocol.SPLICE_MAX_READ);

    /**
     * Joins two attached circuit connections (each with a {@link CircuitAttachHandler}); any thread.
     * When they live on different event loops, {@code b} first moves to {@code a}'s: otherwise every
     * read would hand its bytes to another thread (a queued task and a wake-up per read), which
     * roughly triples the relay's CPU per byte on a single busy circuit.
     */
    static void join(Channel a, Channel b, Duration idleTimeout, RelayMetrics metrics) {
        join(a, b, true, idleTimeout, metrics);
    }

    /** As above; {@code announceB} false leaves out b's CIRCUIT_ATTACHED (b is a mesh link to the other relay). */
    static void join(Channel a, Channel b, boolean announceB, Duration idleTimeout, RelayMetrics metrics) {
        if (a.eventLoop() == b.eventLoop()) {
            joinOnOneLoop(a, b, announceB, idleTimeout, metrics);
            return;
        }
        b.eventLoop()
                .execute(() -> b.deregister().addListener(f -> {
                    if (!f.isSuccess() || !b.isOpen()) {
                        a.close();
                        b.close();
                        return;
                    }
                    a.eventLoop().register(b).addListener(g -> {
                        if (!g.isSuccess()) {
                            a.close();
                            b.close();
                            return;
                        }
                        joinOnOneLoop(a, b, announceB, idleTimeout, metrics);
                    });
                }));
    }

    private static void joinOnOneLoop(
            Channel a, Channel b, boolean announceB, Duration idleTimeout, RelayMetrics metrics) {
        // CIRCUIT_ATTACHED is queued on both channels before any circuit byte can be written to either:
        // writes from one thread reach each channel's event loop in order.
        a.writeAndFlush(new RelayFrame.CircuitAttached());
        if (announceB) {
            b.writeAndFlush(new RelayFrame.CircuitAttached());
        }
        splice(a, b, idleTimeout, metrics, null);
    }

    /**
     * Copies between {@code a} and {@code b} (whatever was to be written first is already queued);
     * {@code onIdleOrNull} runs when the idle timeout closes the pair.
     */
    static void splice(Channel a, Channel b, Duration idleTimeout, RelayMetrics metrics, Runnable onIdleOrNull) {
        CircuitProxy pa = new CircuitProxy(b, metrics);
        CircuitProxy pb = new CircuitProxy(a, metrics);
        pa.peerProxy = pb;
        pb.peerProxy = pa;
        AtomicInteger finished = new AtomicInteger();
        pa.finishedDirections = finished;
        pb.finishedDirections = finished;
        pa.onIdle = onIdleOrNull;
        pb.onIdle = onIdleOrNull;
        a.eventLoop().execute(() -> install(a, pa, idleTimeout));
        b.eventLoop().execute(() -> install(b, pb, idleTimeout));
    }

    private static void install(Channel ch, CircuitProxy proxy, Duration idleTimeout) {
        if (!ch.isActive()) {
            proxy.peer.close();
            return;
        }
        MeshCircuits.EarlyBytes attach = ch.pipeline().get(MeshCircuits.EarlyBytes.class);
        ByteBuf early = attach == null ? null : attach.takeEarlyBytes();
        if (attach != null) {
            ch.pipeline().replace(attach, "circuit-proxy", proxy);
        } else {
            ch.pipeline().addLast("circuit-proxy", proxy);
        }
        ch.pipeline()
                .addBefore(
                        "circuit-proxy",
                        "circuit-idle",
                        new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
        if (early != null && early.isReadable()) {
            proxy.metrics.circuitBytes(early.readableBytes());
            proxy.peer.writeAndFlush(early);
        } else if (early != null) {
            early.release();
        }
        ch.config().setRecvByteBufAllocator(CIRCUIT_READS);
        proxy.requestRead(ch);
    }

    private void requestRead(Channel self) {
        if (inputDone) {
            return;
        }
        if (peer.isWritable()) {
            readPending = false;
            self.read();
        } else {
            readPending = true;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            metrics.circuitBytes(buf.readableBytes());
            peer.write(buf, peer.voidPromise());
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
        requestRead(ctx.channel());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        // This side drained: let the other side read again.
        if (ctx.channel().isWritable() && peerProxy != null) {
            peer.eventLoop().execute(() -> {
                if (peerProxy.readPending) {
                    peerProxy.requestRead(peer);
                }
            });
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            inputEnded(ctx);
        } else if (evt instanceof IdleStateEvent) {
            if (onIdle != null && ctx.channel().isActive()) {
                onIdle.run();
            }
            ctx.close();
            peer.close();
        }
        super.userEventTriggered(ctx, evt);
    }

    private void inputEnded(ChannelHandlerContext ctx) {
        if (inputDone) {
            return;
        }
        inputDone = true;
        Channel self = ctx.channel();
        if (self.pipeline().get(WebSocketFrameDecoder.class) != null
                || peer.pipeline().get(WebSocketFrameDecoder.class) != null) {
            ctx.close();
            peer.close();
            return;
        }
        peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                peer.close();
                self.close();
                return;
            }
            SslHandler ssl = peer.pipeline().get(SslHandler.class);
            if (ssl != null) {
                ssl.closeOutbound().addListener(done -> directionFinished(self, done.isSuccess()));
            } else if (peer instanceof DuplexChannel d) {
                d.shutdownOutput().addListener(done -> directionFinished(self, done.isSuccess()));
            } else {
                peer.close();
            }
        });
    }

    /** This direction's end reached the other side; when both have, the circuit is over. */
    private void directionFinished(Channel self, boolean written) {
        if (!written || finishedDirections.incrementAndGet() == 2) {
            self.close();
            peer.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        peer.close();
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
        peer.close();
    }
}
