package dev.burrow.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.fault.EchoTarget;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Many connections through one forward, real processes on loopback: 1,000 short HTTP/1.0 requests
 * (a new connection each, 16 at a time, every response body checked), and 200 connections open at
 * the same time each echoing its own payload; over the relay (dave) and over the direct path (bob).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ManyConnectionsE2eTest {
    static final int REQUESTS = 1000;
    static final int REQUEST_CONCURRENCY = 16;
    static final int CONCURRENT = 200;
    static final int PAYLOAD = 16 * 1024;

    HttpTarget http;
    EchoTarget echo;
    Cluster c;

    @BeforeAll
    void start() throws Exception {
        http = new HttpTarget();
        echo = new EchoTarget();
        c = Cluster.standard(
                "many",
                Map.of("web", "target: 127.0.0.1:" + http.port(), "echo", "target: 127.0.0.1:" + echo.port()),
                List.of("web", "echo"));
        c.awaitDirect(c.agent("bob"), c.agent("alice"), c.forwardPort(c.agent("bob"), "echo"));
    }

    @AfterAll
    void stop() throws IOException {
        if (c != null) {
            c.close();
        }
        if (http != null) {
            http.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    /** bob's forwards take the direct path, dave's the relay. */
    Cluster.Agent dialer(String path) {
        return c.agent(path.equals("direct") ? "bob" : "dave");
    }

    @ParameterizedTest
    @ValueSource(strings = {"relay", "direct"})
    void thousandShortHttp10RequestsAllAnsweredCorrectly(String path) throws Exception {
        Cluster.Agent dialer = dialer(path);
        int port = c.forwardPort(dialer, "web");
        Semaphore slots = new Semaphore(REQUEST_CONCURRENCY);
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < REQUESTS; i++) {
                String target = "/" + path + "/request/" + i;
                slots.acquire();
                done.add(pool.submit(() -> {
                    try {
                        String problem = request(port, target);
                        if (problem != null) {
                            wrong.add(target + ": " + problem);
                        }
                    } finally {
                        slots.release();
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(5, TimeUnit.MINUTES);
            }
        }
        assertThat(wrong).as("requests answered wrongly").isEmpty();
        var forward = dialer.status().forwards().stream()
                .filter(f -> f.service().equals("web"))
                .findFirst()
                .orElseThrow();
        assertThat(forward.acceptedConnections()).isGreaterThanOrEqualTo(REQUESTS);
        assertThat(forward.failedConnections()).isZero();
        assertThat(forward.path()).isEqualTo(path);
        c.assertNoLeakReports();
    }

    /** One HTTP/1.0 request on a new connection; null when the response is exactly right, else what is wrong. */
    static String request(int port, String target) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            s.getOutputStream()
                    .write(("GET " + target + " HTTP/1.0\r\nHost: web\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] all = s.getInputStream().readAllBytes();
            String text = new String(all, StandardCharsets.UTF_8);
            int split = text.indexOf("\r\n\r\n");
            if (split < 0) {
                return "no complete response head in " + all.length + " bytes";
            }
            String head = text.substring(0, split);
            String body = text.substring(split + 4);
            if (!head.startsWith("HTTP/1.0 200 ")) {
                return "status line " + head.lines().findFirst().orElse("");
            }
            String expected = HttpTarget.body(target);
            if (!head.contains("Content-Length: " + expected.getBytes(StandardCharsets.UTF_8).length)) {
                return "head " + head;
            }
            return body.equals(expected) ? null : "body differs (" + body.length() + " chars)";
        } catch (IOException e) {
            return e.toString();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"relay", "direct"})
    void twoHundredConnectionsOpenAtOnceEachEchoItsOwnPayload(String path) throws Exception {
        Cluster.Agent dialer = dialer(path);
        int port = c.forwardPort(dialer, "echo");
        List<Socket> sockets = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < CONCURRENT; i++) {
                Socket s = new Socket("127.0.0.1", port);
                s.setSoTimeout(120_000);
                sockets.add(s);
            }
            // every connection sends its payload and reads its echo while all of them stay open
            List<Future<String>> echoed = new ArrayList<>();
            for (int i = 0; i < CONCURRENT; i++) {
                Socket s = sockets.get(i);
                byte[] payload = payload(path, i);
                echoed.add(pool.submit(() -> {
                    s.getOutputStream().write(payload);
                    byte[] back = s.getInputStream().readNBytes(payload.length);
                    return Arrays.equals(back, payload) ? null : "echo differs (" + back.length + " bytes)";
                }));
            }
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < CONCURRENT; i++) {
                String problem = echoed.get(i).get(5, TimeUnit.MINUTES);
                if (problem != null) {
                    wrong.add(i + ": " + problem);
                }
            }
            assertThat(wrong).as("connections whose echo was wrong").isEmpty();
            // all of them are open at this moment: the dialing agent and the exposing agent count them
            await("status shows every connection open")
                    .atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(dialer.status().forwards().stream()
                                    .filter(f -> f.service().equals("echo"))
                                    .findFirst()
                                    .orElseThrow()
                                    .openConnections())
                            .isEqualTo(CONCURRENT));
            assertThat(c.agent("alice").status().connections())
                    .filteredOn(conn -> conn.peer().equals(dialer.nodeId()))
                    .hasSize(CONCURRENT)
                    .allSatisfy(conn -> assertThat(conn.path()).isEqualTo(path));
            // then each half-closes; the echo ends with EOF
            List<Future<Boolean>> ended = new ArrayList<>();
            for (Socket s : sockets) {
                ended.add(pool.submit(() -> {
                    s.shutdownOutput();
                    InputStream in = s.getInputStream();
                    return in.read() == -1;
                }));
            }
            for (Future<Boolean> f : ended) {
                assertThat(f.get(2, TimeUnit.MINUTES)).as("EOF after the echo").isTrue();
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        await("the connections are gone from the status")
                .atMost(Duration.ofSeconds(60))
                .untilAsserted(() -> assertThat(c.agent("alice").status().connections())
                        .filteredOn(conn -> conn.peer().equals(dialer.nodeId()))
                        .isEmpty());
        c.assertNoLeakReports();
    }

    static byte[] payload(String path, int i) {
        byte[] b = new byte[PAYLOAD - i];
        new Random(path.hashCode() * 1000L + i).nextBytes(b);
        return b;
    }
}
