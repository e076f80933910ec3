package dev.burrow.agent.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The splice watchdog on real loopback sockets: one end half-closes, the other end's peer neither
 * reads nor writes nor closes. Nothing can move, so after the stall timeout the splice aborts
 * (outcome {@link SpliceOutcome#STALLED}) and the silent peer sees a reset instead of waiting forever.
 */
class SpliceWatchdogTest {
    @Test
    void aHalfClosedSpliceWithoutProgressIsAbortedAfterTheStallTimeout() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (ServerSocket serverA = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ServerSocket serverB = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Channel a = connect(group, serverA);
            Socket farA = serverA.accept();
            Channel b = connect(group, serverB);
            Socket farB = serverB.accept();
            AtomicReference<SpliceOutcome> outcome = new AtomicReference<>();
            a.eventLoop()
                    .submit(() -> Splice.join(
                            StreamEnd.plain(a, "a"),
                            StreamEnd.plain(b, "b"),
                            null,
                            (ab, ba, o) -> outcome.set(o),
                            Duration.ofMillis(600)))
                    .get();
            farA.getOutputStream().write(new byte[] {1, 2, 3});
            farA.shutdownOutput(); // a's input ends; b's peer stays silent and never reads its FIN away
            await().atMost(Duration.ofSeconds(20)).until(() -> outcome.get() != null);
            assertThat(outcome.get()).isEqualTo(SpliceOutcome.STALLED);
            farB.setSoTimeout(20_000);
            var in = farB.getInputStream();
            // the bytes and the FIN that a's end passed on (or not: a reset may discard unread bytes), then the abort's
            // reset
            assertThatThrownBy(() -> {
                        while (in.read() >= 0) {
                            // drain
                        }
                        farB.getOutputStream().write(1); // a FIN alone reads as EOF; the reset fails this
                        farB.getOutputStream().write(1);
                    })
                    .isInstanceOf(IOException.class);
            farA.close();
            farB.close();
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS)
                    .sync();
        }
    }

    private static Channel connect(EventLoopGroup group, ServerSocket server) throws InterruptedException {
        return new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(server.getLocalSocketAddress())
                .sync()
                .channel();
    }
}
