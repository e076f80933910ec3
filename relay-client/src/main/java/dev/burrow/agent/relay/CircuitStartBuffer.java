package dev.burrow.agent.relay;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Holds what arrives on a circuit between CIRCUIT_ATTACHED and the moment its new owner is ready:
 * bytes that came in the same read as ATTACHED, input shutdown and other events, exceptions and the
 * close. They are replayed, in order, to the handlers added after this one, at the first of:
 * {@link CircuitConnection#start()} with handlers present, the owner's first read request
 * ({@code channel.read()} or {@code setAutoRead(true)}), or the channel closing with handlers
 * present. Then this handler leaves the pipeline.
 *
 * <p>Bounded: {@code autoRead} is off from ATTACHED on, so at most the rest of one read arrives
 * before the owner asks for more. Held buffers are released if the pipeline is torn down first.
 */
final class CircuitStartBuffer extends ChannelDuplexHandler {
    static final String NAME = "circuit-start";

    private record HeldEvent(Object event) {}

    private record HeldException(Throwable cause) {}

    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private boolean inactive;
    private boolean releasing;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        held.add(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // delivered with the held bytes
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        held.add(new HeldEvent(evt));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        held.add(new HeldException(cause));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        inactive = true;
        if (hasOwnerHandlers(ctx.pipeline())) {
            release(ctx.pipeline()); // the owner's handlers are in: let them see the data and the close
        }
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        ChannelPipeline p = ctx.pipeline();
        release(p);
        ctx.read();
    }

    private boolean hasOwnerHandlers(ChannelPipeline pipeline) {
        return pipeline.last() != this;
    }

    /** {@link CircuitConnection#start()}: replays now if the owner has added handlers, else at its first read. */
    void start(ChannelPipeline pipeline) {
        if (hasOwnerHandlers(pipeline)) {
            release(pipeline);
        }
    }

    /** Replays what was held to the handlers after this one and leaves the pipeline. Event loop only. */
    void release(ChannelPipeline pipeline) {
        if (releasing || pipeline.context(this) == null) {
            return;
        }
        releasing = true;
        pipeline.remove(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (!releasing) {
            // torn down before anyone took the circuit
            Object o;
            while ((o = held.poll()) != null) {
                if (!(o instanceof HeldEvent) && !(o instanceof HeldException)) {
                    ReferenceCountUtil.release(o);
                }
            }
            return;
        }
        boolean read = false;
        Object o;
        while ((o = held.poll()) != null) {
            if (o instanceof HeldEvent e) {
                if (read) {
                    ctx.fireChannelReadComplete();
                    read = false;
                }
                ctx.fireUserEventTriggered(e.event());
            } else if (o instanceof HeldException e) {
                ctx.fireExceptionCaught(e.cause());
            } else {
                ctx.fireChannelRead(o);
                read = true;
            }
        }
        if (read) {
            ctx.fireChannelReadComplete();
        }
        if (inactive) {
            ctx.fireChannelInactive();
        }
    }
}
