package dev.burrow.relay.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.testing.LogCapture;
import dev.burrow.relay.server.auth.Admission.Decision;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** failing admission webhooks: the webhook is fail-closed against a real HTTP server on loopback. */
class WebhookAdmissionTest {
    /** Short in tests; the production default is 5 s. */
    static final Duration TIMEOUT = Duration.ofMillis(500);

    HttpServer server;
    ExecutorService executor;
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicReference<String> lastRequest = new AtomicReference<>();
    final NodeKey key = NodeIdentity.ephemeral("n").nodeKey();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        executor = Executors.newCachedThreadPool();
        server.setExecutor(executor);
        route("/allow", 200, "{\"allow\":true}");
        route("/deny", 200, "{\"allow\":false}");
        route("/error", 500, "{\"allow\":true}");
        route("/redirect", 302, "{\"allow\":true}");
        route("/notjson", 200, "<html>allow</html>");
        route("/stringallow", 200, "{\"allow\":\"true\"}");
        route("/array", 200, "[true]");
        route("/big", 200, "{\"allow\":true,\"pad\":\"" + "x".repeat(WebhookAdmission.MAX_BODY_BYTES) + "\"}");
        server.createContext("/slow", ex -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            respond(ex, 200, "{\"allow\":true}");
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    private void route(String path, int status, String body) {
        server.createContext(path, ex -> {
            lastRequest.set(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            if (status == 302) {
                ex.getResponseHeaders().add("Location", "/allow");
            }
            respond(ex, status, body);
        });
    }

    private static void respond(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    private Decision ask(String path, boolean failOpen) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
        WebhookAdmission w = new WebhookAdmission(uri, TIMEOUT, failOpen);
        VerifiedPeer peer = new VerifiedPeer(
                key, "alice", Set.of("dev"), Instant.now().plusSeconds(60), true, java.math.BigInteger.ONE);
        return w.decide(key, peer).get(10, TimeUnit.SECONDS);
    }

    @Test
    void allowOnlyOnStatus200WithAllowTrue() throws Exception {
        assertThat(ask("/allow", false).allowed()).isTrue();
        assertThat(lastRequest.get())
                .contains(key.nodeId())
                .contains("\"name\":\"alice\"")
                .contains("\"tags\":[\"dev\"]")
                .contains("\"caIssued\":true");
        assertThat(ask("/deny", false).allowed()).isFalse();
    }

    @Test
    void everyFailureDenies() throws Exception {
        for (String path :
                new String[] {"/error", "/redirect", "/notjson", "/stringallow", "/array", "/big", "/slow", "/missing"
                }) {
            assertThat(ask(path, false).allowed()).as(path).isFalse();
        }
    }

    @Test
    void decisionsAreCounted() throws Exception {
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        var metrics = new dev.burrow.identity.metrics.MicrometerIdentityMetrics(registry);
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        for (String path : new String[] {"/allow", "/deny", "/error"}) {
            new WebhookAdmission(URI.create(base + path), TIMEOUT, false)
                    .metrics(metrics)
                    .decide(key, null)
                    .get(10, TimeUnit.SECONDS);
        }
        String name = dev.burrow.identity.metrics.IdentityMetrics.WEBHOOK_DECISIONS;
        assertThat(registry.get(name).tag("outcome", "allow").counter().count()).isEqualTo(1);
        assertThat(registry.get(name).tag("outcome", "deny").counter().count()).isEqualTo(1);
        assertThat(registry.get(name).tag("outcome", "error_denied").counter().count())
                .isEqualTo(1);
    }

    @Test
    void unreachableDenies() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        WebhookAdmission w = new WebhookAdmission(URI.create("http://127.0.0.1:" + port + "/x"), TIMEOUT, false);
        assertThat(w.decide(key, null).get(10, TimeUnit.SECONDS).allowed()).isFalse();
    }

    @Test
    void failOpenAdmitsOnErrorsButLogsLoudlyAndStillHonoursDeny() throws Exception {
        try (LogCapture logs = LogCapture.start()) {
            assertThat(ask("/error", true).allowed()).isTrue();
            assertThat(ask("/slow", true).allowed()).isTrue();
            assertThat(ask("/deny", true).allowed()).isFalse();
            assertThat(logs.events()).anySatisfy(e -> {
                assertThat(e.getLevel().toString()).isEqualTo("WARN");
                assertThat(e.getFormattedMessage()).contains("FAIL-OPEN");
            });
            assertThat(logs.events())
                    .anySatisfy(e -> assertThat(e.getFormattedMessage()).contains("ADMITTING"));
        }
    }
}
