package dev.burrow.agent.forward;

import dev.burrow.agent.stream.EarlyInput;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.NoSuchElementException;

/**
 * Optimistic open, the dialer's side: on a stream whose path authenticated the peer (a relay
 * session, the direct path) the local client's first bytes go to the peer right after OPEN instead
 * of after STATUS, so a client-first request costs one round trip, not two. The listener's gate
 * holds them until it admits the stream and drops them when it refuses it (a refused stream's bytes
 * never reach a target; {@code docs/protocol.md}, *Direct streams* and *Relay sessions*).
 *
 * <p>A handler on the local connection, before its {@link EarlyInput} hold, from OPEN until the
 * splice joins (then {@link #remove}): it reads the local socket and writes what it reads to the
 * stream, at most {@link #BUDGET} bytes; the read that would pass the budget, and an end of input,
 * go on to the hold and reach the splice in order after STATUS. Everything it writes leaves from the
 * local connection's event loop, as the splice's own writes do later, so the stream gets the bytes in
 * the order they were read. Not used when the hold already has something (epoll read the socket
 * before the stream existed): those bytes must go first.
 */
final class OptimisticSend extends ChannelInboundHandlerAdapter {
    static final String NAME = "burrow-optimistic-send";

    /**
     * Bytes sent before STATUS. A request's first read (an HTTP request, a TLS ClientHello) fits
     * many times over; the listener holds up to 1 MiB of early bytes per stream and closes a stream
     * that sends more, so an upload waits for STATUS after these.
     */
    static final int BUDGET = 64 * 1024;

    private final Channel stream;
    private long sent;
    private boolean stopped;

    private OptimisticSend(Channel stream) {
        this.stream = stream;
    }

    /**
     * On the local connection's event loop, once OPEN is on its way: starts sending the local
     * client's bytes to {@code stream}. Does nothing when the local connection is gone, the splice
     * already joined, or the hold has bytes or an end of input waiting.
     */
    static void start(Channel local, Channel stream) {
        if (!local.isActive() || local.pipeline().get(EarlyInput.NAME) == null || !EarlyInput.holdsNothing(local)) {
            return;
        }
        local.pipeline().addBefore(EarlyInput.NAME, NAME, new OptimisticSend(stream));
        local.read();
    }

    /** Stops sending (the splice takes over); returns the handler (for {@link #sentSoFar}) or null. Any thread. */
    static OptimisticSend remove(Channel local) {
        if (local.pipeline().get(NAME) instanceof OptimisticSend s) {
            try {
                local.pipeline().remove(s);
            } catch (NoSuchElementException raced) {
                // the channel closed meanwhile
            }
            return s;
        }
        return null;
    }

    /** Bytes sent to the peer before STATUS. Any thread. */
    synchronized long sentSoFar() {
        return sent;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || stopped) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (!stream.isActive()) {
            stopped = true; // refused or failed: the forward closes the local connection
            ReferenceCountUtil.release(msg);
            return;
        }
        int n = buf.readableBytes();
        if (sentSoFar() + n > BUDGET) {
            stopped = true; // this read and what follows wait for STATUS in the hold
            ctx.fireChannelRead(msg);
            return;
        }
        synchronized (this) {
            sent += n;
        }
        stream.writeAndFlush(buf); // a failed write (the stream closed) releases it
        ctx.read();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        stopped = true; // an end of input (or anything else) waits in the hold, after the bytes sent
        ctx.fireUserEventTriggered(evt);
    }
}
