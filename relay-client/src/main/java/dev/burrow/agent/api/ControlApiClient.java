package dev.burrow.agent.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.caller.Caller;
import dev.burrow.identity.SecureFiles;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Talks to the running agent whose state directory is given (used by status and ready). */
public final class ControlApiClient {
    /** The agent is local: an answer takes milliseconds; 5 s means it is stuck. */
    public static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Responses are small JSON documents; a larger one is not from our agent. */
    public static final int MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

    private static final ObjectMapper JSON =
            new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** The agent's Unix socket, or null on the TCP fallback. */
    private final Path socket;

    private final URI base;
    private final String token;

    private ControlApiClient(Path socket, URI base, String token) {
        this.socket = socket;
        this.base = base;
        this.token = token;
    }

    /**
     * Reads the endpoint and token of the agent running with {@code stateDir}.
     *
     * @throws IOException when no agent runs there (no endpoint file) or the token file is readable by others
     */
    public static ControlApiClient forStateDir(Path stateDir) throws IOException {
        Path socket = stateDir.resolve(ControlApi.SOCKET_FILE);
        if (Files.exists(socket)) {
            return new ControlApiClient(socket, null, null);
        }
        Path url = stateDir.resolve(ControlApi.ENDPOINT_FILE);
        Path tok = stateDir.resolve(ControlApi.TOKEN_FILE);
        try {
            SecureFiles.requireOwnerOnly(tok);
            String u = Files.readString(url, StandardCharsets.US_ASCII).strip();
            String t = Files.readString(tok, StandardCharsets.US_ASCII).strip();
            if (!u.startsWith("http://127.0.0.1:")) {
                throw new IOException(url + " does not name a local agent");
            }
            return new ControlApiClient(null, URI.create(u), t);
        } catch (NoSuchFileException e) {
            throw new IOException("no running agent uses state directory " + stateDir + " (no " + socket + " or "
                    + e.getFile() + ")");
        }
    }

    /** A response: HTTP status and parsed JSON body. */
    public record Response(int status, JsonNode body) {}

    public Response get(String path) throws IOException {
        if (socket != null) {
            UnixHttp.Answer a = UnixHttp.get(socket, path, TIMEOUT, MAX_RESPONSE_BYTES);
            return new Response(a.status(), JSON.readTree(a.body()));
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
        HttpRequest req = HttpRequest.newBuilder(base.resolve(path))
                .timeout(TIMEOUT)
                .header("Authorization", "Bearer " + token)
                .GET()
                .build();
        try {
            HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            if (r.body().length > MAX_RESPONSE_BYTES) {
                throw new IOException("agent answer too large");
            }
            return new Response(r.statusCode(), JSON.readTree(r.body()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (ConnectException e) {
            throw new IOException("the agent at " + base + " does not answer (not running?)");
        }
    }

    public AgentStatus status() throws IOException {
        Response r = get(ControlApi.STATUS_PATH);
        if (r.status() != 200) {
            throw new IOException("agent answered " + r.status() + ": " + r.body());
        }
        return JSON.treeToValue(r.body(), AgentStatus.class);
    }

    public Response ready() throws IOException {
        return get(ControlApi.READY_PATH);
    }

    /**
     * The caller behind the agent's local connection {@code address} (host:port), or empty when
     * the agent has no such connection.
     *
     * @throws IOException when the agent cannot be asked, or rejects the address (message says why)
     */
    public Optional<Caller> whois(String address) throws IOException {
        Response r = get(ControlApi.WHOIS_PATH + "?addr=" + URLEncoder.encode(address, StandardCharsets.UTF_8));
        if (r.status() == 404) {
            return Optional.empty();
        }
        if (r.status() != 200) {
            throw new IOException(r.body().path("error").asText("agent answered " + r.status()));
        }
        return Optional.of(JSON.treeToValue(r.body(), Caller.class));
    }
}
