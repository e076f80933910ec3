package dev.burrow.relay.server.net;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Serves {@code POST /v1/enrol}: a JSON request body (already size-capped) in, a status and a JSON
 * body out. The relay only carries bytes; the enrolment logic (join token → certificate) lives in
 * {@code dev.burrow.identity.enrol}. Implementations must never put a token in a log line.
 */
public interface EnrolmentEndpoint {

    record Response(int status, String json) {}

    CompletionStage<Response> handle(byte[] requestJson, String remoteAddress);

    /** Enrolment is not configured on this relay. */
    EnrolmentEndpoint DISABLED = (body, remote) -> CompletableFuture.completedFuture(
            new Response(404, "{\"error\":\"enrolment is not enabled on this relay\"}"));
}
