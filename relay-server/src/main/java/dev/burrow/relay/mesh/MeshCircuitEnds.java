package dev.burrow.relay.mesh;

import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.FrameType;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.CircuitAttachHandler;
import dev.burrow.relay.server.net.RelayContext;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/** The two ends of a mesh circuit connection (one per cross-relay circuit, after the mesh handshake). */
final class MeshCircuitEnds {
    private MeshCircuitEnds() {}

    /**
     * On the listener's relay: the connection's one frame is CIRCUIT_ATTACH, handed (as the relay
     * protocol's attach) to a {@link CircuitAttachHandler}, which checks the dialer token like any
     * attach; the answer (CIRCUIT_ATTACHED or DENY) is written with the relay frame encoder.
     */
    static final class Acceptor extends ChannelInboundHandlerAdapter {
        private final RelayContext rc;

        Acceptor(RelayContext rc) {
            this.rc = rc;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof MeshFrame.CircuitAttach a)) {
                ReferenceCountUtil.release(msg);
                rc.metrics().meshEvent(MeshEvent.PROTOCOL_ERROR);
                ctx.close();
                return;
            }
            var p = ctx.pipeline();
            p.addLast("frame-encoder", RelayFrameEncoder.INSTANCE);
            p.addAfter(ctx.name(), "circuit-attach", new CircuitAttachHandler(rc));
            ctx.fireChannelRead(new ClientFrame.CircuitAttach(a.circuitId(), a.token()));
            if (p.get(MeshFrameDecoder.class) != null) {
                p.remove(MeshFrameDecoder.class); // anything behind the attach reaches the attach handler raw
            }
            if (p.get(MeshFrameEncoder.class) != null) {
                p.remove(MeshFrameEncoder.class);
            }
            p.remove(this);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            rc.metrics().meshEvent(MeshEvent.PROTOCOL_ERROR);
            ctx.close();
        }
    }

    /**
     * On the dialer's relay, after sending CIRCUIT_ATTACH: waits for the listener relay's
     * CIRCUIT_ATTACHED (the relay protocol's empty frame 0x39), then stops reading and keeps whatever
     * followed it as early circuit bytes for the proxy; anything else fails the circuit.
     */
    static final class Dialer extends ChannelInboundHandlerAdapter implements MeshCircuits.EarlyBytes {
        /** Bytes kept behind CIRCUIT_ATTACHED: one read, bounded like the attach handler's. */
        static final int MAX_EARLY_BYTES = 256 * 1024;

        interface Outcome {
            void attached(ChannelHandlerContext ctx);

            void failed();
        }

        private final Outcome outcome;
        private CompositeByteBuf in;
        private boolean attached;
        private boolean failed;

        Dialer(Outcome outcome) {
            this.outcome = outcome;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf) || failed) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (in == null) {
                in = ctx.alloc().compositeBuffer();
            }
            if (in.readableBytes() + buf.readableBytes() > MAX_EARLY_BYTES) {
                buf.release();
                fail(ctx);
                return;
            }
            in.addComponent(true, buf);
            if (attached || in.readableBytes() < FrameLimits.HEADER_LENGTH) {
                return;
            }
            int type = in.getUnsignedByte(in.readerIndex());
            long len = in.getUnsignedInt(in.readerIndex() + 1);
            if (type != FrameType.CIRCUIT_ATTACHED.code() || len != 0) {
                fail(ctx); // DENY or garbage: the listener's relay refused the attach
                return;
            }
            in.skipBytes(FrameLimits.HEADER_LENGTH);
            attached = true;
            ctx.channel().config().setAutoRead(false);
            outcome.attached(ctx);
        }

        private void fail(ChannelHandlerContext ctx) {
            if (!failed) {
                failed = true;
                outcome.failed();
            }
            ctx.close();
        }

        @Override
        public ByteBuf takeEarlyBytes() {
            CompositeByteBuf e = in;
            in = null;
            return e;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (!attached && !failed) {
                failed = true;
                outcome.failed();
            }
            super.channelInactive(ctx);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (in != null) {
                in.release();
                in = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx);
        }
    }
}
