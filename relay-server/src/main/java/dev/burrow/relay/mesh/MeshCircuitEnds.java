package dev.burrow.relay.mesh;

import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.FrameType;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.CircuitAttachHandler;
import dev.burrow.relay.server.net.Denials;
import dev.burrow.relay.server.net.HandshakeDeadline;
import dev.burrow.relay.server.net.RelayContext;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The two ends of a mesh circuit connection (one per cross-relay circuit, after the mesh handshake). */
final class MeshCircuitEnds {
    private MeshCircuitEnds() {}

    /** On the listener's relay: the dialer end's tokens of circuits requested over the mesh. */
    interface BindTokens {
        /** The dialer end's token of {@code id} while it waits for a bind, or null. */
        CircuitToken peek(CircuitId id);

        /** Takes the token (single use); false when another bind or the expiry took it first. */
        boolean consume(CircuitId id, CircuitToken token);
    }

    /**
     * On the listener's relay, after the mesh handshake of a circuit connection: its one frame is
     * CIRCUIT_BIND (a pooled connection, purpose 3: the MAC over this connection's HELLOs, the circuit
     * ID and the dialer end's token is checked in constant time, and the token is consumed) or
     * CIRCUIT_ATTACH (purpose 2, only ever over TLS: an older sibling). Either becomes the relay
     * protocol's attach, handed to a {@link CircuitAttachHandler}, which checks the token like any
     * attach; the answer (CIRCUIT_ATTACHED or DENY) is written with the relay frame encoder. A pooled
     * connection may wait idle for its bind up to {@link #POOLED_IDLE_LIMIT}.
     */
    static final class Acceptor extends ChannelInboundHandlerAdapter {
        /**
         * A pooled connection still without CIRCUIT_BIND after this long is closed: longer than the
         * dialer's pool keeps it idle ({@link MeshCircuitPool#IDLE_TIMEOUT}), so normally the dialer
         * closes it first.
         */
        static final Duration POOLED_IDLE_LIMIT = MeshCircuitPool.IDLE_TIMEOUT.plusSeconds(30);
        /**
         * Idle pooled connections this relay holds for all siblings together: each sibling keeps
         * {@link MeshCircuitPool#IDLE_PER_SIBLING} (plus a few being replaced), so this serves a fleet
         * of hundreds of relays while a misbehaving key holder cannot pin more sockets than this.
         */
        static final int MAX_WAITING = 4096;

        private static final Logger log = LoggerFactory.getLogger(Acceptor.class);

        private final RelayContext rc;
        private final MeshNode node;
        private final BindTokens tokens;
        private final MeshProtocol.Purpose purpose;
        private final MeshHandshake.Hellos hellos;
        private final Set<Channel> waiting;
        private ScheduledFuture<?> idle;
        private boolean done;

        /**
         * @param waiting pooled connections waiting for their bind, over all siblings (at most {@link #MAX_WAITING})
         */
        Acceptor(
                RelayContext rc,
                MeshNode node,
                BindTokens tokens,
                MeshProtocol.Purpose purpose,
                MeshHandshake.Hellos hellos,
                Set<Channel> waiting) {
            this.rc = rc;
            this.node = node;
            this.tokens = tokens;
            this.purpose = purpose;
            this.hellos = hellos;
            this.waiting = waiting;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (purpose != MeshProtocol.Purpose.POOLED_CIRCUIT) {
                return; // the circuit attach handler ends the handshake deadline
            }
            // The sibling proved the mesh key: this idle connection is its pool's, not a slow handshake.
            HandshakeDeadline.established(ctx.channel());
            Channel ch = ctx.channel();
            if (waiting.size() >= MAX_WAITING) {
                rc.metrics().meshEvent(MeshEvent.POOLED_LIMIT);
                done = true;
                ctx.close();
                return;
            }
            waiting.add(ch);
            ch.closeFuture().addListener(f -> waiting.remove(ch));
            idle = ctx.executor()
                    .schedule(
                            () -> {
                                if (!done) {
                                    ctx.close();
                                }
                            },
                            POOLED_IDLE_LIMIT.toMillis(),
                            TimeUnit.MILLISECONDS);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            done = true;
            if (idle != null) {
                idle.cancel(false);
            }
            waiting.remove(ctx.channel());
            if (msg instanceof MeshFrame.CircuitBind b && purpose == MeshProtocol.Purpose.POOLED_CIRCUIT) {
                bind(ctx, b);
            } else if (msg instanceof MeshFrame.CircuitAttach a && purpose == MeshProtocol.Purpose.CIRCUIT) {
                attach(ctx, a.circuitId(), a.token());
            } else {
                ReferenceCountUtil.release(msg);
                rc.metrics().meshEvent(MeshEvent.PROTOCOL_ERROR);
                ctx.close();
            }
        }

