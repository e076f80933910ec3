package dev.burrow.relay.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks an HTTP endpoint: {@code POST {"nodeId", "name", "tags", "caIssued"}}; admitted only on status
 * 200 with a JSON body {@code {"allow": true}} read within the timeout and under
 * {@link #MAX_BODY} bytes. Anything else (timeout, 5xx, redirect, non-JSON, oversized body) denies:
 * fail closed (C6), unless fail-open was configured explicitly, which is logged at every failure.
 */
public final class WebhookAdmission implements ClientAdmission {
    private static final Logger log = LoggerFactory.getLogger(WebhookAdmission.class);
    /** Largest response body read (derper's LimitReader is 4 KiB); larger answers deny. */
    public static final int MAX_BODY = 4 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI url;
    private final Duration timeout;
    private final boolean failOpen;
    private final HttpClient client;

    public WebhookAdmission(URI url, Duration timeout, boolean failOpen) {
        this.url = url;
        this.timeout = timeout;
        this.failOpen = failOpen;
        this.client = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
        if (failOpen) {
            log.warn("event=admission_webhook_fail_open url={} msg=\"webhook failures ADMIT clients\"", url);
        }
    }

    @Override
    public CompletionStage<Decision> admit(NodeKey key, VerifiedPeer peer) {
        ObjectNode body = JSON.createObjectNode();
        body.put("nodeId", key.nodeId());
        body.put("caIssued", peer != null && peer.caIssued());
        if (peer != null && peer.name() != null) {
            body.put("name", peer.name());
        }
        var tags = body.putArray("tags");
        if (peer != null) {
            peer.tags().stream().sorted().forEach(tags::add);
        }
        HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        return client.sendAsync(req, HttpResponse.BodyHandlers.ofInputStream())
                .thenApply(this::judge)
                .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .exceptionally(e -> failure("webhook error: " + e.getClass().getSimpleName()));
    }

    private Decision judge(HttpResponse<InputStream> resp) {
        try (InputStream in = resp.body()) {
            if (resp.statusCode() != 200) {
                return failure("webhook status " + resp.statusCode());
            }
            byte[] bytes = in.readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                return failure("webhook answer over " + MAX_BODY + " bytes");
            }
            JsonNode node;
            try {
                node = JSON.readTree(bytes);
            } catch (IOException e) {
                return failure("webhook answer is not JSON");
            }
            JsonNode allow = node == null ? null : node.get("allow");
            if (allow != null && allow.isBoolean() && allow.booleanValue()) {
                return Decision.ALLOW;
            }
            return Decision.deny("refused by the admission webhook");
        } catch (IOException e) {
            return failure("webhook read failed");
        }
    }

    private Decision failure(String why) {
        if (failOpen) {
            log.warn("event=admission_webhook_failed action=admit_fail_open why=\"{}\"", why);
            return Decision.ALLOW;
        }
        log.info("event=admission_webhook_failed action=deny why=\"{}\"", why);
        return Decision.deny("admission check failed");
    }

    @Override
    public String describe() {
        return "webhook " + url + (failOpen ? " (FAIL-OPEN)" : " (fail-closed)");
    }
}
