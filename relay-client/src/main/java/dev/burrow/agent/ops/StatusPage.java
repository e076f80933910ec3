package dev.burrow.agent.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.agent.AgentStatus;
import dev.burrow.identity.SecureFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The agent's read-only status page: one HTML page with its script and style (no external assets,
 * so it works offline) and the JSON it polls ({@link AgentStatus}, what {@code burrow status -o json}
 * shows), all under {@code /s/<secret>/}. The secret (256 random bits, kept 0600 in the state
 * directory as {@value #SECRET_FILE}, so a bookmark survives restarts) keeps other local users out:
 * anyone can connect to a loopback port. Without it: 401 at {@code /}, 404 anywhere else. No
 * endpoint changes anything.
 */
public final class StatusPage {
    /** The secret, in the state directory (0600). */
    public static final String SECRET_FILE = "web.secret";
    /** The running agent's page URL with its secret (0600; removed when the agent stops). */
    public static final String URL_FILE = "agent-web.url";
    /** Secret entropy: 256 bits, like every other secret in Burrow. */
    static final int SECRET_BYTES = 32;
    /** The page's own resources (class path, next to this class). */
    private static final String HTML = "status.html";

    private static final String JS = "status.js";
    private static final String CSS = "status.css";
    /**
     * Only this page's own script, style and JSON; no frames, no forms, no other origin. The page
     * would work without it; it limits what an injected string could do.
     */
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            + "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final byte[] prefix;
    private final Supplier<AgentStatus> status;
    private final Map<String, byte[]> assets;

    private StatusPage(String secret, Supplier<AgentStatus> status) {
        this.prefix = ("/s/" + secret + "/").getBytes(StandardCharsets.US_ASCII);
        this.status = status;
        this.assets = Map.of(HTML, resource(HTML), JS, resource(JS), CSS, resource(CSS));
    }

    public static StatusPage create(String secret, Supplier<AgentStatus> status) {
        return new StatusPage(secret, status);
    }

    /** The page's path on the server: {@code /s/<secret>/}. */
    public String path() {
        return new String(prefix, StandardCharsets.US_ASCII);
    }

    /** The secret of {@code stateDir}, made on first use (0600). */
    public static String loadOrCreateSecret(Path stateDir) throws IOException {
        SecureFiles.ensurePrivateDir(stateDir);
        Path file = stateDir.resolve(SECRET_FILE);
        if (Files.exists(file)) {
            SecureFiles.requireOwnerOnly(file);
            String s = Files.readString(file, StandardCharsets.US_ASCII).strip();
            if (s.length() >= 43 && s.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '-' || c == '_')) {
                return s;
            }
            throw new IOException(file + ": not a status page secret: delete it and a new one is made");
        }
        byte[] raw = new byte[SECRET_BYTES];
        new SecureRandom().nextBytes(raw);
        String s = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        SecureFiles.createAtomically(file, s.getBytes(StandardCharsets.US_ASCII), SecureFiles.SECRET_PERMS);
        return s;
    }

    /** The URL to open, for {@code burrow status --web}. */
    public String url(InetSocketAddress bound) {
        return "http://" + OpsHttpServer.text(bound) + path();
    }

    public OpsHttpServer.Response route(OpsHttpServer.Request r) {
        String path = r.path();
        if (path.equals("/") || path.equals("/s/") || path.equals("/index.html")) {
            return OpsHttpServer.Response.text(
                    401, "this status page needs its secret URL: run 'burrow status --web' as the agent's user\n");
        }
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length < prefix.length || !MessageDigest.isEqual(Arrays.copyOf(p, prefix.length), prefix)) {
            return OpsHttpServer.Response.text(404, "not found\n");
        }
        String rest = path.substring(prefix.length);
        return switch (rest) {
            case "" -> asset(HTML, "text/html; charset=utf-8");
            case JS -> asset(JS, "text/javascript; charset=utf-8");
            case CSS -> asset(CSS, "text/css; charset=utf-8");
            case "status.json" -> json();
            default -> OpsHttpServer.Response.text(404, "not found\n");
        };
    }

    private OpsHttpServer.Response asset(String name, String type) {
        return new OpsHttpServer.Response(200, type, assets.get(name), headers());
    }

    private OpsHttpServer.Response json() {
        try {
            return new OpsHttpServer.Response(200, "application/json", JSON.writeValueAsBytes(status.get()), headers());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, String> headers() {
        return Map.of("Content-Security-Policy", CSP, "X-Frame-Options", "DENY", "Referrer-Policy", "no-referrer");
    }

    private static byte[] resource(String name) {
        try (InputStream in = StatusPage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("status page resource " + name + " missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
