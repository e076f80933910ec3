package dev.burrow.protocol;

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
 * The client side of an HTTP/1.1 Upgrade to one of our protocols (the agent's control and circuit
 * connections, {@code burrow-relay-v1}; a relay's mesh connections, {@code burrow-mesh-v1}): sends
 * {@code GET <path>} with {@code Upgrade: <token>} when the channel becomes active (an SslHandler
 * holds it until the TLS handshake is done), and on {@code 101} with that token removes the HTTP codec
 * and itself, so that the bytes after the response (possibly already received, say the peer's first
 * frame in the same TLS record) flow on untouched. Any other answer, or no HTTP at all, fails through
 * {@link Upgraded#failed} and closes; a refusal's body is never read.
 */
public class HttpUpgradeClient extends ChannelInboundHandlerAdapter {
    /** What happens around the switch; event loop only. */
    public interface Upgraded {
        /** 101: called while the HTTP codec is still there, so that a handler added after this one gets the bytes it holds. */
        default void beforeCodecLeaves(ChannelHandlerContext ctx) {}

        /** The HTTP codec left; this handler leaves right after. */
        void switched(ChannelHandlerContext ctx);

        /**
         * The upgrade failed: {@code status} is the HTTP status (0 when the answer was not HTTP), or
         * {@code cause} is why the request could not be written. After a status the channel is closed.
         */
        void failed(ChannelHandlerContext ctx, int status, String reason, Throwable cause);
    }

    private final String authority;
    private final String path;
    private final String token;
    private final Upgraded upgraded;
    private boolean got101;
    private boolean done;

    public HttpUpgradeClient(String authority, String path, String token, Upgraded upgraded) {
        this.authority = authority;
        this.path = path;
        this.token = token;
        this.upgraded = upgraded;
    }

    /** The upgrade request: {@code GET path} with {@code Host}, {@code Connection: Upgrade}, {@code Upgrade: token}. */
    public static FullHttpRequest request(String authority, String path, String token) {
        FullHttpRequest req =
                new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path, Unpooled.EMPTY_BUFFER);
        req.headers()
                .set(HttpHeaderNames.HOST, authority)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                .set(HttpHeaderNames.UPGRADE, token)
                .set(HttpHeaderNames.CONTENT_LENGTH, 0);
        return req;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(request(authority, path, token)).addListener(f -> {
            if (!f.isSuccess()) {
                upgraded.failed(ctx, 0, "request not sent", f.cause());
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
                        && token.equalsIgnoreCase(upgrade == null ? "" : upgrade.strip())) {
                    got101 = true;
                } else {
                    done = true;
                    upgraded.failed(
                            ctx,
                            status.code(),
                            status.code() == 101 ? "wrong Upgrade token" : status.reasonPhrase(),
                            null);
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
                upgraded.failed(ctx, 0, "no HTTP response", null);
                ctx.close();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void switchProtocols(ChannelHandlerContext ctx) {
        done = true;
        upgraded.beforeCodecLeaves(ctx);
        HttpClientCodec codec = ctx.pipeline().get(HttpClientCodec.class);
        if (codec != null) {
            ctx.pipeline().remove(codec); // forwards bytes it already holds, raw, past us
        }
        upgraded.switched(ctx);
        ctx.pipeline().remove(this);
    }
}
