package dev.burrow.bench.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DelayProxy} in front of a real echo server on loopback: bytes arrive intact and in order through a
 * small in-flight limit while the delay changes, the delay is at least what was asked, and a half-close
 * passes through in both directions.
 */
class DelayProxyTest {
    private ServerSocket server;
    private ExecutorService pool;
    private DelayProxy.Running proxy;

    @BeforeEach
    void setUp() throws Exception {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        pool = Executors.newVirtualThreadPerTaskExecutor();
        // Echo until the client's FIN, then say BYE and half-close: the client must see all of it.
        pool.submit(() -> {
            while (!server.isClosed()) {
                Socket s = server.accept();
                pool.submit(() -> {
                    try (s) {
                        InputStream in = s.getInputStream();
                        OutputStream out = s.getOutputStream();
                        byte[] buf = new byte[8192];
                        int n;
                        while ((n = in.read(buf)) > 0) {
                            out.write(buf, 0, n);
                        }
                        out.write("BYE".getBytes(StandardCharsets.US_ASCII));
                        s.shutdownOutput();
                        return in.read(); // the client's close
                    }
                });
            }
            return null;
        });
        proxy = DelayProxy.start(List.of(new int[] {0, server.getLocalPort()}));
    }

    @AfterEach
    void tearDown() throws Exception {
        DelayProxy.setDelayMs(0);
        DelayProxy.setMaxInflight(32 << 20);
        proxy.close();
        server.close();
        pool.shutdownNow();
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(30_000);
        s.connect(
                new InetSocketAddress(
                        InetAddress.getLoopbackAddress(), proxy.ports().get(0)),
                30_000);
        return s;
    }

    @Test
    void bytesArriveInOrderThroughBoundedBufferingWhileTheDelayChanges() throws Exception {
        DelayProxy.setMaxInflight(64 * 1024);
        DelayProxy.setDelayMs(5);
        byte[] data = new byte[4 << 20];
        new Random(42).nextBytes(data);
        try (Socket s = connect()) {
            Future<byte[]> back = pool.submit(() -> s.getInputStream().readAllBytes());
            OutputStream out = s.getOutputStream();
            for (int off = 0; off < data.length; off += 64 * 1024) {
                if (off == data.length / 2) {
                    DelayProxy.setDelayMs(0); // a lower delay must not overtake bytes already in flight
                }
                out.write(data, off, 64 * 1024);
            }
            s.shutdownOutput();
            byte[] got = back.get();
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            expected.write(data);
            expected.write("BYE".getBytes(StandardCharsets.US_ASCII));
            assertThat(got).isEqualTo(expected.toByteArray());
        }
    }

    @Test
    void aRoundTripTakesTheHandshakeAndBothDirections() throws Exception {
        DelayProxy.setDelayMs(40);
        long t0 = System.nanoTime();
        try (Socket s = connect()) {
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
            long ms = (System.nanoTime() - t0) / 1_000_000;
            // handshake 3·D (the target accepts), then the answer D back: at least 4·D = 2 RTT
            assertThat(ms).isGreaterThanOrEqualTo(160);
            s.shutdownOutput();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("BYE");
        }
    }

    @Test
    void halfCloseTravelsBothWays() throws Exception {
        // The target half-closes only after the client's FIN; here the client half-closes first and
        // still reads the target's last bytes and FIN: both directions' FIN went through.
        try (Socket s = connect()) {
            s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("helloBYE");
        }
    }
}