        private void bind(ChannelHandlerContext ctx, MeshFrame.CircuitBind b) {
            CircuitToken token = tokens.peek(b.circuitId());
            boolean proven = token != null
                    && MeshAuth.verifyBind(
                            node.key(), hellos.dialer(), hellos.acceptor(), b.circuitId(), token, b.mac());
            if (!proven || !tokens.consume(b.circuitId(), token)) {
                rc.metrics().meshEvent(MeshEvent.CIRCUIT_BIND_REFUSED);
                log.atWarn()
                        .addKeyValue("event", "mesh_circuit_bind_refused")
                        .addKeyValue("remote", ctx.channel().remoteAddress())
                        .addKeyValue("circuit", b.circuitId())
                        .addKeyValue("known", token != null)
                        .log(
                                "mesh circuit bind refused (unknown or used circuit, or a MAC that does not prove its token)");
                var p = ctx.pipeline();
                p.addLast("frame-encoder", RelayFrameEncoder.INSTANCE);
                Denials.denyAndClose(ctx.channel(), DenyReason.AUTH_FAILED, "circuit bind refused");
                return;
            }
            attach(ctx, b.circuitId(), token);
        }

        private void attach(ChannelHandlerContext ctx, CircuitId id, CircuitToken token) {
            var p = ctx.pipeline();
            p.addLast("frame-encoder", RelayFrameEncoder.INSTANCE);
            p.addAfter(ctx.name(), "circuit-attach", new CircuitAttachHandler(rc));
            ctx.fireChannelRead(new ClientFrame.CircuitAttach(id, token));
            if (p.get(MeshFrameDecoder.class) != null) {
                p.remove(MeshFrameDecoder.class); // anything behind the attach reaches the attach handler raw
            }
            if (p.get(MeshFrameEncoder.class) != null) {
                p.remove(MeshFrameEncoder.class);
            }
            p.remove(this);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof ChannelInputShutdownEvent && !done) {
                ctx.close(); // the dialer's pool let it go
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (idle != null) {
                idle.cancel(false);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            rc.metrics().meshEvent(MeshEvent.PROTOCOL_ERROR);
            ctx.close();
        }
    }

    /**
     * On the dialer's relay, after sending CIRCUIT_BIND or CIRCUIT_ATTACH: waits for the listener
     * relay's CIRCUIT_ATTACHED (the relay protocol's empty frame 0x39), then stops reading and keeps
     * whatever followed it as early circuit bytes for the proxy; anything else fails the circuit
     * (refused, final), and so does no answer within the answer wait (the listener's relay answers
     * once the listener attached too, within its circuit token TTL, or drops the circuit). A close,
     * half-close or reset before any answer is not a refusal: the connection died (a pooled one is
     * replaced once by a fresh connection). A pooled connection whose sibling vanished without a FIN
     * fails its circuit at the answer wait; the pool's idle timeout and the link's keepalive bound
     * how long such a connection can stay in the pool.
     */
    static final class Dialer extends ChannelInboundHandlerAdapter implements MeshCircuits.EarlyBytes {
        /** Bytes kept behind CIRCUIT_ATTACHED: one read, bounded like the attach handler's. */
        static final int MAX_EARLY_BYTES = 256 * 1024;

        interface Outcome {
            void attached(ChannelHandlerContext ctx);

            /**
             * @param refused final: the listener's relay answered with something else (DENY) or not
             *     within the answer wait; false: the connection died before any answer
             */
            void failed(boolean refused);
        }

        private final Outcome outcome;
        private CompositeByteBuf in;
        private boolean attached;
        private boolean failed;
        private final Duration answerWait;
        private ScheduledFuture<?> deadline;

        /** @param answerWait how long CIRCUIT_ATTACHED may take: longer than the circuit token TTL */
        Dialer(Outcome outcome, Duration answerWait) {
            this.outcome = outcome;
            this.answerWait = answerWait;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            deadline = ctx.executor()
                    .schedule(
                            () -> {
                                if (!attached) {
                                    fail(ctx, true);
                                }
                            },
                            answerWait.toMillis(),
                            TimeUnit.MILLISECONDS);
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
                fail(ctx, true);
                return;
            }
            in.addComponent(true, buf);
            if (attached || in.readableBytes() < FrameLimits.HEADER_LENGTH) {
                return;
            }
            int type = in.getUnsignedByte(in.readerIndex());
            long len = in.getUnsignedInt(in.readerIndex() + 1);
            if (type != FrameType.CIRCUIT_ATTACHED.code() || len != 0) {
                fail(ctx, true); // DENY or garbage: the listener's relay refused the attach
                return;
            }
            in.skipBytes(FrameLimits.HEADER_LENGTH);
            attached = true;
            deadline.cancel(false);
            ctx.channel().config().setAutoRead(false);
            outcome.attached(ctx);
        }

        private void fail(ChannelHandlerContext ctx, boolean refused) {
            if (!failed) {
                failed = true;
                deadline.cancel(false);
                outcome.failed(refused);
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
                deadline.cancel(false);
                outcome.failed(false);
            }
            super.channelInactive(ctx);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof ChannelInputShutdownEvent && !attached) {
                fail(ctx, false); // the listener's relay hung up without an answer
            }
            super.userEventTriggered(ctx, evt);
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
            fail(ctx, false);
        }
    }
}
