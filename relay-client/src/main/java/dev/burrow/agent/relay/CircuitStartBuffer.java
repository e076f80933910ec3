package dev.burrow.agent.relay;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Holds what arrives on a circuit between CIRCUIT_ATTACHED and the moment its new owner has set
 * up its handlers ({@link CircuitConnection#start()}): bytes that came in the same read as
 * ATTACHED, input shutdown, exceptions and the close. Bounded: {@code autoRead} is off from
 * ATTACHED on, so at most the rest of one read can arrive. Released buffers on teardown.
 */
final class CircuitStartBuffer extends ChannelInboundHandlerAdapter {
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
    }

    /** Replays what was held to the handlers after this one and leaves the pipeline. Event loop only. */
    void release(ChannelPipeline pipeline) {
        if (pipeline.context(this) == null) {
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
                ReferenceCountUtil.release(o);
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
