package dev.burrow.agent.stream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.NoSuchElementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds what a future splice end delivers before the {@link Splice} joins it, and hands it to the
 * splice in order when {@link Splice#join} removes this handler.
 *
 * <p>Why it exists: Netty's epoll and io_uring transports read a socket whose peer half-closed
 * (EPOLLRDHUP / POLLRDHUP) even with auto-read off and no read requested, and fire the bytes and
 * {@link ChannelInputShutdownEvent} down the pipeline at once; NIO reads nothing until asked. A
 * client that writes its request and half-closes before the circuit to the peer is open (or a
 * target that answers and closes before the splice starts) would otherwise have its bytes and its
 * end of input dropped at the pipeline's tail. The same holds for the bytes and close_notify that
 * arrive in one TLS read with the peer's STATUS.
 *
 * <p>Bounded: the bytes held are what the kernel had received before anyone read the socket, at
 * most its initial receive buffer; more than {@link #MAX_HELD_BYTES} closes the connection.
 * Everything held is either passed on or released, also when the channel closes first.
 */
public final class EarlyInput extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(EarlyInput.class);
    public static final String NAME = "burrow-early-input";

    /**
     * 8× Linux's default initial TCP receive buffer (tcp_rmem[1], 128 KiB): a socket nobody has
     * read from yet cannot hold more (the receive window grows only as the application reads), and
     * one TLS read after STATUS is at most a few records. Above this something else is wrong.
     */
    static final int MAX_HELD_BYTES = 1024 * 1024;

    private final ArrayDeque<ByteBuf> bytes = new ArrayDeque<>();
    private final ArrayDeque<Object> events = new ArrayDeque<>();
    private long heldBytes;
    private boolean overflowed;

    /** Adds a hold at the end of the channel's pipeline (the splice's handlers go after it). */
    public static void install(Channel ch) {
        if (ch.pipeline().get(NAME) == null) {
            ch.pipeline().addLast(NAME, new EarlyInput());
        }
    }

    /** Adds a hold right after {@code ctx}'s handler (a handler that hands over to the splice). */
    public static void installAfter(ChannelHandlerContext ctx) {
        if (ctx.pipeline().get(NAME) == null) {
            ctx.pipeline().addAfter(ctx.name(), NAME, new EarlyInput());
        }
    }

    /** Removes the hold, if any: what it held goes to the handlers after it, in order. */
    static void handOver(Channel ch) {
        if (ch.pipeline().get(NAME) != null) {
            try {
                ch.pipeline().remove(NAME);
            } catch (NoSuchElementException raced) {
                // removed meanwhile (the channel closed): nothing to hand over
            }
        }
    }

    /**
     * Whether the channel's hold (if any) has nothing waiting, neither bytes nor events. On the
     * channel's event loop.
     */
    public static boolean holdsNothing(Channel ch) {
        return !(ch.pipeline().get(NAME) instanceof EarlyInput e) || (e.bytes.isEmpty() && e.events.isEmpty());
    }

    /** Bytes held now (tests). */
    long heldBytes() {
        return heldBytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || overflowed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (heldBytes + buf.readableBytes() > MAX_HELD_BYTES) {
            overflowed = true;
            buf.release();
            releaseAll();
            log.warn(
                    "{} delivered more than {} bytes before its splice started; closing it",
                    ctx.channel(),
                    MAX_HELD_BYTES);
            ctx.close();
            return;
        }
        heldBytes += buf.readableBytes();
        bytes.add(buf);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // held: the splice has nothing to flush yet
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent
                || evt instanceof ChannelInputShutdownReadComplete
                || evt instanceof SslCloseCompletionEvent) {
            events.add(evt);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (overflowed || !ctx.channel().isRegistered()) {
            releaseAll();
            return;
        }
        // Bytes first, then the end of input they came before, then one read-complete (the splice
        // flushes there and asks for more, which the end of input already ruled out if it came).
        boolean any = !bytes.isEmpty();
        ByteBuf b;
        while ((b = bytes.poll()) != null) {
            ctx.fireChannelRead(b);
        }
        heldBytes = 0;
        Object e;
        while ((e = events.poll()) != null) {
            ctx.fireUserEventTriggered(e);
        }
        if (any) {
            ctx.fireChannelReadComplete();
        }
    }

    private void releaseAll() {
        ByteBuf b;
        while ((b = bytes.poll()) != null) {
            b.release();
        }
        heldBytes = 0;
        events.clear();
    }
}
