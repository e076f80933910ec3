package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A direct UDP socket bound at port 0 holds the same number for TCP: no other socket can take it
 * without {@code SO_REUSEADDR} (outgoing connections never do), a listener that asks to share it
 * (ours later, or the user's) still binds, and giving it back frees it.
 */
class TcpPortReservationTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final DirectSocket socket = new DirectSocket(true);

    @AfterEach
    void close() {
        group.next().submit(socket::close).awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aPortZeroSocketHoldsItsNumberForTcpUntilReleased() throws Exception {
        socket.bind(
                group.next(),
                NioDatagramChannel.class,
                new InetSocketAddress("0.0.0.0", 0),
                ChannelInboundHandlerAdapter::new,
                (s, content, from) -> {});
        int port = socket.localAddress().getPort();
        assertThat(port).isPositive();

        // held: a socket that does not share (as the kernel's own picks for connect() never do) is refused
        assertThatThrownBy(() -> bindExclusive(port)).isInstanceOf(BindException.class);
        // a listener that shares the number binds beside the reservation (the direct TCP listener does)
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            listener.bind(new InetSocketAddress("0.0.0.0", port));
        }

        socket.releaseTcpPort();
        socket.releaseTcpPort(); // idempotent
        bindExclusive(port); // given back
    }

    @Test
    void aFixedPortIsBoundAsConfiguredWithoutAReservation() throws Exception {
        int port;
        try (SocketChannel probe = SocketChannel.open()) {
            probe.bind(new InetSocketAddress("127.0.0.1", 0));
            port = ((InetSocketAddress) probe.getLocalAddress()).getPort();
        }
        socket.bind(
                group.next(),
                NioDatagramChannel.class,
                new InetSocketAddress("127.0.0.1", port),
                ChannelInboundHandlerAdapter::new,
                (s, content, from) -> {});
        assertThat(socket.localAddress().getPort()).isEqualTo(port);
        bindExclusive(port); // nothing held for TCP: a configured port is the user's to manage
    }

    private static void bindExclusive(int port) throws IOException {
        try (SocketChannel s = SocketChannel.open()) {
            s.setOption(StandardSocketOptions.SO_REUSEADDR, false);
            s.bind(new InetSocketAddress("0.0.0.0", port));
        }
    }
}
