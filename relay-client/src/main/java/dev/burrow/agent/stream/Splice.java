package dev.burrow.agent.stream;

import dev.burrow.protocol.RelayProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies bytes both ways between two {@link StreamEnd}s (a local TCP socket and a peer stream).
 *
 * <ul>
 *   <li><b>Backpressure</b>: both channels run with auto-read off; an end is read only while the
 *       other end is writable (below its write-buffer high-water mark), so at most one read's worth
 *       of bytes waits in memory per direction and TCP pushes back on a fast sender.</li>
 *   <li><b>Half-close</b>: when one end's input ends (FIN on a socket, close_notify on TLS), the
 *       other end's output is shut down after the bytes before it; the splice closes when both
 *       directions have ended.</li>
 *   <li><b>Resets</b>: an error or reset on one end resets the other (SO_LINGER 0), so the far
 *       application sees an abort rather than a clean end. A TLS end whose transport ends without
 *       close_notify is treated as truncated, i.e. reset: the relay cannot forge a clean end.</li>
 *   <li><b>Idle timeout</b>: no bytes either way for the timeout closes both ends.</li>
 *   <li><b>Watchdog</b>: once one end's input ended, {@link #STALL_TIMEOUT} without any progress
 *       either way aborts the splice ({@link SpliceOutcome#STALLED}, counted): a last line of
 *       defence against a lost end-of-stream event, not the way ends are propagated.</li>
 *   <li>Every failure stays inside this splice: nothing propagates past its handlers.</li>
 * </ul>
 */
public final class Splice {
    private static final Logger log = LoggerFactory.getLogger(Splice.class);
    public static final String HANDLER_NAME = "burrow-splice";
    public static final String IDLE_HANDLER_NAME = "burrow-splice-idle";

    /**
     * How long a finished TLS end waits for its transport's far side to close before closing
     * anyway (see {@link StreamEnd#closeWhenPeerCloses}). The relay closes a circuit as soon as
     * both directions ended, so this only matters when the relay is gone; it bounds the time a
     * finished stream holds a socket.
     */
    static final Duration CLOSE_LINGER = Duration.ofSeconds(10);

    /**
     * Reads of up to 256 KiB: with auto-read off each read request reads once, so the read size is
     * what one wake-up moves (and the TLS end turns it into full 16 KiB records). A bulk transfer
     * fills it; an interactive one keeps allocating small buffers.
     */
    static final RecvByteBufAllocator READS =
            new AdaptiveRecvByteBufAllocator(2048, 16 * 1024, RelayProtocol.SPLICE_MAX_READ);

    /**
     * The watchdog's bound: once one end's input has ended (FIN, close_notify), a splice in which no
     * byte moved either way and no output shutdown completed for this long is aborted (both ends
     * reset, outcome {@link SpliceOutcome#STALLED}). Not how ends are propagated (that is the
     * splice's event handling); a last line of defence so that a lost event cannot hold a stream
     * and its sockets forever. Long, because a server may legitimately think for minutes after a
     * client's FIN before it answers.
     */
    public static final Duration STALL_TIMEOUT = Duration.ofMinutes(5);

    /**
     * Bytes one direction may have written whose writes have not completed, beyond which the splice
     * stops reading that direction's input until they complete. Writability alone does not bound
     * this: a QUIC stream channel (the direct path) could report itself writable while its queue of
     * pending writes kept growing, and a 1 GiB transfer then filled the agent's direct memory
     * ({@code OutOfDirectMemoryError}, the stream reset; {@code dataplane.BulkBothPathsE2eTest}).
     */
    static final long MAX_QUEUED = 4L * RelayProtocol.SPLICE_MAX_READ;

    private final StreamEnd a;
    private final StreamEnd b;
    private final SpliceListener listener;
    private final Duration stallTimeout;
    /** Progress seen at the watchdog's last look (bytes both ways plus completed output shutdowns). */
    private long progressAtLastCheck = -1;

    private final AtomicLong aToB = new AtomicLong();
    private final AtomicLong bToA = new AtomicLong();
    /** Bytes written towards b (resp. a) whose write has not completed yet: see {@link #MAX_QUEUED}. */
    private final AtomicLong queuedToB = new AtomicLong();

    private final AtomicLong queuedToA = new AtomicLong();
    /** Reads of a (resp. b) held back because too much of what they read is still queued. */
    private final AtomicBoolean heldA = new AtomicBoolean();

    private final AtomicBoolean heldB = new AtomicBoolean();
    private final AtomicBoolean inputEndedA = new AtomicBoolean();
    private final AtomicBoolean inputEndedB = new AtomicBoolean();
    private final AtomicBoolean finished = new AtomicBoolean();
    /** Output shutdowns (of two) that have completed, and whether one of them failed. */
    private final AtomicInteger outputsShutDown = new AtomicInteger();

    private volatile boolean outputShutdownFailed;

    private Splice(StreamEnd a, StreamEnd b, SpliceListener listener, Duration stallTimeout) {
        this.a = a;
        this.b = b;
        this.listener = listener;
        this.stallTimeout = stallTimeout;
    }

    /**
     * Joins two active channels. Both are switched to auto-read off and half-closure on; the caller
     * must not read from them any more.
     *
     * @param idleTimeout no traffic either way for this long closes both; zero or null for none
     */
    public static Splice join(StreamEnd a, StreamEnd b, Duration idleTimeout, SpliceListener listener) {
        return join(a, b, idleTimeout, listener, STALL_TIMEOUT, 0);
    }

    /**
     * As above, counting {@code sentAtoBBefore} bytes that already went from A to B before the
     * splice (an optimistic open's first bytes), in {@link #bytesAtoB()} and what the listener gets.
     */
    public static Splice join(
            StreamEnd a, StreamEnd b, Duration idleTimeout, SpliceListener listener, long sentAtoBBefore) {
        return join(a, b, idleTimeout, listener, STALL_TIMEOUT, sentAtoBBefore);
    }

    /** As above with the watchdog's bound given (tests). */
    static Splice join(StreamEnd a, StreamEnd b, Duration idleTimeout, SpliceListener listener, Duration stallTimeout) {
        return join(a, b, idleTimeout, listener, stallTimeout, 0);
    }

    private static Splice join(
            StreamEnd a,
            StreamEnd b,
            Duration idleTimeout,
            SpliceListener listener,
            Duration stallTimeout,
            long sentAtoBBefore) {
        Splice s = new Splice(a, b, listener == null ? SpliceListener.NONE : listener, stallTimeout);
        s.aToB.set(sentAtoBBefore);
        for (StreamEnd end : new StreamEnd[] {a, b}) {
            Channel ch = end.channel();
            ch.config().setAutoRead(false);
            ch.config().setRecvByteBufAllocator(READS);
            try {
                ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            } catch (RuntimeException ignored) {
                // a channel without the option (tests' embedded channels) simply closes on EOF
            }
        }
        if (idleTimeout != null && !idleTimeout.isZero() && !idleTimeout.isNegative()) {
            a.channel()
                    .pipeline()
                    .addLast(
                            IDLE_HANDLER_NAME, new IdleStateHandler(0, 0, idleTimeout.toNanos(), TimeUnit.NANOSECONDS));
        }
        a.channel().pipeline().addLast(HANDLER_NAME, s.new Side(a, b, true));
        b.channel().pipeline().addLast(HANDLER_NAME, s.new Side(b, a, false));
        // What arrived before the splice (epoll and io_uring read a half-closed socket unasked)
        // now reaches the Sides, in order, before any read the splice asks for.
        handOverOnItsLoop(a.channel());
        handOverOnItsLoop(b.channel());
        if (!a.channel().isActive() || !b.channel().isActive()) {
            s.abort(SpliceOutcome.RESET, null);
            return s;
        }
        s.requestRead(true);
        s.requestRead(false);
        return s;
    }

    /**
     * Removes the hold on the channel's own loop, after the Side's {@code handlerAdded} (queued
     * there by {@code addLast} from another thread) and before the splice's first read. Removed
     * from another thread, the hold was unlinked at once while that Side still waited to be added,
     * and a read in between passed both and was dropped at the pipeline's tail: a forward's
     * optimistic open has a read outstanding on the local connection while the splice joins from
     * the stream's loop, and one HTTP request in about 2,500 under load was lost that way.
     */
    private static void handOverOnItsLoop(Channel ch) {
        if (ch.eventLoop().inEventLoop()) {
            EarlyInput.handOver(ch);
        } else {
            ch.eventLoop().execute(() -> EarlyInput.handOver(ch));
        }
    }

    public long bytesAtoB() {
        return aToB.get();
    }

    public long bytesBtoA() {
        return bToA.get();
    }

    public boolean isFinished() {
        return finished.get();
    }

    /** Closes both ends gracefully (configuration reload, shutdown). */
    public void close() {
        if (finished.compareAndSet(false, true)) {
            a.closeAfterFlush();
            b.closeAfterFlush();
            listener.ended(aToB.get(), bToA.get(), SpliceOutcome.CLOSED);
        }
    }

    /** Asks one end for one more read, on its own event loop, only while its input has not ended. */
    private void requestRead(boolean endA) {
        Channel ch = (endA ? a : b).channel();
        if (ch.eventLoop().inEventLoop()) {
            readNow(ch, endA);
        } else {
            ch.eventLoop().execute(() -> readNow(ch, endA));
        }
    }

    private void readNow(Channel ch, boolean endA) {
        if (finished.get() || inputEndedOf(endA) || !ch.isActive()) {
            return;
        }
        AtomicLong queued = endA ? queuedToB : queuedToA;
        if (queued.get() >= MAX_QUEUED) {
            AtomicBoolean held = endA ? heldA : heldB;
            held.set(true);
            // a write may have completed between the check and the flag: then nobody would resume us
            if (queued.get() >= MAX_QUEUED || !held.compareAndSet(true, false)) {
                return; // the write that brings the queue below the bound resumes reading
            }
        }
        ch.read();
    }

    /** A write of {@code bytes} read from a (resp. b) completed: resume reading there if it was held. */
    private void writeCompleted(boolean fromA, long bytes) {
        long left = (fromA ? queuedToB : queuedToA).addAndGet(-bytes);
        if (left < MAX_QUEUED && (fromA ? heldA : heldB).compareAndSet(true, false)) {
            requestRead(fromA);
        }
    }

    private boolean inputEndedOf(boolean a) {
        return (a ? inputEndedA : inputEndedB).get();
    }

    private void inputEnded(boolean fromA) {
        AtomicBoolean flag = fromA ? inputEndedA : inputEndedB;
        if (!flag.compareAndSet(false, true) || finished.get()) {
            return;
        }
        StreamEnd other = fromA ? b : a;
        if (!(fromA ? inputEndedB : inputEndedA).get()) {
            startWatchdog(); // the first end to close starts it
        }
        other.shutdownOutput().addListener(f -> {
            if (!f.isSuccess()) {
                // That end's channel died under us: what we still had for it is lost, but the
                // other direction is not, so nothing else is reset.
                outputShutdownFailed = true;
            }
            outputsShutDown.incrementAndGet();
            finishIfDone();
        });
    }

    /**
     * Closes both ends once both inputs ended and both output shutdowns completed: only then has
     * every byte been written. Closing when the inputs ended would cut off what is still queued for
     * the slower reader.
     */
    private void finishIfDone() {
        if (inputEndedA.get()
                && inputEndedB.get()
                && outputsShutDown.get() == 2
                && finished.compareAndSet(false, true)) {
            a.closeWhenPeerCloses(CLOSE_LINGER);
            b.closeWhenPeerCloses(CLOSE_LINGER);
            listener.ended(aToB.get(), bToA.get(), outputShutdownFailed ? SpliceOutcome.RESET : SpliceOutcome.CLOSED);
        }
    }

    private long progress() {
        return aToB.get() + bToA.get() + outputsShutDown.get();
    }

    /** Looks every half {@link #stallTimeout} on a's loop; two looks without progress abort the splice. */
    private void startWatchdog() {
        long period = Math.max(1, stallTimeout.toNanos() / 2);
        a.channel().eventLoop().execute(() -> scheduleWatchdog(period));
    }

    private void scheduleWatchdog(long periodNanos) {
        if (finished.get()) {
            return;
        }
        a.channel()
                .eventLoop()
                .schedule(
                        () -> {
                            if (finished.get()) {
                                return;
                            }
                            long now = progress();
                            if (now == progressAtLastCheck) {
                                // nothing moved since the last look, half the timeout ago
                                stalledLooks++;
                            } else {
                                stalledLooks = 0;
                            }
                            progressAtLastCheck = now;
                            if (stalledLooks
                                    >= 2) { // two such looks in a row: at least the whole timeout without progress
                                log.warn(
                                        "splice {} <-> {}: one end closed and no progress for {}; aborting (watchdog)",
                                        a,
                                        b,
                                        stallTimeout);
                                abort(SpliceOutcome.STALLED, null);
                                return;
                            }
                            scheduleWatchdog(periodNanos);
                        },
                        periodNanos,
                        TimeUnit.NANOSECONDS);
    }

    private int stalledLooks;

    private void abort(SpliceOutcome outcome, StreamEnd failedOrNull) {
        if (!finished.compareAndSet(false, true)) {
            return;
        }
        if (outcome == SpliceOutcome.IDLE_TIMEOUT) {
            a.closeAfterFlush();
            b.closeAfterFlush();
        } else {
            a.reset();
            b.reset();
        }
        log.debug("splice {} <-> {} ended: {} (failed end: {})", a, b, outcome, failedOrNull);
        listener.ended(aToB.get(), bToA.get(), outcome);
    }

    /** The handler at the tail of one end's pipeline. */
    private final class Side extends ChannelDuplexHandler {
        private final StreamEnd self;
        private final StreamEnd other;
        private final boolean isA;
        private boolean closeNotifySeen;

        Side(StreamEnd self, StreamEnd other, boolean isA) {
            this.self = self;
            this.other = other;
            this.isA = isA;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf) || finished.get()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            int bytes = buf.readableBytes();
            (isA ? aToB : bToA).addAndGet(bytes);
            (isA ? queuedToB : queuedToA).addAndGet(bytes);
            other.channel().write(buf).addListener(f -> {
                if (!f.isSuccess()) {
                    log.debug("splice write to {} failed", other, f.cause());
                    abort(SpliceOutcome.RESET, other);
                } else {
                    writeCompleted(isA, bytes);
                }
            });
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            other.channel().flush();
            if (other.channel().isWritable()) {
                requestRead(isA);
            }
            // else: other side's channelWritabilityChanged resumes our reads
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // This end drained: the other end may read again (unless its input already ended:
            // epoll refuses read interest on a socket whose input is shut down).
            if (ctx.channel().isWritable() && !finished.get()) {
                requestRead(!isA);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslCloseCompletionEvent) {
                // Either our end-to-end TLS got close_notify (a clean end of the peer's direction),
                // or an outer transport's TLS (the relay connection) ended: only the first counts.
                if (self.cleanlyEnded()) {
                    closeNotifySeen = true;
                    inputEnded(isA);
                }
            } else if (evt instanceof ChannelInputShutdownEvent) {
                if (!self.isTls()) {
                    inputEnded(isA);
                } else if (self.cleanlyEnded()) {
                    closeNotifySeen = true;
                    inputEnded(isA);
                } else {
                    abort(SpliceOutcome.TRUNCATED, self);
                }
            } else if (evt instanceof IdleStateEvent) {
                abort(SpliceOutcome.IDLE_TIMEOUT, null);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (inputEndedA.get() && inputEndedB.get()) {
                // Both directions ended cleanly; the far side may close before our last bytes to the
                // other end are out. The pending output shutdowns finish the splice.
                return;
            }
            // Closed without both directions ending: the far side went away abruptly.
            abort(self.isTls() && !closeNotifySeen ? SpliceOutcome.TRUNCATED : SpliceOutcome.RESET, self);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("splice end {} failed: {}", self, cause.toString());
            abort(SpliceOutcome.RESET, self);
        }
    }
}
