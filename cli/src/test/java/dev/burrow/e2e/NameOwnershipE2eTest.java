package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.identity.ca.IssuedNames;
import dev.burrow.identity.token.JoinTokenStore;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 §1 with real processes: a {@code burrow relay --enrol-ca-dir} and agents that join with
 * tokens. A guest token cannot take a name another node holds (and keeps its use); a node whose
 * certificate for that name was issued outside the record (the old enrolment path) is never reached
 * by name, even while the holder is offline; the holder renewing with its own key keeps the name.
 * Also §3: the token is taken from a file or standard input, and a token on the command line warns.
 */
class NameOwnershipE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(240);
    static final String REAL = "served by the real web node";
    static final String IMPOSTOR = "served by the impostor";

    final List<BurrowProcess> processes = new ArrayList<>();
    final List<HttpServer> servers = new ArrayList<>();
    Path tmp;

    @AfterEach
    void stop() throws IOException {
        for (int i = processes.size() - 1; i >= 0; i--) { // agents first, the relay last (no drain wait for them)
            processes.get(i).close();
        }
        for (HttpServer s : servers) {
            s.stop(0);
        }
    }

    HttpServer serve(String body) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        s.createContext("/", ex -> {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        });
        s.start();
        servers.add(s);
        return s;
    }

    BurrowProcess start(String name, Map<String, String> env, String... args) throws IOException {
        BurrowProcess p = BurrowProcess.start(name, env, args);
        processes.add(p);
        return p;
    }

    void awaitReady(String who, BurrowProcess p) {
        await(who + " ready")
                .atMost(STARTUP)
                .pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    if (!p.isAlive()) {
                        throw new AssertionError(p.name + " exited: " + p.logText());
                    }
                    try {
                        return dev.burrow.agent.api.ControlApiClient.forStateDir(tmp.resolve(who))
                                        .ready()
                                        .status()
                                == 200;
                    } catch (IOException e) {
                        return false;
                    }
                });
    }

    /** What one GET through bob's forward returns: the body, or "refused" when the forward closed the connection. */
    static String tryGet(int port) {
        try {
            return AgentE2eTest.get(port);
        } catch (Exception | AssertionError e) {
            return "refused";
        }
    }

    @Test
    void aNameBelongsToOneKeyAcrossEnrolmentForwardsAndRenewal() throws Exception {
        tmp = Files.createTempDirectory("burrow-name-owner-e2e-");
        Path caDir = tmp.resolve("ca");
        FleetCa ca = FleetCa.init(caDir, "fleet", Clock.systemUTC());
        Path caCert = caDir.resolve(FleetCa.CERT_FILE);
        JoinTokenStore tokens = JoinTokenStore.open(caDir, Clock.systemUTC());

        int relayPort = AgentE2eTest.freePort();
        BurrowProcess relay = start(
                "name-owner-relay",
                Map.of("BURROW_STATE", tmp.resolve("relay-state").toString()),
                "relay",
                "--dev",
                "--listen",
                "127.0.0.1:" + relayPort,
                "--admin-listen",
                "off",
                "--auth-mode",
                "ca",
                "--ca",
                caCert.toString(),
                "--enrol-ca-dir",
                caDir.toString(),
                "--transport",
                "nio",
                "--set",
                "limits.ip-connect-rate=100000",
                "--set",
                "limits.ip-connect-burst=100000");
        Pattern fp = Pattern.compile("development certificate (sha256:[0-9a-f]+)");
        String[] fingerprint = new String[1];
        await("relay up").atMost(STARTUP).pollInterval(Duration.ofMillis(250)).until(() -> {
            if (!relay.isAlive()) {
                throw new AssertionError("relay exited: " + relay.logText());
            }
            Matcher m = fp.matcher(relay.logText());
            if (m.find()) {
                fingerprint[0] = m.group(1);
            }
            return fingerprint[0] != null;
        });
        // §3: 'relay --dev' made its state directory (and the certificate directory in it) owner-only
        for (Path d :
                List.of(tmp.resolve("relay-state"), tmp.resolve("relay-state").resolve("relay-dev-tls"))) {
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(d)))
                    .as(d.toString())
                    .isEqualTo("rwx------");
        }
        String url = "https://127.0.0.1:" + relayPort;
        String relayYaml =
                "relay:\n  url: " + url + "\n  fingerprint: " + fingerprint[0] + "\n" + "fleet-ca: [" + caCert + "]\n";
        Map<String, String> env = Map.of("BURROW_DIRECT", "off");

        // The real web node joins with a token that fixes its name, read from a file.
        Path webYaml = tmp.resolve("web.yaml");
        Files.writeString(
                webYaml,
                relayYaml + "expose:\n  - {name: svc, target: 127.0.0.1:"
                        + serve(REAL).getAddress().getPort() + ", allow: [name:bob]}\n");
        Path webToken = tmp.resolve("web.token");
        Files.writeString(
                webToken,
                tokens.create(Set.of("svc"), 1, Duration.ofHours(1), "web")
                                .token()
                                .reveal() + "\n");
        BurrowProcess web = start(
                "name-owner-web",
                env,
                "agent",
                "--config",
                webYaml.toString(),
                "--state",
                tmp.resolve("web").toString(),
                "--join-file",
                webToken.toString(),
                "--transport",
                "nio");
        awaitReady("web", web);
        assertThat(web.logText()).contains("enrolled as 'web'").doesNotContain("process list");
        NodeIdentity webId = NodeIdentity.load(tmp.resolve("web"));

        // bob forwards to web by name (his certificate came from 'burrow ca issue', which records the name too).
        NodeIdentity bobId = NodeIdentity.loadOrCreate(tmp.resolve("bob"), "bob", Clock.systemUTC());
        IssuedNames.open(caDir, Clock.systemUTC()).claim(bobId.nodeKey(), List.of("bob"), false);
        X509Certificate bobCert = ca.issue(bobId.nodeKey(), "bob", Set.of(), Duration.ofDays(1));
        bobId.installCertificate(ca.chainFor(bobCert));
        int bobPort = AgentE2eTest.freePort();
        BurrowProcess bob = start(
                "name-owner-bob",
                env,
                "connect",
                "web/svc",
                String.valueOf(bobPort),
                "--fleet-ca",
                caCert.toString(),
                "--relay",
                url,
                "--relay-fingerprint",
                fingerprint[0],
                "--state",
                tmp.resolve("bob").toString());
        awaitReady("bob", bob);
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> REAL.equals(tryGet(bobPort)));

        // 1. A guest token asking for the taken name is refused, clearly, and keeps its use.
        String guest = tokens.create(Set.of("guest"), 3, Duration.ofHours(1), null)
                .token()
                .reveal();
        Path impYaml = tmp.resolve("imp.yaml");
        Files.writeString(
                impYaml,
                relayYaml + "expose:\n  - {name: svc, target: 127.0.0.1:"
                        + serve(IMPOSTOR).getAddress().getPort() + ", allow: [name:bob]}\n");
        BurrowProcess refused = start(
                "name-owner-guest-refused",
                env,
                "agent",
                "--config",
                impYaml.toString(),
                "--state",
                tmp.resolve("imp").toString(),
                "--join",
                guest,
                "--name",
                "web",
                "--transport",
                "nio");
        assertThat(refused.process.waitFor(120, TimeUnit.SECONDS))
                .as("the refused agent exits")
                .isTrue();
        assertThat(refused.process.exitValue()).isNotZero();
        assertThat(refused.logText())
                .contains("name 'web' belongs to another node")
                .contains("burrow ca revoke web")
                .contains("process list")
                .contains("--join-file") // the command-line token warned
                .doesNotContain(guest);
        assertThat(tokens.list()).anySatisfy(t -> {
            assertThat(t.tags()).containsExactly("guest");
            assertThat(t.usesLeft()).isEqualTo(3);
        });
        assertThat(NodeIdentity.load(tmp.resolve("imp")).certificate().selfSigned())
                .isTrue();

        // 2. An impostor certificate for 'web' issued outside the record (as the old enrolment did).
        NodeIdentity impId = NodeIdentity.load(tmp.resolve("imp"));
        X509Certificate impCert = ca.issue(impId.nodeKey(), "web", Set.of("guest"), Duration.ofDays(1));
        impId.installCertificate(ca.chainFor(impCert));
        web.close(); // the real node goes offline
        BurrowProcess impostor = start(
                "name-owner-impostor",
                env,
                "agent",
                "--config",
                impYaml.toString(),
                "--state",
                tmp.resolve("imp").toString(),
                "--transport",
                "nio");
        awaitReady("imp", impostor);
        // Bob's forward must never reach it: every attempt over a while is refused.
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            seen.add(tryGet(bobPort));
            Thread.sleep(500);
        }
        assertThat(seen).doesNotContain(IMPOSTOR).doesNotContain(REAL);
        await().atMost(Duration.ofSeconds(60)).until(() -> bob.logText().contains("no node named web"));

        // 3. The real node renews with its own key (new certificate through a guest token from stdin): it keeps 'web'.
        Files.delete(tmp.resolve("web").resolve(NodeIdentity.CERT_FILE));
        BurrowProcess renewed = start(
                "name-owner-web-renewed",
                env,
                "agent",
                "--config",
                webYaml.toString(),
                "--state",
                tmp.resolve("web").toString(),
                "--join",
                "-",
                "--name",
                "web",
                "--transport",
                "nio");
        try (OutputStream in = renewed.process.getOutputStream()) {
            in.write((guest + "\n").getBytes(StandardCharsets.UTF_8));
        }
        awaitReady("web", renewed);
        assertThat(renewed.logText()).contains("enrolled as 'web'").doesNotContain("process list");
        assertThat(NodeIdentity.load(tmp.resolve("web")).nodeKey()).isEqualTo(webId.nodeKey());
        // With both connected, the name resolves to the holder only: bob reaches the real node, never the impostor.
        await().atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> REAL.equals(tryGet(bobPort)));
        for (int i = 0; i < 5; i++) {
            assertThat(tryGet(bobPort)).isNotEqualTo(IMPOSTOR);
        }
        assertThat(relay.logText()).doesNotContain(guest);
    }
}
