package dev.burrow.stun.client;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * For a UDP socket shared between STUN and other traffic (the agent's peer socket): put this
 * handler first in the pipeline and {@link StunClient#attach attach} a client to the channel.
 * Datagrams that are responses to the client's outstanding transactions (recognised by the
 * RFC 7983 first byte, the magic cookie, the length and the transaction ID) are consumed and
 * released here; every other datagram, including STUN requests from peers, is passed on untouched.
 */
public final class StunDemuxHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(StunDemuxHandler.class);

    private final StunClient client;

    public StunDemuxHandler(StunClient client) {
        this.client = client;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket p) {
            boolean consumed;
            try {
                consumed = p.content().readableBytes() < StunClientHandler.READ_BUFFER_BYTES
                        && client.receive(p.content(), p.sender());
            } catch (RuntimeException e) {
                log.debug("STUN demultiplexer failed on a datagram", e);
                consumed = false;
            }
            if (consumed) {
                p.release();
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }
}
