package dev.burrow.agent.session;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** When a direct session's connection last delivered bytes (its liveness; {@link DirectSessions#tick()}). */
final class ReadClock extends ChannelInboundHandlerAdapter {
    volatile long lastReadNanos = System.nanoTime();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastReadNanos = System.nanoTime();
        ctx.fireChannelRead(msg);
    }

    /** When {@code s}'s connection last delivered bytes (now, for a channel without a clock). */
    static long lastRead(RelaySession s) {
        ReadClock c = s.channel().pipeline().get(ReadClock.class);
        return c == null ? System.nanoTime() : c.lastReadNanos;
    }
}
