package dev.burrow.stun.server;

import static dev.burrow.stun.server.StunUdpHandlerTest.encode;
import static dev.burrow.stun.server.StunUdpHandlerTest.tailscaleRequest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.stun.codec.StunAttribute.*;
import dev.burrow.stun.codec.StunClass;
import dev.burrow.stun.codec.StunCodec;
import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.codec.TransactionId;
import dev.burrow.stun.metrics.CountingStunMetrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embeddable server on real loopback sockets (UDP, TCP, RFC 5780). */
class StunServerTest {
    private static EventLoopGroup group;
    private final CountingStunMetrics metrics = new CountingStunMetrics();

    @BeforeAll
    static void startGroup() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    static InetSocketAddress loopback(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    private StunServer start(StunServerConfig config) throws IOException {
        return StunServer.start(config, group, NioDatagramChannel.class, NioServerSocketChannel.class, metrics);
    }

    static StunMessage udpExchange(DatagramSocket socket, InetSocketAddress to, byte[] request) throws Exception {
        socket.send(new DatagramPacket(request, request.length, to));
        byte[] buf = new byte[2048];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        socket.receive(p);
        StunMessage m = StunCodec.decode(Unpooled.wrappedBuffer(buf, 0, p.getLength()));
        return m;
    }

    @Test
    void servesUdpAndTcpOnEphemeralLoopbackPorts() throws Exception {
        try (StunServer server = start(StunServerConfig.udp(loopback(0)).withTcp(loopback(0)));
                DatagramSocket socket = new DatagramSocket(loopback(0))) {
            socket.setSoTimeout(5000);
            assertThat(server.udpAddress().getPort()).isPositive();
            assertThat(server.tcpAddress().getPort()).isPositive();
            StunMessage m = udpExchange(socket, server.udpAddress(), tailscaleRequest(TransactionId.random()));
            assertThat(m.attribute(XorMappedAddress.class).orElseThrow().address())
                    .isEqualTo(socket.getLocalSocketAddress());

            try (Socket tcp = new Socket()) {
                tcp.connect(server.tcpAddress(), 5000);
                tcp.setSoTimeout(5000);
                TransactionId id = TransactionId.random();
                tcp.getOutputStream().write(tailscaleRequest(id));
                DataInputStream in = new DataInputStream(tcp.getInputStream());
                byte[] header = new byte[20];
                in.readFully(header);
                int len = ((header[2] & 0xFF) << 8) | (header[3] & 0xFF);
                byte[] all = java.util.Arrays.copyOf(header, 20 + len);
                in.readFully(all, 20, len);
                StunMessage r = StunCodec.decode(Unpooled.wrappedBuffer(all));
                assertThat(r.transactionId()).isEqualTo(id);
                assertThat(r.attribute(XorMappedAddress.class).orElseThrow().address())
                        .isEqualTo(tcp.getLocalSocketAddress());
            }
        }
    }

    @Test
    void closeReleasesThePortsAndBindFailureLeavesNothingOpen() throws Exception {
        InetSocketAddress bound;
        try (StunServer server = start(StunServerConfig.udp(loopback(0)))) {
            bound = server.udpAddress();
            // the same port again cannot be bound while the first server runs
            assertThatThrownBy(() -> start(StunServerConfig.udp(bound)))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("cannot bind");
        }
        // Rebinding the same port works once closed (retried briefly: the kernel may lag the close).
        StunServer[] again = new StunServer[1];
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(5))
                .ignoreExceptions()
                .until(() -> (again[0] = start(StunServerConfig.udp(bound))) != null);
        try {
            assertThat(again[0].udpAddress()).isEqualTo(bound);
        } finally {
            again[0].close();
        }
    }

