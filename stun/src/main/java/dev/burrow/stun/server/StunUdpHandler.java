package dev.burrow.stun.server;

import dev.burrow.stun.metrics.DropReason;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.metrics.StunProtocol;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers Binding requests on one UDP socket. Every datagram is released here; nothing is thrown
 * out of the pipeline; a response that cannot be written at once is dropped, never queued.
 */
final class StunUdpHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(StunUdpHandler.class);

    /**
     * Receive buffer per datagram. Real Binding requests are well under 576 bytes (RFC 8489 §6.1);
     * a datagram that fills this buffer may have been cut short by the kernel, so it is dropped
     * unparsed (attack: malformed STUN datagrams).
     */
    static final int READ_BUFFER_BYTES = 2048;

    private final BindingResponder responder;
    private final int socketIndex;
    private final UdpSockets sockets;
    private final StunMetrics metrics;
    private final int readBufferBytes;
    private boolean flushPending;

    StunUdpHandler(
            BindingResponder responder, int socketIndex, UdpSockets sockets, StunMetrics metrics, int readBufferBytes) {
        this.responder = responder;
        this.socketIndex = socketIndex;
        this.sockets = sockets;
        this.metrics = metrics;
        this.readBufferBytes = readBufferBytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            if (packet.content().readableBytes() >= readBufferBytes) {
                metrics.dropped(DropReason.POSSIBLY_TRUNCATED);
                return;
            }
            BindingResponder.Reply reply =
                    responder.respond(packet.content(), packet.sender(), socketIndex, StunProtocol.UDP, ctx.alloc());
            if (reply != null) {
                send(ctx, reply, packet);
            }
        } catch (Throwable t) {
            metrics.dropped(DropReason.INTERNAL_ERROR);
            log.debug("STUN request failed", t);
        } finally {
            packet.release();
        }
    }

    private void send(ChannelHandlerContext ctx, BindingResponder.Reply reply, DatagramPacket request) {
        Channel out = reply.socketIndex() == socketIndex ? ctx.channel() : sockets.get(reply.socketIndex());
        if (out == null || !out.isWritable()) {
            reply.content().release();
            metrics.dropped(DropReason.UNWRITABLE);
            return;
        }
        InetSocketAddress recipient = reply.responsePort() == BindingResponder.Reply.SOURCE_PORT
                ? request.sender()
                : new InetSocketAddress(request.sender().getAddress(), reply.responsePort());
        DatagramPacket response = new DatagramPacket(reply.content(), recipient);
        if (out == ctx.channel()) {
            ctx.write(response, ctx.voidPromise());
            flushPending = true;
        } else {
            out.writeAndFlush(response, out.voidPromise());
        }
        metrics.responded(StunProtocol.UDP, reply.error());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (flushPending) {
            flushPending = false;
            ctx.flush();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // ICMP errors surface here (e.g. PortUnreachableException): nothing to do, keep serving.
        log.debug("STUN UDP socket error", cause);
    }
}
