package dev.burrow.agent.session;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2SettingsFrame;

/**
 * The dialer's sign that a session is up: the listener's first HTTP/2 SETTINGS, which it sends only
 * after its TLS handshake and its admission check. Runs {@code onSettings} once, then steps aside;
 * every frame passes on.
 */
final class FirstSettings extends ChannelInboundHandlerAdapter {
    private final Runnable onSettings;

    FirstSettings(Runnable onSettings) {
        this.onSettings = onSettings;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2SettingsFrame) {
            ctx.pipeline().remove(this);
            onSettings.run();
        }
        ctx.fireChannelRead(msg);
    }
}
