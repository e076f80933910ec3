package dev.burrow.agent.relay;

import dev.burrow.protocol.RelayProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * Client side of the raw-TCP mode: sends {@code GET <path>} with {@code Upgrade: burrow-relay-v1},
 * and on {@code 101} removes the HTTP codec and itself, so that the bytes after the response
 * (possibly already received, e.g. SERVER_HELLO in the same TLS record) flow to the frame decoder
 * untouched. Any other status fails with {@link UpgradeRefusedException} and closes; its body is
 * never read.
 */
final class HttpUpgradeHandler extends ChannelInboundHandlerAdapter {
    private final String authority;
    private final String path;
    private boolean got101;
    private boolean done;

    HttpUpgradeHandler(String authority, String path) {
        this.authority = authority;
        this.path = path;
    }

    static FullHttpRequest request(String authority, String path) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path, Unpooled.EMPTY_BUFFER);
        req.headers()
                .set(HttpHeaderNames.HOST, authority)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                .set(HttpHeaderNames.UPGRADE, RelayProtocol.UPGRADE_TOKEN)
                .set(HttpHeaderNames.CONTENT_LENGTH, 0);
        return req;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // SslHandler holds this write until the TLS handshake is done.
        ctx.writeAndFlush(request(authority, path)).addListener(f -> {
            if (!f.isSuccess()) {
                ctx.fireExceptionCaught(f.cause());
            }
        });
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done) {
            ctx.fireChannelRead(msg); // raw bytes that raced our removal
            return;
        }
        try {
            if (msg instanceof HttpResponse response) {
                HttpResponseStatus status = response.status();
                String upgrade = response.headers().get(HttpHeaderNames.UPGRADE);
                if (status.code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()
                        && RelayProtocol.UPGRADE_TOKEN.equalsIgnoreCase(upgrade == null ? "" : upgrade.strip())) {
                    got101 = true;
                } else {
                    done = true;
                    ctx.fireExceptionCaught(new UpgradeRefusedException(status.code(),
                            status.code() == 101 ? "wrong Upgrade token" : status.reasonPhrase()));
                    ctx.close();
                    return;
                }
            }
            if (msg instanceof LastHttpContent && got101) {
                switchProtocols(ctx);
            } else if (msg instanceof ByteBuf && got101) {
                switchProtocols(ctx);
                ctx.fireChannelRead(ReferenceCountUtil.retain(msg));
            } else if (!(msg instanceof HttpResponse) && !(msg instanceof HttpContent)) {
                done = true;
                ctx.fireExceptionCaught(new UpgradeRefusedException(0, "no HTTP response"));
                ctx.close();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void switchProtocols(ChannelHandlerContext ctx) {
        done = true;
        HttpClientCodec codec = ctx.pipeline().get(HttpClientCodec.class);
        if (codec != null) {
            ctx.pipeline().remove(codec); // forwards bytes it already holds, raw, past us
        }
        ctx.fireUserEventTriggered(TransportReadyEvent.INSTANCE);
        ctx.pipeline().remove(this);
    }
}
