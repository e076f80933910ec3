package dev.burrow.agent.service;

import dev.burrow.agent.stream.EarlyInput;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;

/**
 * Connects a service's local target for one stream (node-to-node and public ingress alike), ready
 * to be spliced to it:
 * <ul>
 *   <li>on the stream's own event loop, so the splice's two ends share a thread (no task hand-off
 *       and wake-up per read);</li>
 *   <li>auto-read off and half-closure on, as {@code Splice} expects;</li>
 *   <li>with an {@link EarlyInput} hold, for a target that answers and closes before the splice
 *       starts (epoll and io_uring read it unasked);</li>
 *   <li>within {@link StreamDefaults#TARGET_CONNECT_TIMEOUT}.</li>
 * </ul>
 * {@code target} holds the address the {@code TargetPolicy} checked: no new lookup happens here.
 *
 * <p>A path whose streams live on event loops of another I/O type than the agent's sockets (the
 * direct path's QUIC streams on their own epoll loop, for UDP segmentation offload, while the
 * agent's TCP sockets run on NIO) sets {@link #TARGET_LOOPS} on its streams: the target socket is
 * then registered on one of those loops, and the splice crosses threads.
 */
public final class TargetConnector {
    /** Where a stream's target socket must be registered when the stream's own loop cannot host it. */
    public static final AttributeKey<EventLoopGroup> TARGET_LOOPS = AttributeKey.valueOf("burrow.target.loops");

    private TargetConnector() {}

    /** The stream's own loop, or one of the path's {@link #TARGET_LOOPS} when it named them. */
    static EventLoop loopFor(Channel stream) {
        EventLoopGroup loops = stream.attr(TARGET_LOOPS).get();
        return loops == null ? stream.eventLoop() : loops.next();
    }

    /**
     * @param firstName the name of {@code first}
     * @param first an outbound handler to put first in the target's pipeline (the PROXY
     *     v2 encoder, which acts only on the one header written before the splice), or null
     */
    public static ChannelFuture connect(
            Channel stream, Transport transport, InetSocketAddress target, String firstName, ChannelHandler first) {
        return new Bootstrap()
                .group(loopFor(stream))
                .channel(transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) StreamDefaults.TARGET_CONNECT_TIMEOUT.toMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        if (first != null) {
                            c.pipeline().addLast(firstName, first);
                        }
                        EarlyInput.install(c);
                    }
                })
                .connect(target);
    }
}
