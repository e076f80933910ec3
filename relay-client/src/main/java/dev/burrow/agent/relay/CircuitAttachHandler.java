package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import java.io.IOException;

/**
 * The client end of a circuit connection: sends CIRCUIT_ATTACH once the transport is ready, waits
 * for CIRCUIT_ATTACHED (or DENY), then takes the frame codec out of the pipeline so the channel
 * carries raw circuit bytes, leaving a {@link CircuitStartBuffer} to hold bytes that came with
 * ATTACHED. {@code autoRead} is turned off at that moment: the new owner decides when to read.
 */
final class CircuitAttachHandler extends ChannelInboundHandlerAdapter {
    static final String NAME = "attach";

    private final CircuitId circuitId;
    private final CircuitToken token;
    private final Promise<Channel> attached;
    private ChannelHandlerContext ctx;
    /** The HTTP upgrade to the circuit protocol succeeded (the relay took the connection). */
    private volatile boolean transportReady;

    CircuitAttachHandler(CircuitId circuitId, CircuitToken token, Promise<Channel> attached) {
        this.circuitId = circuitId;
        this.token = token;
        this.attached = attached;
    }

    boolean transportReady() {
        return transportReady;
    }

    Promise<Channel> attached() {
        return attached;
    }

    /** Fails the attachment (if still pending) and closes; true if this call failed it. */
    boolean fail(Throwable cause) {
        boolean failed = attached.tryFailure(cause);
        if (ctx != null) {
            ctx.close();
        }
        return failed;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == TransportReadyEvent.INSTANCE) {
            transportReady = true;
            ctx.writeAndFlush(new ClientFrame.CircuitAttach(circuitId, token)).addListener(f -> {
                if (!f.isSuccess()) {
                    fail(f.cause());
                }
            });
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent) {
            fail(new IOException("relay closed the circuit connection before CIRCUIT_ATTACHED"));
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (attached.isDone()) {
                return;
            }
            switch (msg) {
                case RelayFrame.CircuitAttached a -> handOver(ctx);
                case RelayFrame.Deny d -> fail(new RelayDeniedException(d.reason(), d.message()));
                default ->
                    fail(new ProtocolViolation(
                            ProtocolViolation.Kind.UNEXPECTED_FRAME, "unexpected message while attaching a circuit"));
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void handOver(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        ch.config().setAutoRead(false);
        ChannelPipeline p = ctx.pipeline();
        p.remove(RelayDialer.FRAME_ENCODER);
        p.replace(this, CircuitStartBuffer.NAME, new CircuitStartBuffer());
        // Removing the decoder forwards the bytes it holds (data after ATTACHED) to the start buffer.
        p.remove(RelayDialer.FRAME_DECODER);
        // Complete on the next loop turn: the caller's code must not run inside the decoder's read.
        ch.eventLoop().execute(() -> {
            if (!attached.trySuccess(ch)) {
                ch.close();
            }
        });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        fail(c);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        attached.tryFailure(new IOException("relay closed the circuit connection before CIRCUIT_ATTACHED"));
        ctx.fireChannelInactive();
    }
}
