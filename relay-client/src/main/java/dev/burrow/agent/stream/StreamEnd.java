package dev.burrow.agent.stream;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One end of a {@link Splice}: a channel carrying a byte stream, either plain (a local TCP socket,
 * or a direct-path QUIC stream, which its QUIC connection already protects) or wrapped in TLS by an
 * {@link SslHandler} in its pipeline (a peer stream on a relay circuit). The end knows how to
 * half-close and reset itself the way its kind of stream needs.
 */
public final class StreamEnd {
    /**
     * The application error code of the RESET_STREAM (and STOP_SENDING) that aborts a QUIC stream:
     * the far end sees an error, never the FIN of a clean end.
     */
    public static final int QUIC_RESET_ERROR = 1;

    private final Channel channel;
    private final SslHandler sslOrNull;
    private final String label;

    private StreamEnd(Channel channel, SslHandler sslOrNull, String label) {
        this.channel = channel;
        this.sslOrNull = sslOrNull;
        this.label = label;
    }

    /** A plain TCP socket (for example the local client or the local target). */
    public static StreamEnd plain(Channel channel, String label) {
        return new StreamEnd(channel, null, label);
    }

    /** A stream protected by the TLS handler in its pipeline ({@code ssl} null: a plain stream). */
    public static StreamEnd tls(Channel channel, SslHandler ssl, String label) {
        return new StreamEnd(channel, ssl, label);
    }

    public Channel channel() {
        return channel;
    }

    public boolean isTls() {
        return sslOrNull != null;
    }

    /** True once this end's own TLS layer received close_notify: a clean end of its input. */
    boolean cleanlyEnded() {
        return sslOrNull != null
                && sslOrNull.sslCloseFuture().isDone()
                && sslOrNull.sslCloseFuture().isSuccess();
    }

    public String label() {
        return label;
    }

    /**
     * Ends our direction after everything written so far: TLS sends close_notify first (so the other
     * side can tell a clean end from a truncation), then the socket's output is shut down (FIN).
     *
     * @return completes when the end of our direction has been written, i.e. every byte before it
     *     too (writes are ordered); fails when the channel failed first
     */
    Future<Void> shutdownOutput() {
        Promise<Void> done = channel.eventLoop().newPromise();
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (!f.isSuccess()) {
                done.tryFailure(f.cause());
            } else if (sslOrNull != null) {
                sslOrNull.closeOutbound().addListener(g -> {
                    if (g.isSuccess()) {
                        shutdownSocketOutput(done);
                    } else {
                        done.tryFailure(g.cause());
                    }
                });
            } else {
                shutdownSocketOutput(done);
            }
        });
        return done;
    }

    private void shutdownSocketOutput(Promise<Void> done) {
        // A transport that is itself TLS (a relay circuit runs inside the agent's TLS connection to
        // the relay) half-closes with its own close_notify; a bare socket with FIN.
        for (var entry : channel.pipeline()) {
            if (entry.getValue() instanceof SslHandler outer && outer != sslOrNull) {
                outer.closeOutbound().addListener(g -> complete(done, g));
                return;
            }
        }
        if (channel instanceof Http2StreamChannel h2 && channel.isActive()) {
            // A relay session stream: END_STREAM (an empty DATA frame) ends our direction only.
            h2.writeAndFlush(new DefaultHttp2DataFrame(true)).addListener(g -> complete(done, g));
        } else if (channel instanceof DuplexChannel d && channel.isActive()) {
            d.shutdownOutput().addListener(g -> complete(done, g));
        } else {
            channel.close().addListener(g -> complete(done, g));
        }
    }

    private static void complete(Promise<Void> done, Future<?> f) {
        if (f.isSuccess()) {
            done.trySuccess(null);
        } else {
            done.tryFailure(f.cause());
        }
    }

    /**
     * Closes once the far side closed too, reading (and discarding) whatever still arrives until
     * then, at most for {@code linger}.
     *
     * <p>Why not just close: a TLS end's input ends with our inner close_notify, but the transport
     * under it (the relay connection) still delivers its own close_notify and FIN afterwards. Closing
     * a socket whose receive queue holds unread bytes makes the kernel send an RST instead of a FIN,
     * and an RST makes the far kernel (the relay) throw away what it had received from us but not
     * yet read: the tail of our stream. Under load (a slow reader on the far side, so the relay
     * reads from us slowly) that cut gigabyte transfers short. A plain socket has read to its FIN
     * already, so it closes at once.
     */
    void closeWhenPeerCloses(Duration linger) {
        if (sslOrNull == null || !channel.isActive() || (channel instanceof DuplexChannel d && d.isInputShutdown())) {
            // Nothing can arrive any more (a plain end read its FIN; a circuit without relay TLS
            // ends with the FIN after the inner close_notify): close now.
            channel.close();
            return;
        }
        Runnable start = () -> {
            if (!channel.isActive()) {
                channel.close();
                return;
            }
            channel.pipeline().addFirst(LINGER_HANDLER_NAME, new LingerHandler());
            var timer = channel.eventLoop()
                    .schedule(
                            () -> {
                                channel.close();
                            },
                            linger.toNanos(),
                            TimeUnit.NANOSECONDS);
            channel.closeFuture().addListener(f -> timer.cancel(false));
            channel.config().setAutoRead(true);
            channel.read();
        };
        if (channel.eventLoop().inEventLoop()) {
            start.run();
        } else {
            channel.eventLoop().execute(start);
        }
    }

    static final String LINGER_HANDLER_NAME = "burrow-linger";

    /**
     * First in the pipeline while lingering: drops every byte that still arrives (the transport's
     * close_notify, anything after) and closes once the far side ended its direction.
     */
    private static final class LingerHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.close();
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Closes gracefully once what was written is flushed. */
    void closeAfterFlush() {
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * Aborts: an RST (SO_LINGER 0) for sockets, so the far end learns this was not a clean end. The
     * socket is closed underneath the pipeline: a TLS handler must not send close_notify first, which
     * the far end would take for a clean end of the stream.
     */
    void reset() {
        if (!channel.isOpen()) {
            return;
        }
        if (channel instanceof QuicStreamChannel q) {
            // A QUIC stream's close sends FIN (a clean end): abort both directions with
            // RESET_STREAM and STOP_SENDING instead, then close.
            Runnable abort = () -> q.shutdown(QUIC_RESET_ERROR).addListener(f -> q.close());
            if (q.eventLoop().inEventLoop()) {
                abort.run();
            } else {
                q.eventLoop().execute(abort);
            }
            return;
        }
        if (channel instanceof Http2StreamChannel h2) {
            // A relay session stream: RST_STREAM (CANCEL), never the END_STREAM of a clean end.
            Runnable abort = () -> h2.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL))
                    .addListener(f -> h2.close());
            if (h2.eventLoop().inEventLoop()) {
                abort.run();
            } else {
                h2.eventLoop().execute(abort);
            }
            return;
        }
        try {
            channel.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // not a socket: a plain close is the best we can do
        }
        if (channel.eventLoop().inEventLoop()) {
            channel.unsafe().close(channel.unsafe().voidPromise());
        } else {
            channel.eventLoop()
                    .execute(() -> channel.unsafe().close(channel.unsafe().voidPromise()));
        }
    }

    @Override
    public String toString() {
        return label;
    }
}
