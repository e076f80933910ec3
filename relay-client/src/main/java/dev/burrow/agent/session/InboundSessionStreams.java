package dev.burrow.agent.session;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.service.InboundStream;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.util.function.Consumer;

/**
 * Sets up each stream a peer opens on an inbound session: the session's stream-open rate limit
 * and stream cap (a refused stream is reset with REFUSED_STREAM and counted), then the stream's
 * request, then the agent's one {@link InboundStreamGate}, as for a stream on a circuit of its own.
 */
final class InboundSessionStreams extends ChannelInitializer<Http2StreamChannel> {
    private final RelaySession session;
    private final Consumer<InboundStream> gate;
    private final AgentMetrics metrics;
    // Owned by the session's event loop: a token bucket of stream opens.
    private double tokens = SessionProtocol.MAX_STREAM_OPENS_PER_SECOND;
    private long lastRefill = System.nanoTime();

    InboundSessionStreams(RelaySession session, Consumer<InboundStream> gate, AgentMetrics metrics) {
        this.session = session;
        this.gate = gate;
        this.metrics = metrics;
    }

    @Override
    protected void initChannel(Http2StreamChannel ch) {
        long now = System.nanoTime();
        tokens = Math.min(
                SessionProtocol.MAX_STREAM_OPENS_PER_SECOND,
                tokens + (now - lastRefill) / 1e9 * SessionProtocol.MAX_STREAM_OPENS_PER_SECOND);
        lastRefill = now;
        if (tokens < 1 || !session.reserveStream()) {
            metrics.relaySessionError(AgentMetrics.SessionError.STREAM_RATE);
            ch.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM))
                    .addListener(f -> ch.close());
            return;
        }
        tokens -= 1;
        ch.closeFuture().addListener(x -> session.releaseStream());
        try {
            ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        } catch (RuntimeException ignored) {
            // not a socket option here
        }
        ch.pipeline()
                .addLast(SessionStreamHandler.listener(
                        (ctx, service) -> {
                            if (service == null) {
                                metrics.relaySessionError(AgentMetrics.SessionError.BAD_STREAM);
                                return;
                            }
                            ctx.channel().config().setAutoRead(false);
                            metrics.relaySessionStream(false);
                            gate.accept(new InboundStream(
                                    ctx.channel(), session.pathName(), session.peer(), service, session.tls()));
                        },
                        e -> {}));
    }
}