    @Test
    void rfc5780ModeAnswersChangeRequestsFromTheOtherSockets() throws Exception {
        InetAddress primaryIp = InetAddress.getByName("127.0.0.1");
        InetAddress altIp = InetAddress.getByName("127.0.0.2");
        StunServerConfig config = StunServerConfig.udp(new InetSocketAddress(primaryIp, 0))
                .withRfc5780Alternate(new InetSocketAddress(altIp, 0));
        try (StunServer server = start(config);
                DatagramSocket socket = new DatagramSocket(new InetSocketAddress(primaryIp, 0))) {
            socket.setSoTimeout(5000);
            var addrs = server.udpAddresses();
            assertThat(addrs).hasSize(4);
            InetSocketAddress p = addrs.get(0);
            InetSocketAddress other = addrs.get(3);
            assertThat(other.getAddress()).isEqualTo(altIp);
            assertThat(other.getPort()).isNotEqualTo(p.getPort());

            StunMessage plain =
                    udpExchange(socket, p, encode(StunMessage.bindingRequest(TransactionId.random()), null, false));
            assertThat(plain.attribute(OtherAddress.class).orElseThrow().address())
                    .isEqualTo(other);
            assertThat(plain.attribute(ResponseOrigin.class).orElseThrow().address())
                    .isEqualTo(p);

            for (boolean changeIp : new boolean[] {false, true}) {
                for (boolean changePort : new boolean[] {false, true}) {
                    byte[] req = encode(
                            StunMessage.bindingRequest(TransactionId.random(), new ChangeRequest(changeIp, changePort)),
                            null,
                            false);
                    socket.send(new DatagramPacket(req, req.length, p));
                    byte[] buf = new byte[2048];
                    DatagramPacket in = new DatagramPacket(buf, buf.length);
                    socket.receive(in);
                    StunMessage m = StunCodec.decode(Unpooled.wrappedBuffer(buf, 0, in.getLength()));
                    assertThat(m.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
                    InetSocketAddress origin =
                            m.attribute(ResponseOrigin.class).orElseThrow().address();
                    assertThat(in.getSocketAddress()).isEqualTo(origin);
                    assertThat(origin.getAddress()).isEqualTo(changeIp ? altIp : primaryIp);
                    assertThat(origin.getPort()).isEqualTo(changePort ? other.getPort() : p.getPort());
                }
            }
        }
    }

    @Test
    void rfc5780ConfigNeedsTwoConcreteIps() {
        assertThatThrownBy(
                        () -> StunServerConfig.udp(new InetSocketAddress(3478)).withRfc5780Alternate(loopback(3479)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StunServerConfig.udp(loopback(3478)).withRfc5780Alternate(loopback(3479)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tcpConnectionLimitClosesExtraConnections() throws Exception {
        StunServerConfig config = StunServerConfig.udp(loopback(0))
                .withTcp(loopback(0))
                .withTcpLimits(1, java.time.Duration.ofSeconds(30));
        try (StunServer server = start(config);
                Socket first = new Socket();
                Socket second = new Socket()) {
            first.connect(server.tcpAddress(), 5000);
            // make sure the first is registered before the second connects
            first.getOutputStream().write(tailscaleRequest(TransactionId.random()));
            first.setSoTimeout(5000);
            assertThat(first.getInputStream().read()).isNotNegative();
            second.connect(server.tcpAddress(), 5000);
            second.setSoTimeout(5000);
            int read;
            try {
                read = second.getInputStream().read();
            } catch (SocketTimeoutException | java.net.SocketException e) {
                read = -1;
            }
            assertThat(read).isEqualTo(-1);
            assertThat(metrics.droppedCount(dev.burrow.stun.metrics.DropReason.TCP_CONNECTION_LIMIT))
                    .isEqualTo(1);
        }
    }

    @Test
    void aClientThatNeverReadsIsPushedBackAndDoesNotStallOthers() throws Exception {
        StunServerConfig config = StunServerConfig.udp(loopback(0)).withTcp(loopback(0));
        try (StunServer server = start(config);
                Socket stalled = new Socket();
                Socket other = new Socket()) {
            stalled.setReceiveBufferSize(4096);
            stalled.connect(server.tcpAddress(), 5000);
            byte[] request = tailscaleRequest(TransactionId.random());
            byte[] chunk = new byte[request.length * 1000];
            for (int i = 0; i < 1000; i++) {
                System.arraycopy(request, 0, chunk, i * request.length, request.length);
            }
            java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
            Thread writer = new Thread(() -> {
                try {
                    // 400 MB of requests if nothing pushed back; the server must stop reading long before.
                    for (int i = 0; i < 10_000; i++) {
                        stalled.getOutputStream().write(chunk);
                        written.addAndGet(chunk.length);
                    }
                } catch (IOException expectedWhenClosed) {
                    // the socket is closed at the end of the test
                }
            });
            writer.setDaemon(true);
            writer.start();
            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(20))
                    .pollInterval(java.time.Duration.ofMillis(200))
                    .until(() -> {
                        long before = written.get();
                        Thread.sleep(500);
                        return written.get() == before; // the writer is blocked: TCP pushed back
                    });
            // kernel socket buffers on loopback take several MB; without pushback all 400 MB would go through
            assertThat(written.get()).isLessThan(64L * 1024 * 1024);

            other.connect(server.tcpAddress(), 5000);
            other.setSoTimeout(5000);
            other.getOutputStream().write(tailscaleRequest(TransactionId.random()));
            byte[] header = new byte[20];
            new DataInputStream(other.getInputStream()).readFully(header);
            assertThat(header[0]).isEqualTo((byte) 0x01);
            assertThat(header[1]).isEqualTo((byte) 0x01);
        }
    }
}
