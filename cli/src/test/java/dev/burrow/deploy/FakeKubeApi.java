package dev.burrow.deploy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Just enough of a Kubernetes API on loopback for Helm's {@code lookup} of Secrets.
 *
 * <p>Why: helm-java's {@code template} (0.0.21) renders with dry-run "none", so {@code lookup} asks
 * a real API server instead of returning an empty result as {@code helm template} does. Giving it
 * this server keeps the test hermetic (it can never reach a developer's real cluster) and lets the
 * test check that an existing mesh key is kept on upgrade.
 */
final class FakeKubeApi implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fake-kube-api");
        t.setDaemon(true);
        return t;
    });
    /** "namespace/name" to the Secret's data (key to base64 value). */
    private final Map<String, Map<String, String>> secrets = new ConcurrentHashMap<>();

    private final List<String> requests = new CopyOnWriteArrayList<>();

    FakeKubeApi() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", this::handle);
        server.setExecutor(executor);
        server.start();
    }

    void putSecret(String namespace, String name, Map<String, String> base64Data) {
        secrets.put(namespace + "/" + name, Map.copyOf(base64Data));
    }

    void clearSecrets() {
        secrets.clear();
    }

    List<String> requests() {
        return List.copyOf(requests);
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** A kubeconfig file that points at this server only. */
    Path writeKubeconfig(Path dir) throws IOException {
        Path file = dir.resolve("kubeconfig");
        Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters:
                  - name: fake
                    cluster:
                      server: %s
                users:
                  - name: fake
                    user:
                      token: not-a-secret
                contexts:
                  - name: fake
                    context:
                      cluster: fake
                      user: fake
                current-context: fake
                """.formatted(url()));
        return file;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            requests.add(exchange.getRequestMethod() + " " + path);
            if (!"GET".equals(exchange.getRequestMethod())) {
                send(exchange, 405, status(405, "MethodNotAllowed", "read-only fake"));
                return;
            }
            if (path.equals("/api")) {
                send(exchange, 200, """
                        {"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}""");
                return;
            }
            if (path.equals("/apis")) {
                send(exchange, 200, """
                        {"kind":"APIGroupList","apiVersion":"v1","groups":[]}""");
                return;
            }
            if (path.equals("/api/v1")) {
                send(exchange, 200, """
                        {"kind":"APIResourceList","groupVersion":"v1","resources":[
                          {"name":"secrets","singularName":"secret","namespaced":true,"kind":"Secret",
                           "verbs":["get","list"]}]}""");
                return;
            }
            String[] parts = path.split("/");
            // /api/v1/namespaces/{ns}/secrets/{name}
            if (parts.length == 7 && parts[3].equals("namespaces") && parts[5].equals("secrets")) {
                Map<String, String> data = secrets.get(parts[4] + "/" + parts[6]);
                if (data == null) {
                    send(exchange, 404, status(404, "NotFound", "secrets " + parts[6] + " not found"));
                    return;
                }
                StringBuilder json = new StringBuilder();
                data.forEach((k, v) -> json.append(json.isEmpty() ? "" : ",")
                        .append('"')
                        .append(k)
                        .append("\":\"")
                        .append(v)
                        .append('"'));
                send(exchange, 200, """
                        {"apiVersion":"v1","kind":"Secret","metadata":{"name":"%s","namespace":"%s"},
                         "type":"Opaque","data":{%s}}""".formatted(parts[6], parts[4], json));
                return;
            }
            send(exchange, 404, status(404, "NotFound", "the fake API serves Secrets only"));
        }
    }

    private static String status(int code, String reason, String message) {
        return """
                {"kind":"Status","apiVersion":"v1","status":"Failure","message":"%s","reason":"%s","code":%d}""".formatted(message.replace("\"", "\\\""), reason, code);
    }

    private static void send(HttpExchange exchange, int code, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(code, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
