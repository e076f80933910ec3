package dev.burrow.cli.agent;

import com.sun.net.httpserver.HttpServer;
import dev.burrow.agent.Agent;
import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.api.ControlApiServer;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.cli.common.ProgramName;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code burrow demo}: a relay, an agent exposing a small built-in web service, and an agent
 * forwarding a local port to it, all in this process on loopback.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description =
                "Run a relay, an exposing agent (in front of a built-in web service) and a connecting agent on this "
                        + "machine; print the URL to try. --check fetches it once and exits 0/1.")
public final class DemoCommand implements Callable<Integer> {
    /** What the built-in service answers; --check looks for it. */
    public static final String GREETING =
            "Hello from behind the NAT: this answer travelled through a Burrow relay circuit.";
    /** Both agents must be connected within this time or the demo reports why. */
    static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);

    @Spec
    CommandSpec spec;

    @Option(
            names = "--check",
            description = "Fetch the URL once through the tunnel, print the result and exit 0 (ok) or 1.")
    boolean check;

    @Mixin
    TransportOption transportOption;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Transport transport = transportOption.select();
        List<AutoCloseable> resources = new ArrayList<>();
        Path tmp = Files.createTempDirectory("burrow-demo-");
        resources.add(() -> deleteTree(tmp));
        try {
            HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
            web.createContext("/", ex -> {
                byte[] body = (GREETING + "\n").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
                ex.close();
            });
            web.start();
            resources.add(0, () -> web.stop(0));

            RelayServer relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                            "listen",
                            "127.0.0.1:0",
                            "admin-listen",
                            "off",
                            "tls.mode",
                            "dev",
                            "auth.mode",
                            "open",
                            "transport",
                            transport.kind().name().toLowerCase(Locale.ROOT).replace("_", ""))))
                    .transport(transport)
                    .build()
                    .start();
            resources.add(0, relay);
            URI relayUrl = URI.create("https://127.0.0.1:" + relay.address().getPort());
            AgentConfig.Relay relaySettings = new AgentConfig.Relay(relayUrl, relay.tlsFingerprint(), null, "auto");

            NodeIdentity alice = NodeIdentity.loadOrCreate(tmp.resolve("alice"), "alice", Clock.systemUTC());
            NodeIdentity bob = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
            int webPort = web.getAddress().getPort();
            AgentConfig aliceConfig = AgentConfig.builder()
                    .relay(relaySettings)
                    .expose(new AgentConfig.Expose(
                            "web",
                            new TargetSpec("127.0.0.1", webPort),
                            AllowList.parse(List.of("node:" + bob.nodeKey().nodeId()))))
                    .build();
            Agent aliceAgent = Agent.start(aliceConfig, alice, transport);
            resources.add(0, aliceAgent);
            AgentConfig bobConfig = AgentConfig.builder()
                    .relay(relaySettings)
                    .peer("alice", alice.nodeKey())
                    .forward(new AgentConfig.Forward("alice", "web", "127.0.0.1", 0))
                    .build();
            Agent bobAgent = Agent.start(bobConfig, bob, transport);
            resources.add(0, bobAgent);
            // Each agent's local API in its state directory, so that the status commands printed
            // below work as printed while the demo runs.
            resources.add(0, ControlApiServer.start(aliceAgent, tmp.resolve("alice"), 0));
            resources.add(0, ControlApiServer.start(bobAgent, tmp.resolve("bob"), 0));
            aliceAgent.whenConnected().get(STARTUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            bobAgent.whenConnected().get(STARTUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            InetSocketAddress local = bobAgent.forwardAddresses().get(0);
            String url = "http://127.0.0.1:" + local.getPort() + "/";

            out.println("Burrow demo: everything runs in this process, on loopback.");
            out.println();
            out.println("  relay        " + relayUrl + "  (development certificate " + relay.tlsFingerprint() + ")");
            out.println("  alice        node " + alice.nodeKey().shortId()
                    + "..  exposes 'web' = built-in web service on 127.0.0.1:" + webPort + ", allowed: bob only");
            out.println("  bob          node " + bob.nodeKey().shortId() + "..  forwards 127.0.0.1:" + local.getPort()
                    + " to alice/web");
            out.println();
            out.println("The path of a request to " + url + ":");
            out.println("  your client -> 127.0.0.1:" + local.getPort() + " (bob's forward)");
            out.println("    -> relay circuit at " + relayUrl
                    + " (TLS 1.3 between bob and alice inside it: the relay sees ciphertext only)");
            out.println("    -> alice's gate (checks bob's certificate, the allow list and the target)");
            out.println("    -> 127.0.0.1:" + webPort + " (the web service)");
            out.println();
            out.flush();

            if (check) {
                int rc = fetchOnce(out, url);
                for (var p : bobAgent.status().peers()) {
                    out.println("path in use to " + p.nodeId().substring(0, 10) + "..: " + p.path()
                            + (p.rttMillis() == null ? "" : " (rtt " + p.rttMillis() + " ms)"));
                }
                out.flush();
                return rc;
            }
            out.println(
                    "A direct path between the two agents is tried in the background and used for new connections once");
            out.println("verified. See each agent's peers, paths and connections with:");
            out.println("  " + ProgramName.command() + " status --state " + tmp.resolve("bob"));
            out.println("  " + ProgramName.command() + " status --state " + tmp.resolve("alice"));
            out.println("Try:  curl " + url);
            out.println("Stop with Ctrl-C.");
            return AgentRunner.runUntilStopped(out, resources.toArray(AutoCloseable[]::new));
        } catch (Exception e) {
            out.println("demo failed: " + (e.getMessage() == null ? e : e.getMessage()));
            out.flush();
            if (check) {
                return 1;
            }
            throw e;
        } finally {
            if (check) {
                closeAll(resources);
            }
        }
    }

    private static int fetchOnce(PrintWriter out, String url) {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(url))
                            .timeout(Duration.ofSeconds(20))
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            boolean ok = r.statusCode() == 200 && r.body().contains(GREETING);
            out.println("GET " + url + " -> " + r.statusCode());
            out.println("  " + r.body().strip());
            out.println(
                    ok
                            ? "check: OK (the request went through the relay and back)"
                            : "check: FAILED (unexpected answer)");
            out.flush();
            return ok ? 0 : 1;
        } catch (IOException e) {
            out.println("check: FAILED (" + e + ")");
            out.flush();
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private static void closeAll(List<AutoCloseable> resources) {
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
