package dev.burrow.stun.client;

import dev.burrow.stun.metrics.ClientIgnoreReason;
import dev.burrow.stun.metrics.StunMetrics;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Pipeline end of a client-owned socket: feeds every datagram to the client and releases it. */
final class StunClientHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(StunClientHandler.class);

    /** Receive buffer; a datagram that fills it may be truncated and is ignored (as in the server). */
    static final int READ_BUFFER_BYTES = 2048;

    private final Supplier<StunClient> client;
    private final StunMetrics metrics;

    StunClientHandler(Supplier<StunClient> client, StunMetrics metrics) {
        this.client = client;
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            StunClient c = client.get();
            if (c != null && msg instanceof DatagramPacket p) {
                if (p.content().readableBytes() >= READ_BUFFER_BYTES || !c.receive(p.content(), p.sender())) {
                    metrics.clientIgnored(ClientIgnoreReason.NOT_STUN_RESPONSE);
                }
            }
        } catch (RuntimeException e) {
            log.debug("STUN client failed on a datagram", e);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("STUN client socket error", cause);
    }
}
