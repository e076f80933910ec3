package dev.burrow.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.fault.EchoTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Half-close both ways through a forward, real processes on loopback, over the relay (dave) and the
 * direct path (bob). Client first: the client sends its bytes and shuts its output; the target reads
 * to EOF, then still sends its answer and closes. Server first: the target sends its bytes and shuts
 * its output; the client reads to EOF, then still sends, shuts its output, and sees the close. Every
 * byte is checked by length and SHA-256 on the side that receives it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HalfCloseE2eTest {
    static final int CLIENT_BYTES = 3 << 20;
    static final int SERVER_BYTES = 5 << 20;

    /** What a target received on one connection: length and SHA-256. */
    record Received(long length, String sha256) {}

    final ConcurrentLinkedQueue<Received> clientFirstSaw = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Received> serverFirstSaw = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> targetErrors = new ConcurrentLinkedQueue<>();
    ServerSocket clientFirst;
    ServerSocket serverFirst;
    EchoTarget echo;
    Cluster c;

    @BeforeAll
    void start() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        clientFirst = serve(new ServerSocket(0, 64, lo), s -> {
            clientFirstSaw.add(drain(s.getInputStream()));
            send(s.getOutputStream(), SERVER_BYTES, 2);
            s.shutdownOutput();
        });
        serverFirst = serve(new ServerSocket(0, 64, lo), s -> {
            send(s.getOutputStream(), SERVER_BYTES, 3);
            s.shutdownOutput();
            serverFirstSaw.add(drain(s.getInputStream()));
        });
        echo = new EchoTarget();
        c = Cluster.standard(
                "halfclose",
                Map.of(
                        "clientfirst", "target: 127.0.0.1:" + clientFirst.getLocalPort(),
                        "serverfirst", "target: 127.0.0.1:" + serverFirst.getLocalPort(),
                        "echo", "target: 127.0.0.1:" + echo.port()),
                List.of("clientfirst", "serverfirst", "echo"));
        c.awaitDirect(c.agent("bob"), c.agent("alice"), c.forwardPort(c.agent("bob"), "echo"));
    }

    @AfterAll
    void stop() throws IOException {
        if (c != null) {
            c.close();
        }
        for (AutoCloseable s : new AutoCloseable[] {clientFirst, serverFirst, echo}) {
            try {
                if (s != null) {
                    s.close();
                }
            } catch (Exception e) {
                // closing anyway
            }
        }
    }

    Cluster.Agent dialer(String path) {
        return c.agent(path.equals("direct") ? "bob" : "dave");
    }

    @ParameterizedTest
    @ValueSource(strings = {"relay", "direct"})
    void clientShutsItsOutputAndTheServerStillAnswers(String path) throws Exception {
        clientFirstSaw.clear();
        try (Socket s = new Socket("127.0.0.1", c.forwardPort(dialer(path), "clientfirst"))) {
            s.setSoTimeout(60_000);
            String sent = send(s.getOutputStream(), CLIENT_BYTES, 1);
            s.shutdownOutput();
            Received answer = drain(s.getInputStream());
            assertThat(answer).isEqualTo(new Received(SERVER_BYTES, digest(SERVER_BYTES, 2)));
            await().atMost(Duration.ofSeconds(30)).until(() -> !clientFirstSaw.isEmpty());
            assertThat(clientFirstSaw.poll()).isEqualTo(new Received(CLIENT_BYTES, sent));
        }
        assertThat(targetErrors).isEmpty();
        assertThat(dialer(path).status().forwards().stream()
                        .filter(f -> f.service().equals("clientfirst"))
                        .findFirst()
                        .orElseThrow()
                        .path())
                .isEqualTo(path);
    }

    @ParameterizedTest
    @ValueSource(strings = {"relay", "direct"})
    void serverShutsItsOutputAndTheClientStillSends(String path) throws Exception {
        serverFirstSaw.clear();
        try (Socket s = new Socket("127.0.0.1", c.forwardPort(dialer(path), "serverfirst"))) {
            s.setSoTimeout(60_000);
            Received greeting = drain(s.getInputStream());
            assertThat(greeting).isEqualTo(new Received(SERVER_BYTES, digest(SERVER_BYTES, 3)));
            String sent = send(s.getOutputStream(), CLIENT_BYTES, 4);
            s.shutdownOutput();
            await().atMost(Duration.ofSeconds(60)).until(() -> !serverFirstSaw.isEmpty());
            assertThat(serverFirstSaw.poll()).isEqualTo(new Received(CLIENT_BYTES, sent));
            // the target closed after our EOF: the stream is over, nothing more arrives
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(targetErrors).isEmpty();
    }

    // ------------------------------------------------------------------ targets and bytes

    interface Conversation {
        void run(Socket s) throws IOException;
    }

    ServerSocket serve(ServerSocket server, Conversation conversation) {
        Thread.ofPlatform().daemon().name("dataplane-halfclose-accept").start(() -> {
            while (!server.isClosed()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return;
                }
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        s.setSoTimeout(60_000);
                        conversation.run(s);
                    } catch (IOException e) {
                        targetErrors.add(e.toString());
                    }
                });
            }
        });
        return server;
    }

    /** Writes {@code length} bytes of the stream {@code seed}; returns their SHA-256. */
    static String send(OutputStream out, int length, long seed) throws IOException {
        MessageDigest sha = sha256();
        Random r = new Random(seed);
        byte[] chunk = new byte[64 * 1024];
        int sent = 0;
        while (sent < length) {
            r.nextBytes(chunk);
            int n = Math.min(chunk.length, length - sent);
            sha.update(chunk, 0, n);
            out.write(chunk, 0, n);
            sent += n;
        }
        out.flush();
        return HexFormat.of().formatHex(sha.digest());
    }

    static String digest(int length, long seed) {
        try {
            return send(OutputStream.nullOutputStream(), length, seed);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Received drain(InputStream in) throws IOException {
        MessageDigest sha = sha256();
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            sha.update(buf, 0, n);
            total += n;
        }
        return new Received(total, HexFormat.of().formatHex(sha.digest()));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
