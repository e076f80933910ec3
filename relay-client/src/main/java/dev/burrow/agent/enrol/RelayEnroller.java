package dev.burrow.agent.enrol;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.enrol.EnrolmentException;
import dev.burrow.identity.enrol.EnrolmentMessages;
import dev.burrow.identity.enrol.EnrolmentResponse;
import dev.burrow.identity.enrol.EnrolmentService;
import dev.burrow.protocol.RelayProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.URI;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Client side of enrolment ({@code burrow agent --join TOKEN}): proves possession of the node key,
 * trades a join token for a CA-issued node certificate at the relay's {@link RelayProtocol#ENROL_PATH},
 * checks the certificate is for this node, and installs it in the state directory. The private key
 * never leaves the machine and the token is sent only inside TLS to a relay trusted like the
 * control connection (pinned fingerprint, CA file or system trust).
 */
public final class RelayEnroller {
    /** The whole exchange (connect, TLS, request, response) must finish within this by default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(20);
    /** Error bodies are shown to the user; more than this is not a message. */
    static final int MAX_ERROR_TEXT = 512;

    private RelayEnroller() {}

    /**
     * Enrols {@code identity} and installs the issued chain.
     *
     * @param nameOrNull the name to ask for (a token may fix the name itself)
     * @return what the relay issued
     * @throws IOException when the relay cannot be reached, refuses, or answers something unusable
     */
    public static EnrolmentResponse enrol(
            URI relay, SslContext trust, NodeIdentity identity, String token, String nameOrNull, Duration timeout)
            throws IOException {
        byte[] body = EnrolmentMessages.encode(EnrolmentService.createRequest(identity, token, nameOrNull));
        FullHttpResponse response = post(relay, trust, body, timeout);
        try {
            byte[] content = ByteBufUtil.getBytes(response.content());
            if (!HttpResponseStatus.OK.equals(response.status())) {
                String text =
                        EnrolmentMessages.errorText(Arrays.copyOf(content, Math.min(content.length, MAX_ERROR_TEXT)));
                throw new IOException("enrolment refused by the relay ("
                        + response.status().code() + ")" + (text.isEmpty() ? "" : ": " + text));
            }
            EnrolmentResponse issued = EnrolmentMessages.parseResponse(content);
            List<X509Certificate> chain = EnrolmentService.chainFrom(issued, identity.nodeKey());
            identity.installCertificate(chain);
            return issued;
        } catch (EnrolmentException e) {
            throw new IOException("enrolment failed: " + e.getMessage(), e);
        } finally {
            response.release();
        }
    }

    private static FullHttpResponse post(URI relay, SslContext trust, byte[] body, Duration timeout)
            throws IOException {
        if (!"https".equalsIgnoreCase(relay.getScheme()) || relay.getHost() == null) {
            throw new IOException("enrolment needs an https:// relay URL, got " + relay);
        }
        String host = relay.getHost();
        int port = relay.getPort() == -1 ? 443 : relay.getPort();
        CompletableFuture<FullHttpResponse> result = new CompletableFuture<>();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Bootstrap b = new Bootstrap()
                    .group(group)
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(trust.newHandler(ch.alloc(), host, port));
                            ch.pipeline().addLast(new HttpClientCodec());
                            ch.pipeline().addLast(new HttpObjectAggregator(EnrolmentMessages.MAX_RESPONSE_BYTES));
                            ch.pipeline().addLast(new SimpleChannelInboundHandler<FullHttpResponse>() {
                                @Override
                                protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
                                    if (!result.complete(msg.retain())) {
                                        msg.release();
                                    }
                                    ctx.close();
                                }

                                @Override
                                public void channelInactive(ChannelHandlerContext ctx) {
                                    result.completeExceptionally(
                                            new IOException("the relay closed the connection without an answer"));
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    result.completeExceptionally(cause);
                                    ctx.close();
                                }
                            });
                        }
                    });
            FullHttpRequest req = new DefaultFullHttpRequest(
                    HttpVersion.HTTP_1_1, HttpMethod.POST, RelayProtocol.ENROL_PATH, Unpooled.wrappedBuffer(body));
            req.headers().set(HttpHeaderNames.HOST, host + ":" + port);
            req.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
            req.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            req.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            b.connect(host, port).addListener((ChannelFuture f) -> {
                if (f.isSuccess()) {
                    f.channel().writeAndFlush(req); // the TLS handler holds it until the handshake is done
                } else {
                    req.release();
                    result.completeExceptionally(f.cause());
                }
            });
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            result.completeExceptionally(e); // a late answer is then released by the handler
            throw new IOException("no answer from " + host + ":" + port + " within " + timeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new IOException("cannot reach " + host + ":" + port + ": " + c, c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
