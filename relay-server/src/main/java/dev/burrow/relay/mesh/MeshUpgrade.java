package dev.burrow.relay.mesh;

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
import java.util.function.Consumer;

/**
 * The dialer's side of the switch to the mesh protocol: {@code GET /v1/mesh} with
 * {@code Upgrade: burrow-mesh-v1}; on 101 the HTTP codec and this handler leave the pipeline (bytes
 * the codec still holds pass on raw) and {@code switched} installs the mesh handlers.
 */
final class MeshUpgrade extends ChannelInboundHandlerAdapter {
    private final String authority;
    private final Consumer<ChannelHandlerContext> switched;
    private boolean got101;
    private boolean done;

    MeshUpgrade(String authority, Consumer<ChannelHandlerContext> switched) {
        this.authority = authority;
        this.switched = switched;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, MeshProtocol.PATH,
                Unpooled.EMPTY_BUFFER);
        req.headers().set(HttpHeaderNames.HOST, authority)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                .set(HttpHeaderNames.UPGRADE, MeshProtocol.UPGRADE_TOKEN)
                .set(HttpHeaderNames.CONTENT_LENGTH, 0);
        ctx.writeAndFlush(req); // SslHandler holds it until the TLS handshake is done
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (msg instanceof HttpResponse r) {
                String upgrade = r.headers().get(HttpHeaderNames.UPGRADE, "");
                if (r.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()
                        && MeshProtocol.UPGRADE_TOKEN.equalsIgnoreCase(upgrade.strip())) {
                    got101 = true;
                } else {
                    done = true;
                    ctx.fireExceptionCaught(new java.io.IOException("mesh upgrade refused: HTTP " + r.status().code()));
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
                ctx.close();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void switchProtocols(ChannelHandlerContext ctx) {
        done = true;
        // The decoder goes in first, so bytes the HTTP codec still holds reach it; the handlers that
        // write go in after the codec left (it would not pass mesh frames).
        ctx.pipeline().addAfter(ctx.name(), "mesh-decoder", new MeshFrameDecoder());
        HttpClientCodec codec = ctx.pipeline().get(HttpClientCodec.class);
        if (codec != null) {
            ctx.pipeline().remove(codec);
        }
        switched.accept(ctx); // adds the encoder and the handshake after the decoder
        ctx.pipeline().remove(this);
    }
}
