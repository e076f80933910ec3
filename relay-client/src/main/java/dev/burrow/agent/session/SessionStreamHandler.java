package dev.burrow.agent.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.function.Consumer;

/**
 * First handler of a session stream (an HTTP/2 child channel): turns it into a plain byte stream
 * for the handlers after it (the dialer's or the gate's preamble handlers, then the splice), the
 * same as a direct-path QUIC stream.
 *
 * <ul>
 *   <li>inbound DATA becomes {@link ByteBuf}s; END_STREAM (on DATA or trailing HEADERS) becomes a
 *       {@link ChannelInputShutdownEvent} after the data, as a half-closed socket reports it;</li>
 *   <li>outbound {@link ByteBuf}s become DATA; the first write is preceded by this end's HEADERS
 *       (the dialer's request, the listener's {@code :status 200}); other HTTP/2 stream frames (the
 *       END_STREAM of a half-close, a RST_STREAM) pass as they are;</li>
 *   <li>a RST_STREAM from the peer is counted as a reset: the child channel then closes, which the
 *       splice reports as a reset (not a clean end);</li>
 *   <li>the listener's first inbound HEADERS are the request: {@code onRequest} gets the service
 *       it names (null for a malformed request, which resets the stream).</li>
 * </ul>
 */
final class SessionStreamHandler extends ChannelDuplexHandler {
    /** What the listener's side does with a stream's request: the service named, or null when malformed. */
    interface RequestSink {
        void request(ChannelHandlerContext ctx, String serviceOrNull);
    }

    private final boolean dialer;
    /** Dialer: the service to ask for. */
    private final String service;
    /** Listener: where a stream's request goes. */
    private final RequestSink onRequest;
    /** Counts resets the peer sent (diagnostics). */
    private final Consumer<Http2Error> onReset;

    private boolean headersSent;
    private boolean headersReceived;
    private boolean inputEnded;
    /** Reset by this end (a malformed request or answer): nothing more passes. */
    private boolean dead;

    private SessionStreamHandler(boolean dialer, String service, RequestSink onRequest, Consumer<Http2Error> onReset) {
        this.dialer = dialer;
        this.service = service;
        this.onRequest = onRequest;
        this.onReset = onReset;
    }

    /** The dialer's handler of a new stream to {@code service}. */
    static SessionStreamHandler dialer(String service, Consumer<Http2Error> onReset) {
        return new SessionStreamHandler(true, service, null, onReset);
    }

    /** The listener's handler of a stream the peer opened. */
    static SessionStreamHandler listener(RequestSink onRequest, Consumer<Http2Error> onReset) {
        return new SessionStreamHandler(false, null, onRequest, onReset);
    }

    /** The headers a dialer sends to open a stream to {@code service}. */
    static Http2Headers requestHeaders(String service) {
        return new DefaultHttp2Headers().method(SessionProtocol.METHOD).authority(service);
    }

    /** The service a request names, or null when it is not a well-formed session stream request. */
    static String serviceOf(Http2Headers h) {
        if (h == null || h.method() == null || !SessionProtocol.METHOD.contentEquals(h.method())) {
            return null;
        }
        if (h.path() != null || h.scheme() != null || h.authority() == null) {
            return null;
        }
        String s = h.authority().toString();
        if (!dev.burrow.protocol.frame.ServiceNames.isValid(s)
                || dev.burrow.protocol.frame.ServiceNames.isReserved(s)) {
            return null;
        }
        return s;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (dead) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Http2DataFrame data) {
            if (inputEnded) {
                data.release();
                return;
            }
            boolean end = data.isEndStream();
            ByteBuf content = data.content();
            if (content.isReadable()) {
                ctx.fireChannelRead(content); // the frame's one reference passes on with its content
            } else {
                data.release();
            }
            if (end) {
                endInput(ctx);
            }
            return;
        }
        if (msg instanceof Http2HeadersFrame hf) {
            if (!headersReceived) {
                headersReceived = true;
                if (dialer) {
                    CharSequence status = hf.headers().status();
                    if (status == null || !"200".contentEquals(status)) {
                        dead = true;
                        reset(ctx, Http2Error.PROTOCOL_ERROR);
                        return;
                    }
                } else {
                    String named = serviceOf(hf.headers());
                    if (named == null || hf.isEndStream()) {
                        dead = true;
                        onRequest.request(ctx, null);
                        reset(ctx, Http2Error.PROTOCOL_ERROR);
                        return;
                    }
                    onRequest.request(ctx, named);
                    return;
                }
            }
            if (hf.isEndStream()) {
                endInput(ctx); // trailers: the end of the peer's direction
            }
            return;
        }
        ReferenceCountUtil.release(msg); // other stream frames carry nothing for the byte stream
    }

    private void endInput(ChannelHandlerContext ctx) {
        if (!inputEnded) {
            inputEnded = true;
            ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2ResetFrame rst) {
            // The child channel closes right after (the stream is closed): the splice sees an
            // abrupt end, i.e. a reset, as with a socket's RST.
            onReset.accept(Http2Error.valueOf(rst.errorCode()));
            ReferenceCountUtil.release(evt);
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf) {
            sendHeadersFirst(ctx);
            ctx.write(new DefaultHttp2DataFrame(buf), promise);
            return;
        }
        if (msg instanceof Http2StreamFrame && !(msg instanceof Http2ResetFrame)) {
            sendHeadersFirst(ctx);
        }
        ctx.write(msg, promise);
    }

    private void sendHeadersFirst(ChannelHandlerContext ctx) {
        if (headersSent) {
            return;
        }
        headersSent = true;
        Http2Headers h = dialer ? requestHeaders(service) : new DefaultHttp2Headers().status("200");
        ctx.write(new DefaultHttp2HeadersFrame(h, false), ctx.voidPromise());
    }

    /** Aborts the stream: RST_STREAM with {@code error}, then close. */
    static void reset(ChannelHandlerContext ctx, Http2Error error) {
        ctx.writeAndFlush(new DefaultHttp2ResetFrame(error))
                .addListener(f -> ctx.channel().close());
    }
}
