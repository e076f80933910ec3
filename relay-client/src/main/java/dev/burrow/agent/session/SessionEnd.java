package dev.burrow.agent.session;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.identity.NodeKey;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last in a session's pipeline: the end of the peer's direction (its close_notify, or the
 * circuit's FIN passed on by the relay) ends the whole session, which cannot carry a stream any
 * more; so does an error that reaches the end of the pipeline.
 */
final class SessionEnd extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SessionEnd.class);
    private final NodeKey peer;
    private final AgentMetrics metrics;

    SessionEnd(NodeKey peer, AgentMetrics metrics) {
        this.peer = peer;
        this.metrics = metrics;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            log.debug("relay session with {} ended by the peer's side ({})", peer.shortId(), evt);
            ctx.close();
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg); // connection-level frames (SETTINGS, PING, GOAWAY): handled by the codec
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("relay session with {} failed: {}", peer.shortId(), cause.toString());
        metrics.relaySessionError(AgentMetrics.SessionError.BROKEN);
        ctx.close();
    }
}
