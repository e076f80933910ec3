package dev.burrow.relay.server.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The admin port: {@code /healthz} (the process serves), {@code /readyz} (started, not draining, and
 * when meshed the first mesh sync done: see {@code RelayServer#ready}),
 * {@code /metrics} (Prometheus text). GET only, tiny requests, one request per connection; it is
 * meant for the cluster network, never the internet.
 */
public final class AdminServer implements AutoCloseable {
    /** Admin requests are a request line and a few headers. */
    private static final int MAX_REQUEST = 8 * 1024;
    /** A scraper that does not send its request in this long is dropped. */
    private static final int READ_TIMEOUT_SECONDS = 10;

    private final Channel channel;

    private AdminServer(Channel channel) {
        this.channel = channel;
    }

    public static AdminServer start(
            InetSocketAddress address,
            EventLoopGroup group,
            Class<? extends ServerChannel> channelClass,
            BooleanSupplier ready,
            Supplier<String> metricsText)
            throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(channelClass)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline()
                                .addLast(
                                        new ReadTimeoutHandler(READ_TIMEOUT_SECONDS, TimeUnit.SECONDS),
                                        new HttpServerCodec(),
                                        new HttpObjectAggregator(MAX_REQUEST),
                                        new Handler(ready, metricsText));
                    }
                });
        return new AdminServer(b.bind(address).sync().channel());
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final BooleanSupplier ready;
        private final Supplier<String> metricsText;

        Handler(BooleanSupplier ready, Supplier<String> metricsText) {
            this.ready = ready;
            this.metricsText = metricsText;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = new QueryStringDecoder(req.uri()).path();
            FullHttpResponse r;
            if (!req.decoderResult().isSuccess() || !HttpMethod.GET.equals(req.method())) {
                r = text(HttpResponseStatus.BAD_REQUEST, "bad request\n", "text/plain");
            } else {
                r = switch (path) {
                    case "/healthz" -> text(HttpResponseStatus.OK, "ok\n", "text/plain");
                    case "/readyz" ->
                        ready.getAsBoolean()
                                ? text(HttpResponseStatus.OK, "ready\n", "text/plain")
                                : text(HttpResponseStatus.SERVICE_UNAVAILABLE, "not ready\n", "text/plain");
                    case "/metrics" ->
                        text(HttpResponseStatus.OK, metricsText.get(), "text/plain; version=0.0.4; charset=utf-8");
                    default -> text(HttpResponseStatus.NOT_FOUND, "not found\n", "text/plain");
                };
            }
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private static FullHttpResponse text(HttpResponseStatus status, String body, String type) {
            FullHttpResponse r = new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            return r;
        }
    }
}
