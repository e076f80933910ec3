package dev.burrow.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.e2e.BurrowProcess;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.testing.FreePorts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Public ingress end to end, every part its own process on loopback: {@code burrow relay} with
 * ingress enabled, alice ({@code burrow agent --config}) publishing three services and keeping a
 * fourth private, carol ({@code burrow expose --public}). Plain TCP clients (this JVM) play the
 * internet; the targets check what the listener passes on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PublicIngressE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(240);
    static final Duration WAIT = Duration.ofSeconds(30);

    Path tmp;
    IngressTargets targets;
    final List<BurrowProcess> processes = new ArrayList<>();
    BurrowProcess relay;
    BurrowProcess carol;
    int relayPort;
    int adminPort;
    String fingerprint;
    final Map<String, Integer> ports = new java.util.HashMap<>();

    @BeforeAll
    void startEverything() throws Exception {
        tmp = Files.createTempDirectory("burrow-ingress-e2e-");
        targets = new IngressTargets();
        relayPort = freePort();
        adminPort = freePort();
        relay = start(
                "ingress-relay",
                "relay",
                "--dev",
                "--listen",
                "127.0.0.1:" + relayPort,
                "--admin-listen",
                "127.0.0.1:" + adminPort,
                "--set",
                "tls.dev-dir=" + tmp.resolve("relay"),
                "--set",
                "transport=nio",
                "--set",
                "ingress.enabled=true",
                "--set",
                "ingress.bind-address=127.0.0.1",
                "--set",
                "ingress.port-range=0",
                "--set",
                "limits.ip-connect-rate=100000",
                "--set",
                "limits.ip-connect-burst=100000");
        Pattern fp = Pattern.compile("development certificate (sha256:[0-9a-f]+)");
        await("relay up").atMost(STARTUP).pollInterval(Duration.ofMillis(250)).until(() -> {
            assertThat(relay.isAlive()).as("relay: %s", relay.logText()).isTrue();
            Matcher m = fp.matcher(relay.logText());
            if (m.find()) {
                fingerprint = m.group(1);
                return true;
            }
            return false;
        });
        String url = "https://127.0.0.1:" + relayPort;
        String somePeer = NodeIdentity.ephemeral("bob").nodeKey().nodeId();
        Path aliceYaml = tmp.resolve("alice.yaml");
        Files.writeString(
                aliceYaml,
                "relay: {url: " + url + ", fingerprint: " + fingerprint + "}\n"
                        + "expose:\n"
                        + "  - {name: hook, target: 127.0.0.1:" + targets.proxy.getLocalPort() + ", proxy-protocol: v2,"
                        + " public: {enabled: true, allow-sources: [127.0.0.0/8]}}\n"
                        + "  - {name: plain, target: 127.0.0.1:" + targets.echo.getLocalPort() + ","
                        + " public: {enabled: true, allow-sources: [127.0.0.1/32], idle-timeout: 2m}}\n"
                        + "  - {name: locked, target: 127.0.0.1:" + targets.echo.getLocalPort() + ","
                        + " public: {enabled: true, allow-sources: [10.0.0.0/8, '2001:db8::/32']}}\n"
                        + "  - {name: private, target: 127.0.0.1:" + targets.echo.getLocalPort() + ", allow: [node:"
                        + somePeer + "]}\n");
        start(
                "ingress-alice",
                "agent",
                "--config",
                aliceYaml.toString(),
                "--state",
                dir("alice"),
                "--transport",
                "nio");
        carol = start(
                "ingress-carol",
                "expose",
                "hi",
                "127.0.0.1:" + targets.echo.getLocalPort(),
                "--public",
                "127.0.0.1/32",
                "--relay",
                url,
                "--relay-fingerprint",
                fingerprint,
                "--state",
                dir("carol"),
                "--transport",
                "nio");
        awaitPublished("alice", List.of("hook", "plain", "locked"));
        awaitPublished("carol", List.of("hi"));
    }

    BurrowProcess start(String name, String... args) throws IOException {
        BurrowProcess p = BurrowProcess.start(name, Map.of("BURROW_DIRECT", "off"), args);
        processes.add(p);
        return p;
    }

    @AfterAll
    void stopEverything() throws Exception {
        for (BurrowProcess p : processes) {
            p.close();
        }
        if (targets != null) {
            targets.close();
        }
        if (tmp != null) {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    String dir(String who) {
        return tmp.resolve(who).toString();
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }

    AgentStatus status(String who) throws IOException {
        return ControlApiClient.forStateDir(tmp.resolve(who)).status();
    }

    void awaitPublished(String who, List<String> services) {
        await(who + " published")
                .atMost(STARTUP)
                .pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    for (BurrowProcess p : processes) {
                        if (!p.isAlive()) {
                            throw new AssertionError(p.name + " exited: " + p.logText());
                        }
                    }
                    AgentStatus s;
                    try {
                        s = status(who);
                    } catch (IOException e) {
                        return false;
                    }
                    for (String svc : services) {
                        var pub = s.publicServices().stream()
                                .filter(x -> x.service().equals(svc))
                                .findFirst()
                                .orElse(null);
                        if (pub == null || !"published".equals(pub.state())) {
                            return false;
                        }
                        assertThat(pub.publicAddress()).startsWith("127.0.0.1:");
                        ports.put(svc, Integer.parseInt(pub.publicAddress().substring("127.0.0.1:".length())));
                    }
                    return true;
                });
    }

    static Socket client(int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout((int) WAIT.toMillis());
        s.connect(new InetSocketAddress("127.0.0.1", port), (int) WAIT.toMillis());
        return s;
    }

    /** The relay resets a refused connection at once: sometimes before connect() even returns. */
    static boolean refusedWithoutData(int port, byte[] send) {
        try (Socket s = client(port)) {
            s.getOutputStream().write(send);
            return endedWithoutData(s);
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset while connecting or writing
        }
    }

    static boolean endedWithoutData(Socket s) {
        try {
            return s.getInputStream().read() == -1;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    String metrics() throws Exception {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        return http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics"))
                                .timeout(Duration.ofSeconds(10))
                                .GET()
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }

    double ingressCounter(String outcome) throws Exception {
        Matcher m = Pattern.compile("burrow_relay_ingress_events_total\\{outcome=\"" + outcome + "\"[^}]*} ([0-9.E]+)")
                .matcher(metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    @Order(1)
    void aPlainTcpClientReachesThePublishedServiceAndTheTargetGetsItsAddressAsProxyV2() throws Exception {
        int clientPort;
        try (Socket s = client(ports.get("hook"))) {
            clientPort = s.getLocalPort();
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            BufferedReader in =
                    new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            // the target parsed a PROXY v2 header (Netty's decoder) whose source is this very socket
            assertThat(in.readLine()).isEqualTo("client 127.0.0.1:" + clientPort);
            assertThat(in.readLine()).isEqualTo("ping");
        }
        assertThat(targets.proxySources).containsExactly("127.0.0.1:" + clientPort);
        assertThat(ingressCounter("accepted")).isGreaterThanOrEqualTo(1);
        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(status("alice").connections()).isEmpty());
    }

    @Test
    @Order(2)
    void aServiceWithoutProxyProtocolGetsOnlyTheClientBytesBothWays() throws Exception {
        for (String svc : List.of("plain", "hi")) {
            try (Socket s = client(ports.get(svc))) {
                byte[] data = new byte[200_000];
                new java.util.Random(7).nextBytes(data);
                Thread writer = Thread.ofVirtual().start(() -> {
                    try {
                        s.getOutputStream().write(data);
                        s.shutdownOutput(); // half-close reaches the target through relay and agent
                    } catch (IOException ignored) {
                        // the read side reports
                    }
                });
                byte[] back = s.getInputStream().readAllBytes();
                writer.join(WAIT.toMillis());
                assertThat(back).as(svc).isEqualTo(data);
            }
        }
    }

    @Test
    @Order(3)
    void aDisallowedSourceIsRefusedOnAcceptAndCounted() throws Exception {
        double before = ingressCounter("source_not_allowed");
        assertThat(refusedWithoutData(
                        ports.get("locked"), "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)))
                .isTrue();
        await().atMost(WAIT).until(() -> ingressCounter("source_not_allowed") == before + 1);
    }

    @Test
    @Order(4)
    void anUnpublishedPortIsRefusedAndAServiceThatDidNotOptInIsNeverPublished() throws Exception {
        int nobody = freePort();
        assertThatThrownBy(() -> client(nobody).close()).isInstanceOf(ConnectException.class);
        assertThat(status("alice").publicServices())
                .extracting(AgentStatus.PublicStatus::service)
                .containsExactlyInAnyOrder("hook", "plain", "locked");
        // alice's four services and carol's one: exactly the four that opted in were published
        assertThat(ingressCounter("published")).isEqualTo(4);
    }

    @Test
    @Order(5)
    void statusShowsThePublicAddress() throws Exception {
        try (BurrowProcess p = BurrowProcess.start("ingress-status", Map.of(), "status", "--state", dir("alice"))) {
            assertThat(p.process.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.logText())
                    .contains("PUBLIC")
                    .containsPattern("hook\\s+published\\s+127\\.0\\.0\\.1:" + ports.get("hook"));
        }
    }

    @Test
    @Order(6)
    void thePortIsBoundOnlyWhileTheAgentIsConnected() throws Exception {
        int port = ports.get("hi");
        carol.close();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThatThrownBy(() -> client(port).close()).isInstanceOf(ConnectException.class));
        await().atMost(WAIT).until(() -> ingressCounter("unpublished") >= 1);
    }
}
