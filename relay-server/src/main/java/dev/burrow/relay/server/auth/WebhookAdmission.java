package dev.burrow.relay.server.auth;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.metrics.IdentityMetrics;
import dev.burrow.identity.metrics.IdentityMetrics.WebhookOutcome;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks an HTTP endpoint (failing admission webhooks). The relay POSTs
 * {@code {"nodeId":"...","name":"..."|null,"tags":[...],"caIssued":true|false}} and admits only
 * on status 200 with a JSON object whose {@code allow} is {@code true}. Anything else — timeout
 * ({@value #DEFAULT_TIMEOUT_SECONDS} s), connection error, another status (redirects are not
 * followed), a body over {@value #MAX_BODY_BYTES} bytes, non-JSON — denies (fail-closed). With
 * {@code failOpen} such errors admit instead and each one is logged at WARN; an explicit
 * {@code "allow": false} always denies.
 */
public final class WebhookAdmission implements Admission {
    private static final Logger log = LoggerFactory.getLogger(WebhookAdmission.class);

    public static final int DEFAULT_TIMEOUT_SECONDS = 5;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(DEFAULT_TIMEOUT_SECONDS);
    /** Response bodies are read up to this size; a larger one is an error (derper uses 4 KiB too). */
    public static final int MAX_BODY_BYTES = 4 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(
                    StreamReadConstraints.builder().maxNestingDepth(8).build())
            .build());

    private final URI uri;
    private final Duration timeout;
    private final boolean failOpen;
    private final HttpClient client;
    private volatile IdentityMetrics metrics = IdentityMetrics.NOOP;

    public WebhookAdmission(URI uri, Duration timeout, boolean failOpen) {
        this(
                uri,
                timeout,
                failOpen,
                HttpClient.newBuilder()
                        .connectTimeout(timeout)
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .build());
    }

    public WebhookAdmission(URI uri, Duration timeout, boolean failOpen, HttpClient client) {
        String scheme = uri.getScheme();
        if (!"https".equalsIgnoreCase(scheme) && !"http".equalsIgnoreCase(scheme)) {
            throw new IllegalArgumentException("admission webhook must be an http(s) URL: " + uri);
        }
        this.uri = uri;
        this.timeout = timeout;
        this.failOpen = failOpen;
        this.client = client;
        if (failOpen) {
            log.warn(
                    "admission webhook {} is FAIL-OPEN: when it cannot be reached or answers badly, nodes are admitted",
                    uri);
        }
    }

    /** Where decisions are counted (default: nowhere). */
    public WebhookAdmission metrics(IdentityMetrics m) {
        this.metrics = m;
        return this;
    }

    @Override
    public CompletableFuture<Decision> decide(NodeKey nodeKey, VerifiedPeer peer) {
        ObjectNode body = JSON.createObjectNode();
        body.put("nodeId", nodeKey.nodeId());
        body.put("name", peer != null ? peer.name() : null);
        var tags = body.putArray("tags");
        if (peer != null) {
            peer.tags().stream().sorted().forEach(tags::add);
        }
        body.put("caIssued", peer != null && peer.caIssued());
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(uri)
                    .timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                    .build();
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.completedFuture(onError(nodeKey, "cannot build request"));
        }
        CompletableFuture<Decision> result;
        try {
            result = client.sendAsync(request, WebhookAdmission::bodyHandler).thenApply(resp -> judge(nodeKey, resp));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(onError(nodeKey, "request failed"));
        }
        // The request timeout covers the response headers; this also bounds a slow body.
        return result.orTimeout(timeout.toMillis() * 2, TimeUnit.MILLISECONDS)
                .exceptionally(t -> onError(nodeKey, describe(t)));
    }

    private static HttpResponse.BodySubscriber<byte[]> bodyHandler(HttpResponse.ResponseInfo info) {
        if (info.statusCode() != 200) {
            return HttpResponse.BodySubscribers.replacing(null); // not read at all
        }
        return new CappedBody(MAX_BODY_BYTES);
    }

    private Decision judge(NodeKey nodeKey, HttpResponse<byte[]> resp) {
        if (resp.statusCode() != 200) {
            return onError(nodeKey, "status " + resp.statusCode());
        }
        JsonNode json;
        try {
            json = JSON.readTree(resp.body());
        } catch (IOException | RuntimeException e) {
            return onError(nodeKey, "response is not JSON");
        }
        if (json == null
                || !json.isObject()
                || !json.has("allow")
                || !json.get("allow").isBoolean()) {
            return onError(nodeKey, "response has no boolean 'allow'");
        }
        boolean allow = json.get("allow").booleanValue();
        metrics.webhook(allow ? WebhookOutcome.ALLOW : WebhookOutcome.DENY);
        return allow ? Decision.allow("webhook allowed") : Decision.deny("webhook denied");
    }

    private Decision onError(NodeKey nodeKey, String what) {
        metrics.webhook(failOpen ? WebhookOutcome.ERROR_ADMITTED : WebhookOutcome.ERROR_DENIED);
        if (failOpen) {
            log.warn(
                    "admission webhook failed ({}) for node {}: ADMITTING because fail-open is set",
                    what,
                    nodeKey.shortId());
            return Decision.allow("webhook failed (" + what + "), fail-open");
        }
        log.info("admission webhook failed ({}) for node {}: denying", what, nodeKey.shortId());
        return Decision.deny("admission webhook unavailable");
    }

    private static String describe(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof BodyTooLargeException) {
            return "response larger than " + MAX_BODY_BYTES + " bytes";
        }
        if (c instanceof HttpTimeoutException || c instanceof TimeoutException) {
            return "timeout";
        }
        return c.getClass().getSimpleName();
    }

    @Override
    public String describe() {
        return "webhook " + uri + " (timeout " + timeout.toMillis() + " ms, " + (failOpen ? "FAIL-OPEN" : "fail-closed")
                + ")";
    }

    static final class BodyTooLargeException extends IOException {
        BodyTooLargeException() {
            super("response body too large");
        }
    }

    /** Collects a body up to a cap; past it, cancels the stream and fails. */
    static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final int cap;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private Flow.Subscription subscription;

        CappedBody(int cap) {
            this.cap = cap;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                if (buf.size() + b.remaining() > cap) {
                    subscription.cancel();
                    result.completeExceptionally(new BodyTooLargeException());
                    return;
                }
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                buf.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(buf.toByteArray());
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }
    }
}
