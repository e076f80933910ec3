package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.burrow.testing.FreePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Runs the README's quick start as written, so that it cannot drift from what the commands do: the
 * block between {@code <!-- quick-start: begin -->} and {@code <!-- quick-start: end -->} is read
 * from {@code README.md} and each line is executed, in order, from a fresh home directory. Only the
 * port numbers change (8443, 8080 and 9000 may be taken on a test machine): they are replaced by
 * free ports, and the relay's listen address comes from {@code BURROW_LISTEN} so that its command line
 * stays literal.
 *
 * <p>Understood lines: comments, {@code VAR=sha256:...} (the fingerprint the relay printed),
 * {@code VAR=$(./burrow ...)} (a short command's output), {@code ./burrow relay|expose|connect ...}
 * (long-running, started in the background) and {@code curl URL}. Anything else fails the test, so a
 * new kind of line in the README needs this test taught about it.
 */
class ReadmeQuickStartE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(180);
    static final Pattern FINGERPRINT = Pattern.compile("development certificate (sha256:[0-9a-f]+)");
    static final Pattern CAPTURE = Pattern.compile("([A-Z_]+)=\\$\\((.*)\\)");
    static final Pattern ASSIGN = Pattern.compile("([A-Z_]+)=(sha256:\\.\\.\\.)");
    static final String BODY = "hello from the quick start";

    final List<BurrowProcess> processes = new ArrayList<>();
    HttpServer web;
    Path home;

    @AfterEach
    void stop() {
        for (BurrowProcess p : processes) {
            p.close();
        }
        if (web != null) {
            web.stop(0);
        }
    }

    static List<String> quickStartLines() throws IOException {
        Path readme = Path.of("..", "README.md");
        if (!Files.exists(readme)) {
            readme = Path.of("README.md");
        }
        String text = Files.readString(readme, StandardCharsets.UTF_8);
        int begin = text.indexOf("<!-- quick-start: begin -->");
        int end = text.indexOf("<!-- quick-start: end -->");
        assertThat(begin).as("quick start markers in README.md").isNotNegative();
        assertThat(end).isGreaterThan(begin);
        String block = text.substring(begin, end);
        block = block.substring(block.indexOf("```sh") + 5, block.lastIndexOf("```"));
        return block.lines()
                .map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .toList();
    }

    @Test
    void readmeQuickStartRunsAsWritten() throws Exception {
        home = Files.createTempDirectory("burrow-quickstart-");
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        web.createContext("/", ex -> {
            byte[] b = BODY.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        web.start();
        Map<String, String> ports = Map.of(
                "8443",
                String.valueOf(freePort()),
                "8080",
                String.valueOf(web.getAddress().getPort()),
                "9000",
                String.valueOf(freePort()));
        // A fresh user: the default state directory (~/.burrow) is under the temporary home.
        Map<String, String> env = Map.of(
                "BURROW_STATE",
                home.resolve(".burrow").toString(),
                "BURROW_LISTEN",
                "127.0.0.1:" + ports.get("8443"),
                "BURROW_LOG_LEVEL",
                "INFO");
        Map<String, String> vars = new HashMap<>();
        String relayLog = null;
        int n = 0;
        List<String> lines = quickStartLines();
        assertThat(lines).as("the quick start has commands").hasSizeGreaterThan(4);
        for (String raw : lines) {
            n++;
            String line = substitute(raw, vars, ports);
            Matcher capture = CAPTURE.matcher(line);
            Matcher assign = ASSIGN.matcher(raw);
            if (assign.matches()) {
                assertThat(relayLog).as("the relay runs before " + raw).isNotNull();
                Matcher fp = FINGERPRINT.matcher(relayLog);
                assertThat(fp.find()).as("relay printed its fingerprint").isTrue();
                vars.put(assign.group(1), fp.group(1));
            } else if (capture.matches()) {
                String out = BurrowProcess.output("quickstart-" + n, env, 120, burrowArgs(capture.group(2)))
                        .strip();
                assertThat(out)
                        .as(raw + " prints one value")
                        .doesNotContain("\n")
                        .isNotEmpty();
                vars.put(capture.group(1), out);
            } else if (line.startsWith("./burrow ")) {
                String[] args = burrowArgs(line);
                BurrowProcess p = BurrowProcess.start("quickstart-" + n + "-" + args[0], env, args);
                processes.add(p);
                String ready = switch (args[0]) {
                    case "relay" -> "agents trust this relay with:";
                    case "expose" -> "connected to relay"; // a person waits for it too: before, peers are refused
                    case "connect" -> "forwarding ";
                    default -> throw new AssertionError("the quick start runs an unknown command: " + raw);
                };
                await(raw).atMost(STARTUP).pollInterval(Duration.ofMillis(200)).until(() -> {
                    if (!p.isAlive()) {
                        throw new AssertionError(raw + " exited: " + p.logText());
                    }
                    return p.logText().contains(ready);
                });
                if (args[0].equals("relay")) {
                    relayLog = p.logText();
                    // What the relay prints for agents carries its real address and pin.
                    Matcher fp = FINGERPRINT.matcher(relayLog);
                    assertThat(fp.find()).isTrue();
                    assertThat(relayLog)
                            .contains("--relay https://127.0.0.1:" + ports.get("8443") + " --relay-fingerprint "
                                    + fp.group(1));
                } else if (args[0].equals("expose")) {
                    // The printed line for peers names the relay and its pin, so that it works as printed.
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> p.logText()
                                    .lines()
                                    .anyMatch(l -> l.contains("peers connect with:")
                                            && l.contains("--relay-fingerprint " + vars.get("FP"))));
                }
            } else if (line.startsWith("curl ")) {
                URI uri = URI.create(line.substring(5).strip());
                HttpClient http = HttpClient.newBuilder()
                        .connectTimeout(Duration.ofSeconds(10))
                        .build();
                // At once and only once, as a person would: connect holds a connection that arrives before
                // it reached the relay (ForwardListener.holdUntil) rather than resetting it.
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(uri)
                                .timeout(Duration.ofSeconds(60))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                String[] body = {r.body()};
                assertThat(body[0]).isEqualTo(BODY);
            } else {
                throw new AssertionError("the quick start has a line this test does not understand: " + raw);
            }
        }
        assertThat(vars).containsKeys("FP", "BOB", "ALICE");
        assertThat(vars.get("BOB")).hasSize(56).isNotEqualTo(vars.get("ALICE"));
    }

    /** Shell-like: {@code $VAR}, {@code ~} and the README's port numbers. */
    static String substitute(String line, Map<String, String> vars, Map<String, String> ports) {
        String s = line;
        for (var v : vars.entrySet()) {
            s = s.replace("$" + v.getKey(), v.getValue());
        }
        for (var p : ports.entrySet()) {
            s = s.replaceAll("(?<![0-9])" + p.getKey() + "(?![0-9])", p.getValue());
        }
        return s;
    }

    String[] burrowArgs(String command) {
        assertThat(command).as("no quoting in the quick start").doesNotContain("\"", "'", "\\");
        String[] words = command.strip().split("\\s+");
        assertThat(words[0]).isEqualTo("./burrow");
        String[] args = Arrays.copyOfRange(words, 1, words.length);
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("~/")) {
                args[i] = home.resolve(args[i].substring(2)).toString();
            }
        }
        return args;
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }
}
