package dev.burrow.agent.relay;

import dev.burrow.protocol.RelayProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Measures the round trip to a relay over the path a control connection takes: TCP connect to the
 * relay's public port, the TLS handshake under the agent's relay trust (a relay we could not
 * connect to is not reachable), then one plain {@code GET} of the control path without an
 * {@code Upgrade} header, which the relay answers at once (426) without creating a session. The
 * sample is the smaller of the TCP connect time and the HTTP request/response time: each is one
 * network round trip, and neither includes the TLS handshake's CPU time.
 *
 * <p>Cost per probe: one TCP connection and one TLS handshake on the relay. At the default interval
 * ({@link HomeRelaySelector#DEFAULT_PROBE_INTERVAL}) that is one handshake per relay per minute per
 * agent. (A STUN binding would be cheaper, but the STUN port is not part of the relay URL and may
 * be behind a different load balancer, so it would not measure the path the control connection
 * takes.)
 */
public final class TlsRelayProber implements RelayProber {
    /** Largest HTTP status line we read from a probed relay. */
    static final int MAX_INITIAL_LINE = 1024;
    /** Largest header block of the probe's answer. */
    static final int MAX_HEADERS = 8192;

    private final EventLoop loop;
    private final Class<? extends SocketChannel> channelClass;
    private final SslContext ssl;
    private final Duration timeout;

    public TlsRelayProber(
            EventLoop loop, Class<? extends SocketChannel> channelClass, SslContext ssl, Duration timeout) {
        this.loop = loop;
        this.channelClass = channelClass;
        this.ssl = ssl;
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<Duration> probe(URI relay) {
        CompletableFuture<Duration> result = new CompletableFuture<>();
        RelayAddress address;
        try {
            address = RelayAddress.parse(relay);
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
            return result;
        }
        RelayDialer.resolve(address).whenComplete((remote, err) -> {
            if (err != null) {
                result.completeExceptionally(err);
                return;
            }
            try {
                loop.execute(() -> connect(address, remote, result));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private void connect(RelayAddress address, InetSocketAddress remote, CompletableFuture<Duration> result) {
        ProbeHandler handler = new ProbeHandler(address, result);
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SslHandler tls = ssl.newHandler(ch.alloc(), address.host(), address.port());
                        tls.setHandshakeTimeoutMillis(timeout.toMillis());
                        ch.pipeline().addLast("tls", tls);
                        ch.pipeline().addLast("http", new HttpClientCodec(MAX_INITIAL_LINE, MAX_HEADERS, 8192));
                        ch.pipeline().addLast("probe", handler);
                    }
                });
        long start = System.nanoTime();
        ChannelFuture cf = b.connect(remote);
        Channel ch = cf.channel();
        var deadline = loop.schedule(
                () -> {
                    if (result.completeExceptionally(
                            new RelayTimeoutException("no answer within " + timeout.toMillis() + " ms"))) {
                        ch.close();
                    }
                },
                timeout.toNanos(),
                TimeUnit.NANOSECONDS);
        result.whenComplete((d, e) -> {
            deadline.cancel(false);
            ch.close();
        });
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(f.cause());
                return;
            }
            handler.connectNanos = System.nanoTime() - start;
            ch.pipeline().get(SslHandler.class).handshakeFuture().addListener(h -> {
                if (!h.isSuccess()) {
                    result.completeExceptionally(h.cause());
                    return;
                }
                FullHttpRequest req = new DefaultFullHttpRequest(
                        HttpVersion.HTTP_1_1, HttpMethod.GET, RelayProtocol.CONTROL_PATH, Unpooled.EMPTY_BUFFER);
                req.headers()
                        .set(HttpHeaderNames.HOST, address.authority())
                        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
                        .set(HttpHeaderNames.CONTENT_LENGTH, 0);
                handler.sentNanos = System.nanoTime();
                ch.writeAndFlush(req).addListener(w -> {
                    if (!w.isSuccess()) {
                        result.completeExceptionally(w.cause());
                    }
                });
            });
        });
    }

    /** Completes the probe on the first HTTP response; everything else is dropped. */
    private static final class ProbeHandler extends ChannelInboundHandlerAdapter {
        private final RelayAddress address;
        private final CompletableFuture<Duration> result;
        long connectNanos;
        long sentNanos;

        ProbeHandler(RelayAddress address, CompletableFuture<Duration> result) {
            this.address = address;
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpResponse && sentNanos != 0) {
                    long http = System.nanoTime() - sentNanos;
                    result.complete(Duration.ofNanos(Math.max(1, Math.min(http, connectNanos))));
                    ctx.close();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.completeExceptionally(new IOException("relay " + address + " closed the probe connection"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.completeExceptionally(cause);
            ctx.close();
        }
    }
}
