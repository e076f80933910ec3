package dev.burrow.agent.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.burrow.agent.Agent;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.identity.SecureFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Serves {@link ControlApi} for one running {@link Agent}. */
public final class ControlApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlApiServer.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final HttpServer server;
    private final ExecutorService executor;
    private final Path stateDir;
    private final byte[] token;

    private ControlApiServer(HttpServer server, ExecutorService executor, Path stateDir, byte[] token) {
        this.server = server;
        this.executor = executor;
        this.stateDir = stateDir;
        this.token = token;
    }

    /**
     * Binds 127.0.0.1 on {@code port} (0 = any free port), writes a fresh token and the endpoint
     * into {@code stateDir} (0600) and serves {@code agent}.
     */
    public static ControlApiServer start(Agent agent, Path stateDir, int port) throws IOException {
        SecureFiles.ensurePrivateDir(stateDir);
        byte[] raw = new byte[ControlApi.TOKEN_BYTES];
        new SecureRandom().nextBytes(raw);
        byte[] token = HexFormat.of().formatHex(raw).getBytes(StandardCharsets.US_ASCII);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "burrow-agent-api");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        ControlApiServer api = new ControlApiServer(server, executor, stateDir, token);
        server.createContext(ControlApi.STATUS_PATH, ex -> api.handle(ex, () -> new Reply(200, agent.status())));
        server.createContext(ControlApi.READY_PATH, ex -> api.handle(ex, () -> {
            String problem = agent.readyProblem();
            return problem == null ? new Reply(200, Map.of("ready", true))
                    : new Reply(503, Map.of("ready", false, "problem", problem));
        }));
        server.createContext(ControlApi.WHOIS_PATH, ex -> api.handle(ex, () -> whois(agent, ex.getRequestURI().getRawQuery())));
        server.start();
        SecureFiles.writeAtomically(stateDir.resolve(ControlApi.TOKEN_FILE), token, SecureFiles.SECRET_PERMS);
        String url = "http://127.0.0.1:" + server.getAddress().getPort();
        SecureFiles.writeAtomically(stateDir.resolve(ControlApi.ENDPOINT_FILE), url.getBytes(StandardCharsets.US_ASCII),
                SecureFiles.SECRET_PERMS);
        log.info("local control API on {} (token in {})", url, stateDir.resolve(ControlApi.TOKEN_FILE));
        return api;
    }

    private record Reply(int status, Object body) {}

    private static Reply whois(Agent agent, String rawQuery) {
        String addr = null;
        if (rawQuery != null) {
            for (String kv : rawQuery.split("&")) {
                if (kv.startsWith("addr=")) {
                    addr = java.net.URLDecoder.decode(kv.substring("addr=".length()), StandardCharsets.UTF_8);
                }
            }
        }
        if (addr == null || addr.length() > MAX_WHOIS_ADDRESS) {
            return new Reply(400, Map.of("error", "give addr=HOST:PORT"));
        }
        java.net.InetSocketAddress a;
        try {
            a = WhoisTable.parseAddress(addr);
        } catch (IllegalArgumentException e) {
            return new Reply(400, Map.of("error", e.getMessage()));
        }
        return agent.whois().lookup(a).<Reply>map(c -> new Reply(200, c))
                .orElseGet(() -> new Reply(404, Map.of("error", ControlApi.NO_SUCH_CONNECTION, "addr", WhoisTable.text(a))));
    }

    /** {@code [ffff:...%scope]:65535} fits; anything longer is not an address. */
    static final int MAX_WHOIS_ADDRESS = 128;

    private interface Handler {
        Reply handle() throws Exception;
    }

    private void handle(HttpExchange ex, Handler h) throws IOException {
        try (ex) {
            if (!"GET".equals(ex.getRequestMethod())) {
                send(ex, 405, Map.of("error", "GET only"));
                return;
            }
            if (!authorised(ex.getRequestHeaders().getFirst("Authorization"))) {
                send(ex, 401, Map.of("error", "missing or wrong bearer token"));
                return;
            }
            Reply r = h.handle();
            send(ex, r.status(), r.body());
        } catch (Exception e) {
            log.debug("control API request failed", e);
        }
    }

    private boolean authorised(String header) {
        if (header == null || !header.startsWith("Bearer ")) {
            return false;
        }
        byte[] given = header.substring("Bearer ".length()).strip().getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(given, token);
    }

    private static void send(HttpExchange ex, int status, Object body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Stops serving and removes the endpoint and token files. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        try {
            Files.deleteIfExists(stateDir.resolve(ControlApi.ENDPOINT_FILE));
            Files.deleteIfExists(stateDir.resolve(ControlApi.TOKEN_FILE));
        } catch (IOException e) {
            log.debug("cannot remove control API files: {}", e.toString());
        }
    }
}
