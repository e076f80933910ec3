package dev.burrow.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TransportSelectorTest {
    private static final Throwable BLOCKED =
            new UnsupportedOperationException("io_uring_setup: Operation not permitted");

    @Test
    void autoPrefersIoUringThenEpollThenNio() {
        assertThat(new TransportSelector(() -> null, () -> null).select(null).kind())
                .isEqualTo(TransportKind.IO_URING);
        Transport epoll = new TransportSelector(() -> BLOCKED, () -> null).select(null);
        assertThat(epoll.kind()).isEqualTo(TransportKind.EPOLL);
        assertThat(epoll.reason()).contains("io_uring unavailable").contains("Operation not permitted");
        Transport nio = new TransportSelector(() -> BLOCKED, () -> new LinkageError("no libnetty")).select(null);
        assertThat(nio.kind()).isEqualTo(TransportKind.NIO);
        assertThat(nio.reason())
                .contains("io_uring unavailable")
                .contains("epoll unavailable")
                .contains("no libnetty");
    }

    @Test
    void explicitRequestsAreHonouredOrFallBackWithAReason() {
        assertThat(new TransportSelector(() -> null, () -> null)
                        .select(TransportKind.EPOLL)
                        .kind())
                .isEqualTo(TransportKind.EPOLL);
        assertThat(new TransportSelector(() -> null, () -> null)
                        .select(TransportKind.NIO)
                        .kind())
                .isEqualTo(TransportKind.NIO);
        Transport t = new TransportSelector(() -> BLOCKED, () -> null).select(TransportKind.IO_URING);
        assertThat(t.kind()).isEqualTo(TransportKind.EPOLL);
        assertThat(t.reason()).contains("io_uring unavailable");
    }

    @Test
    void parsesConfigNames() {
        assertThat(TransportKind.parse("auto")).isNull();
        assertThat(TransportKind.parse("io_uring")).isEqualTo(TransportKind.IO_URING);
        assertThat(TransportKind.parse("IOURING")).isEqualTo(TransportKind.IO_URING);
        assertThat(TransportKind.parse("epoll")).isEqualTo(TransportKind.EPOLL);
        assertThat(TransportKind.parse(" nio ")).isEqualTo(TransportKind.NIO);
        assertThatThrownBy(() -> TransportKind.parse("kqueue"))
                .hasMessageContaining("expected auto, iouring, epoll or nio");
        assertThat(TransportKind.IO_URING.configName()).isEqualTo("iouring");
    }

    @Test
    void theRealSelectionGivesAWorkingEventLoop() throws Exception {
        Transport t = new TransportSelector().select(null);
        EventLoopGroup group = t.newEventLoopGroup(1, r -> new Thread(r, "transport-test"));
        try {
            assertThat(group.submit(() -> 42).get(5, TimeUnit.SECONDS)).isEqualTo(42);
            assertThat(t.socketChannel()).isNotNull();
            assertThat(t.datagramChannel()).isNotNull();
            assertThat(t.serverSocketChannel()).isNotNull();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * Issue 19: with multi-shot POLLIN a socket reset while its reads were paused was never reported.
     * Selecting a transport switches it off before Netty's io_uring classes read the setting.
     */
    @Test
    void ioUringMultiShotPollInIsOffOnceATransportIsSelected() {
        new TransportSelector().select(TransportKind.NIO);
        assertThat(System.getProperty(TransportSelector.IO_URING_MULTISHOT_POLL_PROPERTY))
                .isEqualTo("false");
        if (io.netty.channel.uring.IoUring.isAvailable()) {
            assertThat(io.netty.channel.uring.IoUring.isPollAddMultishotEnabled())
                    .isFalse();
        }
    }
}
