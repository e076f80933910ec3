package dev.burrow.agent.forward;

import dev.burrow.agent.stream.EarlyInput;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.NoSuchElementException;

/**
 * Optimistic open, the dialer's side: on a stream whose path authenticated the peer (a relay
 * session, the direct path) the local client's first bytes go to the peer right after OPEN instead
 * of after STATUS, so a client-first request costs one round trip, not two. The listener's gate
 * holds them until it admits the stream and drops them when it refuses it (a refused stream's bytes
 * never reach a target; {@code docs/protocol.md}, *Direct streams* and *Relay sessions*).
 *
 * <p>A handler on every forwarded local connection, before its {@link EarlyInput} hold, from the
 * accept until the splice joins ({@link #retire}). It passes everything on until {@link #start}
 * arms it with the stream (once OPEN is written); armed, it reads the local socket and writes what
 * it reads to the stream, at most {@link #BUDGET} bytes; the read that would pass the budget, an end
 * of input, and anything after {@link #retire} go on to the hold and reach the splice in order.
 * Arming and retiring are one decision under the handler's lock, so a start that comes after the
 * splice joined does nothing and every byte sent is counted. Everything it writes leaves from the
 * local connection's event loop, as the splice's own writes do later, so the stream gets the bytes
 * in the order they were read. Not armed when the hold already has something (epoll read the
 * socket before the stream existed): those bytes must go first.
 */
final class OptimisticSend extends ChannelInboundHandlerAdapter {
    static final String NAME = "burrow-optimistic-send";

    /**
     * Bytes sent before STATUS. A request's first read (an HTTP request, a TLS ClientHello) fits
     * many times over; the listener holds up to 1 MiB of early bytes per stream and closes a stream
     * that sends more, so an upload waits for STATUS after these.
     */
    static final int BUDGET = 64 * 1024;

    // Under this: the stream once armed (null before), bytes sent, and whether it sends any more.
    private Channel stream;
    private long sent;
    private boolean done;

    private OptimisticSend() {}

    /** At the accept, on the local connection's loop, after {@link EarlyInput#install}. */
    static void install(Channel local) {
        local.pipeline().addBefore(EarlyInput.NAME, NAME, new OptimisticSend());
    }

    /**
     * On the local connection's event loop, once OPEN is on its way: starts sending the local
     * client's bytes to {@code stream}, unless the splice already joined or the hold has bytes or
     * an end of input waiting.
     */
    static void start(Channel local, Channel stream) {
        if (!(local.pipeline().get(NAME) instanceof OptimisticSend s) || !EarlyInput.holdsNothing(local)) {
            return;
        }
        synchronized (s) {
            if (s.done || s.stream != null) {
                return;
            }
            s.stream = stream;
        }
        local.read();
    }

    /**
     * Stops sending and leaves the pipeline (the splice takes over); returns the bytes sent before.
     * Any thread.
     */
    static long retire(Channel local) {
        if (!(local.pipeline().get(NAME) instanceof OptimisticSend s)) {
            return 0;
        }
        long sent;
        synchronized (s) {
            s.done = true;
            sent = s.sent;
        }
        try {
            local.pipeline().remove(s);
        } catch (NoSuchElementException raced) {
            // the channel closed meanwhile
        }
        return sent;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel to = null;
        if (msg instanceof ByteBuf buf) {
            synchronized (this) {
                if (!done && stream != null) {
                    if (!stream.isActive() || sent + buf.readableBytes() > BUDGET) {
                        done = true; // this read and what follows wait in the hold (for STATUS, or the close)
                    } else {
                        sent += buf.readableBytes();
                        to = stream;
                    }
                }
            }
        }
        if (to == null) {
            ctx.fireChannelRead(msg);
            return;
        }
        to.writeAndFlush(msg); // a failed write (the stream closed) releases it
        ctx.read();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        synchronized (this) {
            done = true; // an end of input (or anything else) waits in the hold, after the bytes sent
        }
        ctx.fireUserEventTriggered(evt);
    }
}
