package dev.burrow.agent.ops;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small read-only HTTP server for the agent's operator endpoints (metrics, status page): GET
 * only, one request per connection, on its own event-loop thread so that nothing a client does
 * reaches the agent's traffic. Bounded like the local API: every connection lives at most
 * {@link #REQUEST_DEADLINE}, requests are limited before they are buffered, and at
 * {@link #MAX_CONNECTIONS} the oldest connection is closed to make room.
 */
public final class OpsHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OpsHttpServer.class);

    /**
     * Accept to answer. A scrape or a page poll is answered in milliseconds; a client that has not
     * sent its request by then (slowloris) is dropped. Below Prometheus's default 10 s scrape timeout.
     */
    static final Duration REQUEST_DEADLINE = Duration.ofSeconds(5);
    /** Connections at once: a scraper, a browser tab or two (browsers open up to six); the oldest goes at the cap. */
    static final int MAX_CONNECTIONS = 16;
    /** Request line: paths are short (the page's secret is 43 characters). */
    static final int MAX_INITIAL_LINE = 1024;
    /** All headers: a browser sends a dozen (user agent, accept lists); 8 KiB is Netty's own default. */
    static final int MAX_HEADER_BYTES = 8 * 1024;
    /** Request body: every endpoint is a GET without one. */
    static final int MAX_REQUEST_BODY = 1024;

    /** A request as the routes see it: the path without the query. */
    public record Request(String path) {}

    /** An answer: status, content type, body and extra headers. */
    public record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
        public static Response text(int status, String body) {
            return new Response(status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8), Map.of());
        }
    }

    private final EventLoopGroup group;
    private volatile Channel server;
    /** Connections in accept order; event loop only (one thread). */
    private final LinkedHashSet<Channel> open = new LinkedHashSet<>();

    private OpsHttpServer(EventLoopGroup group) {
        this.group = group;
    }

    /**
     * Serves {@code routes} on {@code address}.
     *
     * @throws IOException naming the address when it cannot be bound
     */
    public static OpsHttpServer start(InetSocketAddress address, String name, Function<Request, Response> routes)
            throws IOException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("burrow-agent-" + name, true), NioIoHandler.newFactory());
        OpsHttpServer ops = new OpsHttpServer(group);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ops.admit(ch, routes);
                    }
                });
        try {
            ops.server = b.bind(address).syncUninterruptibly().channel();
            return ops;
        } catch (Exception e) { // bind failures arrive unchecked from syncUninterruptibly
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IOException(
                    "cannot listen on " + text(address) + " for the " + name + " endpoint: " + e.getMessage()
                            + " (choose another port)",
                    e);
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** {@code 127.0.0.1:9464}, {@code [::1]:9464}. */
    public static String text(InetSocketAddress a) {
        String host =
                a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    private void admit(Channel ch, Function<Request, Response> routes) {
        if (open.size() >= MAX_CONNECTIONS) {
            Channel oldest = open.iterator().next();
            open.remove(oldest);
            oldest.close();
        }
        open.add(ch);
        var deadline = ch.eventLoop().schedule(() -> ch.close(), REQUEST_DEADLINE.toNanos(), TimeUnit.NANOSECONDS);
        ch.closeFuture().addListener(f -> {
            deadline.cancel(false);
            open.remove(ch);
        });
        ch.pipeline()
                .addLast(new HttpServerCodec(new HttpDecoderConfig()
                        .setMaxInitialLineLength(MAX_INITIAL_LINE)
                        .setMaxHeaderSize(MAX_HEADER_BYTES)
                        .setMaxChunkSize(MAX_REQUEST_BODY)))
                .addLast(new HttpObjectAggregator(MAX_REQUEST_BODY, true))
                .addLast(new Handler(routes));
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Function<Request, Response> routes;

        Handler(Function<Request, Response> routes) {
            this.routes = routes;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            Response r;
            if (req.decoderResult().isFailure()) {
                r = Response.text(400, "malformed request\n");
            } else if (!HttpMethod.GET.equals(req.method()) && !HttpMethod.HEAD.equals(req.method())) {
                r = Response.text(405, "GET only\n");
            } else {
                try {
                    r = routes.apply(new Request(new QueryStringDecoder(req.uri()).path()));
                } catch (RuntimeException e) {
                    log.debug("operator endpoint request failed", e);
                    r = Response.text(500, "internal error\n");
                }
            }
            FullHttpResponse resp = new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(r.status()),
                    HttpMethod.HEAD.equals(req.method()) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body()));
            resp.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, r.contentType())
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length)
                    .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
                    .set("X-Content-Type-Options", "nosniff")
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            r.headers().forEach(resp.headers()::set);
            ctx.channel().config().setAutoRead(false); // one request per connection
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("operator endpoint connection failed: {}", cause.toString());
            ctx.close();
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
