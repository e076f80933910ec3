package dev.burrow.e2e;

import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.testing.FreePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A demo as real processes: a dev relay (in this JVM), alice exposing a small web service to bob,
 * and bob forwarding a local port to it with the operator endpoints on ({@code --metrics-listen},
 * {@code --web-listen}).
 */
final class OpsDemo implements AutoCloseable {
    static final String GREETING = "hello from alice's web service";
    static final Duration STARTUP = Duration.ofSeconds(60);

    final RelayServer relay;
    final HttpServer web;
    final String aliceId;
    final String bobId;
    final Path bobState;
    final int forwardPort;
    final int metricsPort;
    final int webPort;
    final List<BurrowProcess> processes = new ArrayList<>();

    OpsDemo(Path tmp) throws Exception {
        relay = FirstHourE2eTest.devRelay(tmp.resolve("relay"));
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        web.createContext("/", ex -> {
            byte[] body = (GREETING + "\n").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        web.start();
        Path aliceState = tmp.resolve("alice");
        bobState = tmp.resolve("bob");
        aliceId = BurrowProcess.output(
                        "ops-alice-id", Map.of(), 60, "id", "--node-id", "--state", aliceState.toString())
                .strip();
        bobId = BurrowProcess.output("ops-bob-id", Map.of(), 60, "id", "--node-id", "--state", bobState.toString())
                .strip();
        String url = "https://127.0.0.1:" + relay.address().getPort();
        forwardPort = freePort();
        metricsPort = freePort();
        webPort = freePort();
        BurrowProcess alice = start(
                "ops-alice",
                "expose",
                "web",
                "127.0.0.1:" + web.getAddress().getPort(),
                "--allow",
                "node:" + bobId,
                "--relay",
                url,
                "--relay-fingerprint",
                relay.tlsFingerprint(),
                "--state",
                aliceState.toString());
        BurrowProcess bob = start(
                "ops-bob",
                "connect",
                aliceId + "/web",
                String.valueOf(forwardPort),
                "--relay",
                url,
                "--relay-fingerprint",
                relay.tlsFingerprint(),
                "--state",
                bobState.toString(),
                "--metrics-listen",
                "127.0.0.1:" + metricsPort,
                "--web-listen",
                "127.0.0.1:" + webPort);
        await().atMost(STARTUP).until(() -> alice.logText().contains("connected to relay"));
        await().atMost(STARTUP).until(() -> bob.logText().contains("connected to relay"));
    }

    private BurrowProcess start(String name, String... args) throws IOException {
        BurrowProcess p = BurrowProcess.start(name, Map.of("BURROW_DIRECT", "off"), args);
        processes.add(p);
        return p;
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }

    /**
     * GET through bob's forward (the request crosses the relay to alice's service) on a connection
     * of its own that ends with the answer (HTTP/1.0), so that the stream has ended when this returns.
     */
    String fetchThroughForward() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", forwardPort)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        return http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(20))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        for (BurrowProcess p : processes) {
            p.close();
        }
        web.stop(0);
        relay.close();
    }
}
