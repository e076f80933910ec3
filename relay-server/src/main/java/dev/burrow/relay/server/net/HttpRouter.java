package dev.burrow.relay.server.net;

import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.config.RelayDefaults;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.HandshakeOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one HTTP request of a connection on the public port. {@link RelayProtocol#CONTROL_PATH} and
 * {@link RelayProtocol#CIRCUIT_PATH} switch to frames, either by {@code Upgrade: burrow-relay-v1}
 * (101, then raw frames) or by WebSocket with subprotocol {@code burrow-relay-v1} (each binary
 * message carries frame bytes); {@link RelayProtocol#ENROL_PATH} takes a size-capped JSON POST;
 * anything else is 404. Exactly one request per connection (Connection: close), so a client cannot
 * keep an unauthenticated connection busy with requests.
 *
 * <p>After the switch this handler stays as a pass-through that drops the HTTP objects still in
 * flight (the request's empty last content), so the frame decoder only ever sees bytes.
 */
public final class HttpRouter extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(HttpRouter.class);
    public static final String NAME = "http-router";

    private enum State {
        REQUEST,
        ENROL_BODY,
        SWITCHED,
        DONE
    }

    // Final after construction.
    private final RelayContext rc;
    private final boolean tls;

    // Owned by the channel's event loop.
    private State state = State.REQUEST;
    private CompositeByteBuf body;

    public HttpRouter(RelayContext rc, boolean tls) {
        this.rc = rc;
        this.tls = tls;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (state) {
            case SWITCHED -> {
                if (msg instanceof HttpObject && !(msg instanceof ByteBuf)) {
                    ReferenceCountUtil.release(msg);
                } else {
                    ctx.fireChannelRead(msg);
                }
            }
            case DONE -> ReferenceCountUtil.release(msg);
            case ENROL_BODY -> enrolBody(ctx, msg);
            case REQUEST -> {
                if (msg instanceof HttpRequest req) {
                    try {
                        route(ctx, req);
                    } finally {
                        ReferenceCountUtil.release(msg);
                    }
                } else {
                    ReferenceCountUtil.release(msg);
                }
            }
        }
    }

    private void route(ChannelHandlerContext ctx, HttpRequest req) {
        if (req.decoderResult().isFailure()) {
            respond(ctx, HttpResponseStatus.BAD_REQUEST, "bad request\n");
            rc.metrics().handshake(HandshakeOutcome.BAD_HTTP);
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        boolean control = RelayProtocol.CONTROL_PATH.equals(path);
        boolean circuit = RelayProtocol.CIRCUIT_PATH.equals(path);
        if (tls
                && ctx.pipeline().get(SslHandler.class) == null
                && !plainCircuitUpgrade(req, circuit)
                && !MeshProtocol.PATH.equals(path)) {
            // A connection that skipped TLS (plain circuits are on): it carries end-to-end encrypted
            // circuit bytes and nothing else. Control connections, enrolment and WebSocket need TLS.
            // A sibling's mesh upgrade may skip it too, but its handshake then admits only a pooled
            // circuit connection (MeshHandshake), authenticated by the mesh key.
            respond(ctx, HttpResponseStatus.FORBIDDEN, "only circuit connections may skip TLS\n");
            rc.metrics().handshake(HandshakeOutcome.BAD_HTTP);
            return;
        }
        if (control || circuit) {
            if (!HttpMethod.GET.equals(req.method())) {
                respond(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET with an Upgrade header\n");
                return;
            }
            String upgrade =
                    req.headers().get(HttpHeaderNames.UPGRADE, "").trim().toLowerCase(Locale.ROOT);
            if (upgrade.equals("websocket")) {
                webSocket(ctx, req, circuit);
            } else if (upgrade.equals(RelayProtocol.UPGRADE_TOKEN)) {
                rawUpgrade(ctx, circuit);
            } else {
                FullHttpResponse r = response(
                        HttpResponseStatus.UPGRADE_REQUIRED,
                        "upgrade to " + RelayProtocol.UPGRADE_TOKEN + " or websocket (subprotocol "
                                + RelayProtocol.WEBSOCKET_SUBPROTOCOL + ")\n");
                r.headers().set(HttpHeaderNames.UPGRADE, RelayProtocol.UPGRADE_TOKEN);
                send(ctx, r);
            }
            return;
        }
        if (MeshProtocol.PATH.equals(path)) {
            mesh(ctx, req);
            return;
        }
        if (RelayProtocol.ENROL_PATH.equals(path)) {
            if (!HttpMethod.POST.equals(req.method())) {
                respond(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "use POST\n");
                return;
            }
            long declared = HttpUtil.getContentLength(req, -1L);
            if (declared > RelayDefaults.MAX_ENROL_BODY) {
                respond(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request too large\n");
                return;
            }
            state = State.ENROL_BODY;
            body = ctx.alloc().compositeBuffer();
            return;
        }
        respond(ctx, HttpResponseStatus.NOT_FOUND, "not found\n");
    }

    private static boolean plainCircuitUpgrade(HttpRequest req, boolean circuit) {
        return circuit
                && HttpMethod.GET.equals(req.method())
                && RelayProtocol.UPGRADE_TOKEN.equals(
                        req.headers().get(HttpHeaderNames.UPGRADE, "").trim().toLowerCase(Locale.ROOT));
    }

    private void rawUpgrade(ChannelHandlerContext ctx, boolean circuit) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        r.headers().set(HttpHeaderNames.UPGRADE, RelayProtocol.UPGRADE_TOKEN);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        state = State.SWITCHED;
        ctx.writeAndFlush(r); // encoded by the HTTP codec right here, before it is removed
        ChannelPipeline p = ctx.pipeline();
        installFraming(p, ctx.name(), false, circuit);
        p.remove(HttpServerCodec.class);
    }

    /** A sibling relay's mesh connection: raw Upgrade only; authenticated by the mesh handshake that follows. */
    private void mesh(ChannelHandlerContext ctx, HttpRequest req) {
        String upgrade = req.headers().get(HttpHeaderNames.UPGRADE, "").trim().toLowerCase(Locale.ROOT);
        if (!HttpMethod.GET.equals(req.method()) || !upgrade.equals(MeshProtocol.UPGRADE_TOKEN)) {
            respond(
                    ctx,
                    HttpResponseStatus.BAD_REQUEST,
                    "mesh connections use GET with Upgrade: " + MeshProtocol.UPGRADE_TOKEN + "\n");
            return;
        }
        if (!rc.meshEndpoint().enabled()) {
            rc.metrics().meshEvent(RelayMetrics.MeshEvent.DISABLED);
            respond(ctx, HttpResponseStatus.NOT_FOUND, "meshing is not enabled on this relay\n");
            return;
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        r.headers().set(HttpHeaderNames.UPGRADE, MeshProtocol.UPGRADE_TOKEN);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        state = State.SWITCHED;
        ctx.writeAndFlush(r);
        ChannelPipeline p = ctx.pipeline();
        rc.meshEndpoint().install(p, ctx.name(), tls && p.get(SslHandler.class) == null);
        p.remove(HttpServerCodec.class);
    }

    private void webSocket(ChannelHandlerContext ctx, HttpRequest req, boolean circuit) {
        String offered = req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL, "");
        boolean ours = false;
        for (String s : offered.split(",")) {
            ours |= s.trim().equals(RelayProtocol.WEBSOCKET_SUBPROTOCOL);
        }
        if (!ours) {
            respond(
                    ctx,
                    HttpResponseStatus.BAD_REQUEST,
                    "WebSocket subprotocol " + RelayProtocol.WEBSOCKET_SUBPROTOCOL + " required\n");
            return;
        }
        String scheme = tls ? "wss" : "ws";
        String url = scheme + "://" + req.headers().get(HttpHeaderNames.HOST, "relay") + req.uri();
        WebSocketDecoderConfig cfg = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(WebSocketFrameAdapter.MAX_MESSAGE)
                .allowExtensions(false)
                .expectMaskedFrames(true)
                .build();
        WebSocketServerHandshaker hs =
                new WebSocketServerHandshakerFactory(url, RelayProtocol.WEBSOCKET_SUBPROTOCOL, cfg).newHandshaker(req);
        if (hs == null) {
            FullHttpResponse r = response(HttpResponseStatus.UPGRADE_REQUIRED, "unsupported WebSocket version\n");
            r.headers().set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
            send(ctx, r);
            return;
        }
        state = State.SWITCHED;
        DefaultFullHttpRequest full = new DefaultFullHttpRequest(
                req.protocolVersion(),
                req.method(),
                req.uri(),
                Unpooled.EMPTY_BUFFER,
                req.headers(),
                EmptyHttpHeaders.INSTANCE);
        String name = ctx.name();
        ChannelFuture handshake;
        try {
            handshake = hs.handshake(ctx.channel(), full);
        } catch (RuntimeException e) { // e.g. WebSocketServerHandshakeException: no "Connection: Upgrade"
            state = State.REQUEST;
            respond(ctx, HttpResponseStatus.BAD_REQUEST, "bad WebSocket upgrade request\n");
            rc.metrics().handshake(HandshakeOutcome.BAD_HTTP);
            return;
        }
        handshake.addListener(f -> {
            if (f.isSuccess()) {
                ChannelPipeline p = ctx.pipeline();
                p.addAfter(name, "ws-adapter", new WebSocketFrameAdapter());
                installFraming(p, "ws-adapter", true, circuit);
            } else {
                ctx.close();
            }
        });
    }

    private void installFraming(ChannelPipeline p, String after, boolean webSocket, boolean circuit) {
        p.addAfter(
                after,
                "frame-decoder",
                new RelayFrameDecoder(circuit ? FramePolicy.RELAY_AWAITING_ATTACH : FramePolicy.RELAY_AWAITING_AUTH));
        String last = "frame-decoder";
        if (!webSocket) {
            p.addAfter(last, "frame-encoder", RelayFrameEncoder.INSTANCE);
            last = "frame-encoder";
        }
        p.addAfter(
                last,
                circuit ? "circuit-attach" : "handshake",
                circuit ? new CircuitAttachHandler(rc) : new ControlHandshakeHandler(rc));
    }

    private void enrolBody(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpContent content)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (body.readableBytes() + content.content().readableBytes() > RelayDefaults.MAX_ENROL_BODY) {
            content.release();
            body.release();
            body = null;
            respond(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request too large\n");
            return;
        }
        body.addComponent(true, content.content().retain());
        boolean last = msg instanceof LastHttpContent;
        content.release();
        if (!last) {
            return;
        }
        byte[] bytes = new byte[body.readableBytes()];
        body.readBytes(bytes);
        body.release();
        body = null;
        state = State.DONE;
        String remote = String.valueOf(ctx.channel().remoteAddress());
        rc.enrolment()
                .handle(bytes, remote)
                .whenComplete((r, err) -> ctx.executor().execute(() -> {
                    if (err != null || r == null) {
                        log.atWarn()
                                .addKeyValue("event", "enrol_error")
                                .addKeyValue("remote", remote)
                                .addKeyValue(
                                        "error",
                                        err == null ? "null" : err.getClass().getSimpleName())
                                .log("enrol error");
                        send(ctx, json(HttpResponseStatus.INTERNAL_SERVER_ERROR, "{\"error\":\"internal error\"}"));
                    } else {
                        send(ctx, json(HttpResponseStatus.valueOf(r.status()), r.json()));
                    }
                }));
    }

    private static FullHttpResponse json(HttpResponseStatus status, String json) {
        FullHttpResponse r = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return r;
    }

    private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
        send(ctx, response(status, text));
    }

    private static FullHttpResponse response(HttpResponseStatus status, String text) {
        FullHttpResponse r = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        return r;
    }

    private void send(ChannelHandlerContext ctx, FullHttpResponse r) {
        state = State.DONE;
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r)
                .addListener(ChannelFutureListener.CLOSE); // the handshake deadline still bounds a non-reader
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent && state != State.SWITCHED) {
            ctx.close();
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        if (state == State.SWITCHED) {
            super.exceptionCaught(ctx, cause);
            return;
        }
        log.atDebug()
                .addKeyValue("event", "http_error")
                .addKeyValue("remote", ctx.channel().remoteAddress())
                .addKeyValue("error", cause.toString())
                .log("http error");
        ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (body != null) {
            body.release();
            body = null;
        }
    }
}
