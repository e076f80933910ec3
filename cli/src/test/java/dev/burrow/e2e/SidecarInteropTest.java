package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.agent.caller.PeerAddresses;
import dev.burrow.agent.caller.ProxyHeaders;
import dev.burrow.cli.Main;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.transport.Transport;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Legacy servers behind an agent, reached from another agent's {@code connect}-style forwards
 * through a relay, and told who is calling:
 *
 * <ul>
 *   <li>a real {@code redis-server} (no persistence, loopback high port), driven by
 *       {@code redis-cli}: SET/GET through the tunnel; redis's own {@code CLIENT INFO} names the
 *       connection's address, and {@code burrow whois} on that address names the dialing node;</li>
 *   <li>a real nginx with {@code listen ... proxy_protocol} behind a {@code proxy-protocol: v2}
 *       service: its access log shows the dialer's mapped address ({@code $proxy_protocol_addr});</li>
 *   <li>a raw target behind a {@code proxy-protocol: v2} service, read with this test's own small
 *       PROXY v2 parser: the identity TLVs carry the dialer's node ID, name, tags and service.</li>
 * </ul>
 *
 * Alice exposes (the sidecar beside the servers); bob forwards (the sidecar beside the clients).
 * Bob's certificate is CA-issued (name bob, tags ops and dev); alice admits tag:ops.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SidecarInteropTest {
    static final Duration STARTUP = Duration.ofSeconds(240);
    static final ObjectMapper JSON = new ObjectMapper();

    Path tmp;
    RelayServer relay;
    NodeIdentity alice;
    NodeIdentity bob;
    Process redis;
    Process nginx;
    ServerSocket raw;
    Thread rawThread;
    final BlockingQueue<Object> rawSeen = new ArrayBlockingQueue<>(4);
    final List<BurrowProcess> agents = new ArrayList<>();
    int redisPort;
    int nginxPort;
    int redisFwd;
    int webFwd;
    int rawFwd;
    Path nginxAccessLog;

    @BeforeAll
    void start() throws Exception {
        dev.burrow.netlab.NetLabSupport.requireFeature(
                onPath("redis-server"),
                "redis-server is not installed (scripts/install-test-deps.sh installs it)",
                true);
        dev.burrow.netlab.NetLabSupport.requireFeature(
                onPath("redis-cli"),
                "redis-cli is not installed (package redis-tools; scripts/install-test-deps.sh)",
                true);
        dev.burrow.netlab.NetLabSupport.requireFeature(
                nginxBinary() != null, "nginx is not installed (scripts/install-test-deps.sh installs it)", true);
        tmp = Files.createTempDirectory("burrow-sidecar-");
        TestIdentities ids = TestIdentities.create(tmp.resolve("ids"));
        alice = ids.node("alice", "server");
        bob = ids.node("bob", "ops", "dev");
        Path caPem = tmp.resolve("fleet-ca.pem");
        Files.writeString(
                caPem,
                "-----BEGIN CERTIFICATE-----\n"
                        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                                .encodeToString(ids.caCertificate().getEncoded())
                        + "\n-----END CERTIFICATE-----\n");

        relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                        "listen",
                        "127.0.0.1:0",
                        "admin-listen",
                        "off",
                        "tls.mode",
                        "dev",
                        "tls.dev-dir",
                        tmp.resolve("relay").toString(),
                        "auth.mode",
                        "ca",
                        "auth.ca",
                        caPem.toString(),
                        "transport",
                        "nio",
                        "limits.ip-connect-rate",
                        "100000",
                        "limits.ip-connect-burst",
                        "100000")))
                .transport(Transport.nio())
                .build()
                .start();

        redisPort = AgentE2eTest.freePort();
        redis = new ProcessBuilder(
                        "redis-server",
                        "--port",
                        String.valueOf(redisPort),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        tmp.toString(),
                        "--protected-mode",
                        "no",
                        "--daemonize",
                        "no")
                .redirectErrorStream(true)
                .redirectOutput(logFile("redis-server"))
                .start();
        nginxPort = AgentE2eTest.freePort();
        nginx = startNginx();
        raw = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        rawThread = Thread.ofPlatform().daemon().name("raw-proxy-target").start(this::serveRaw);
        await("redis and nginx listening")
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> listening(redisPort) && listening(nginxPort));

        String relayYaml = "relay:\n  url: https://127.0.0.1:" + relay.address().getPort() + "\n  fingerprint: "
                + relay.tlsFingerprint() + "\n";
        Path aliceYaml = tmp.resolve("alice.yaml");
        Files.writeString(
                aliceYaml,
                relayYaml + "fleet-ca: [" + caPem + "]\nexpose:\n"
                        + "  - {name: redis, target: 127.0.0.1:" + redisPort + ", allow: [tag:ops]}\n"
                        + "  - {name: web, target: 127.0.0.1:" + nginxPort + ", allow: [tag:ops], proxy-protocol: v2}\n"
                        + "  - {name: raw, target: 127.0.0.1:" + raw.getLocalPort()
                        + ", allow: [tag:ops], proxy-protocol: v2}\n");
        redisFwd = AgentE2eTest.freePort();
        webFwd = AgentE2eTest.freePort();
        rawFwd = AgentE2eTest.freePort();
        Path bobYaml = tmp.resolve("bob.yaml");
        Files.writeString(
                bobYaml,
                relayYaml + "fleet-ca: [" + caPem + "]\npeers:\n  alice: "
                        + alice.nodeKey().nodeId() + "\nforward:\n"
                        + "  - {peer: alice, service: redis, listen: " + redisFwd + "}\n"
                        + "  - {peer: alice, service: web, listen: " + webFwd + "}\n"
                        + "  - {peer: alice, service: raw, listen: " + rawFwd + "}\n");
        // The sidecar way: configuration named by BURROW_CONFIG, not a flag.
        agents.add(BurrowProcess.start(
                "sidecar-alice",
                Map.of("BURROW_DIRECT", "off", "BURROW_CONFIG", aliceYaml.toString()),
                "agent",
                "--state",
                stateOf("alice")));
        agents.add(BurrowProcess.start(
                "sidecar-bob",
                Map.of("BURROW_DIRECT", "off", "BURROW_CONFIG", bobYaml.toString()),
                "agent",
                "--state",
                stateOf("bob")));
        for (String who : List.of("alice", "bob")) {
            await(who + " ready")
                    .atMost(STARTUP)
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        for (BurrowProcess p : agents) {
                            if (!p.isAlive()) {
                                throw new AssertionError(p.name + " exited: " + p.logText());
                            }
                        }
                        return ready(who);
                    });
        }
    }

    @AfterAll
    void stop() throws Exception {
        for (BurrowProcess p : agents) {
            p.close();
        }
        for (Process p : new Process[] {redis, nginx}) {
            if (p != null) {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
        if (raw != null) {
            raw.close();
        }
        if (relay != null) {
            relay.close();
        }
        if (tmp != null) {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    String stateOf(String who) {
        return tmp.resolve("ids").resolve("nodes").resolve(who).toString();
    }

    boolean ready(String who) {
        try {
            return ControlApiClient.forStateDir(Path.of(stateOf(who))).ready().status() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void redisCliSetAndGetThroughTheTunnel() throws Exception {
        assertThat(redisCli("SET", "burrow:greeting", "hello from bob")).isEqualTo("OK");
        assertThat(redisCli("GET", "burrow:greeting")).isEqualTo("hello from bob");
    }

    @Test
    void whoisNamesTheDialerOfALiveRedisConnectionAndNothingForAnUnknownOne() throws Exception {
        try (Socket s = new Socket("127.0.0.1", redisFwd)) {
            s.setSoTimeout(60_000);
            // Redis itself reports the address its client connected from: the agent's end.
            s.getOutputStream().write("*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n".getBytes(StandardCharsets.US_ASCII));
            String info = readBulk(new DataInputStream(s.getInputStream()));
            String addr = null;
            for (String field : info.strip().split(" ")) {
                if (field.startsWith("addr=")) {
                    addr = field.substring("addr=".length());
                }
            }
            assertThat(addr).as("addr in %s", info).isNotNull().startsWith("127.0.0.1:");

            Cli json = cli("whois", addr, "--state", stateOf("alice"), "-o", "json");
            assertThat(json.exit()).as(json.err()).isZero();
            JsonNode who = JSON.readTree(json.out());
            assertThat(who.path("nodeId").asText()).isEqualTo(bob.nodeKey().nodeId());
            assertThat(who.path("name").asText()).isEqualTo("bob");
            assertThat(who.path("tags")).extracting(JsonNode::asText).containsExactly("dev", "ops");
            assertThat(who.path("service").asText()).isEqualTo("redis");
            assertThat(who.path("path").asText()).isEqualTo("relay");
            assertThat(who.path("local").asText()).isEqualTo(addr);

            Cli human = cli("whois", addr, "--state", stateOf("alice"));
            assertThat(human.exit()).isZero();
            assertThat(human.out())
                    .contains(bob.nodeKey().nodeId())
                    .contains("bob")
                    .contains("dev,ops")
                    .contains("redis");

            // The local API answers the same.
            assertThat(ControlApiClient.forStateDir(Path.of(stateOf("alice")))
                            .whois(addr)
                            .orElseThrow()
                            .nodeId())
                    .isEqualTo(bob.nodeKey().nodeId());
        }
        Cli unknown = cli("whois", "127.0.0.1:1", "--state", stateOf("alice"));
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("no such connection");
        Cli unknownJson = cli("whois", "127.0.0.1:1", "--state", stateOf("alice"), "-o", "json");
        assertThat(unknownJson.exit()).isEqualTo(1);
        assertThat(JSON.readTree(unknownJson.out()).path("error").asText()).isEqualTo("no such connection");
        // Bob's agent made no connection to any service: it knows nobody.
        assertThat(cli("whois", "127.0.0.1:1", "--state", stateOf("bob")).exit())
                .isEqualTo(1);
    }

    @Test
    void nginxLogsTheDialersMappedAddressFromThePROXYHeader() throws Exception {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + webFwd + "/hello"))
                        .timeout(Duration.ofSeconds(60))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello through burrow\n");
        String mapped = PeerAddresses.ipv4(bob.nodeKey()).getHostAddress();
        await("nginx access log")
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> Files.exists(nginxAccessLog)
                        && Files.readString(nginxAccessLog).contains("/hello"));
        String line = Files.readAllLines(nginxAccessLog).stream()
                .filter(l -> l.contains("/hello"))
                .findFirst()
                .orElseThrow();
        // log_format: $proxy_protocol_addr $proxy_protocol_port $remote_addr "$request"
        assertThat(line).startsWith(mapped + " ").contains(" 127.0.0.1 ");
    }

    @Test
    void ourOwnParserReadsTheIdentityTlvs() throws Exception {
        try (Socket s = new Socket("127.0.0.1", rawFwd)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
            Object got = rawSeen.poll(60, TimeUnit.SECONDS);
            assertThat(got).as("the raw target saw a connection").isNotNull();
            if (got instanceof Throwable t) {
                throw new AssertionError("raw target failed", t);
            }
            ProxyV2 h = (ProxyV2) got;
            assertThat(h.family()).isEqualTo(0x11); // TCP over IPv4
            assertThat(h.source()).isEqualTo(PeerAddresses.ipv4(bob.nodeKey()).getHostAddress());
            assertThat(h.destination()).isEqualTo("127.0.0.1");
            assertThat(h.destinationPort()).isEqualTo(raw.getLocalPort());
            assertThat(h.sourcePort()).isEqualTo(h.tcpClientPort());
            assertThat(h.tlvs())
                    .containsEntry(ProxyHeaders.TLV_NODE_ID, bob.nodeKey().nodeId())
                    .containsEntry(0xE0, bob.nodeKey().nodeId())
                    .containsEntry(0xE1, "bob")
                    .containsEntry(0xE2, "dev,ops")
                    .containsEntry(0xE3, "raw")
                    .containsEntry(0xE4, "relay");
            assertThat(h.firstLine()).isEqualTo("hello");
        }
    }

    // ------------------------------------------------------------------ helpers

    /** A PROXY v2 header as this test's parser read it, plus the first data line after it. */
    record ProxyV2(
            int family,
            String source,
            String destination,
            int sourcePort,
            int destinationPort,
            Map<Integer, String> tlvs,
            int tcpClientPort,
            String firstLine) {}

    private void serveRaw() {
        while (!raw.isClosed()) {
            try (Socket s = raw.accept()) {
                s.setSoTimeout(60_000);
                DataInputStream in = new DataInputStream(s.getInputStream());
                rawSeen.add(parseProxyV2(in, s.getPort()));
            } catch (IOException e) {
                if (!raw.isClosed()) {
                    rawSeen.add(e);
                }
            } catch (RuntimeException e) {
                rawSeen.add(e);
            }
        }
    }

    static final byte[] SIGNATURE = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

    /** A deliberately small PROXY v2 reader (spec section 2.2): TCP over IPv4 with TLVs. */
    static ProxyV2 parseProxyV2(DataInputStream in, int tcpClientPort) throws IOException {
        byte[] sig = new byte[12];
        in.readFully(sig);
        if (!java.util.Arrays.equals(sig, SIGNATURE)) {
            throw new IOException("no PROXY v2 signature");
        }
        int verCmd = in.readUnsignedByte();
        if (verCmd != 0x21) {
            throw new IOException("not v2 PROXY: " + Integer.toHexString(verCmd));
        }
        int family = in.readUnsignedByte();
        int len = in.readUnsignedShort();
        if (family != 0x11 || len < 12) {
            throw new IOException("expected TCP4 with at least 12 address bytes");
        }
        byte[] body = new byte[len];
        in.readFully(body);
        String src = (body[0] & 0xff) + "." + (body[1] & 0xff) + "." + (body[2] & 0xff) + "." + (body[3] & 0xff);
        String dst = (body[4] & 0xff) + "." + (body[5] & 0xff) + "." + (body[6] & 0xff) + "." + (body[7] & 0xff);
        int srcPort = ((body[8] & 0xff) << 8) | (body[9] & 0xff);
        int dstPort = ((body[10] & 0xff) << 8) | (body[11] & 0xff);
        Map<Integer, String> tlvs = new LinkedHashMap<>();
        int i = 12;
        while (i < len) {
            if (len - i < 3) {
                throw new IOException("truncated TLV header");
            }
            int type = body[i] & 0xff;
            int tlen = ((body[i + 1] & 0xff) << 8) | (body[i + 2] & 0xff);
            if (tlen > len - i - 3) {
                throw new IOException("TLV past the end");
            }
            tlvs.put(type, new String(body, i + 3, tlen, StandardCharsets.UTF_8));
            i += 3 + tlen;
        }
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            line.append((char) c);
        }
        return new ProxyV2(family, src, dst, srcPort, dstPort, tlvs, tcpClientPort, line.toString());
    }

    record Cli(int exit, String out, String err) {}

    static Cli cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Cli(exit, out.toString(), err.toString());
    }

    String redisCli(String... command) throws Exception {
        List<String> cmd =
                new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", String.valueOf(redisFwd), "--raw"));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("redis-cli finished").isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            return out.strip();
        } finally {
            p.destroyForcibly();
        }
    }

    /** Reads one RESP bulk string ({@code $len\r\n...\r\n}). */
    static String readBulk(DataInputStream in) throws IOException {
        String head = readCrlfLine(in);
        if (!head.startsWith("$")) {
            throw new IOException("expected a bulk string, got " + head);
        }
        int len = Integer.parseInt(head.substring(1));
        if (len < 0 || len > 64 * 1024) {
            throw new IOException("bulk length " + len);
        }
        byte[] b = new byte[len + 2];
        in.readFully(b);
        return new String(b, 0, len, StandardCharsets.UTF_8);
    }

    static String readCrlfLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                b.append((char) c);
            }
            if (b.length() > 1024) {
                throw new IOException("line too long");
            }
        }
        return b.toString();
    }

    Process startNginx() throws IOException {
        Path prefix = tmp.resolve("nginx");
        Files.createDirectories(prefix.resolve("logs"));
        nginxAccessLog = prefix.resolve("logs").resolve("access.log");
        Path conf = prefix.resolve("nginx.conf");
        Files.writeString(conf, """
                daemon off;
                master_process off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/logs/error.log info;
                events { worker_connections 64; }
                http {
                    client_body_temp_path %1$s/client_body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                    log_format burrow '$proxy_protocol_addr $proxy_protocol_port $remote_addr "$request"';
                    server {
                        listen 127.0.0.1:%2$d proxy_protocol;
                        access_log %1$s/logs/access.log burrow;
                        location / { default_type text/plain; return 200 "hello through burrow\\n"; }
                    }
                }
                """.formatted(prefix, nginxPort));
        return new ProcessBuilder(
                        nginxBinary(),
                        "-p",
                        prefix.toString(),
                        "-c",
                        conf.toString(),
                        "-e",
                        prefix.resolve("logs/error.log").toString())
                .redirectErrorStream(true)
                .redirectOutput(logFile("nginx"))
                .start();
    }

    static String nginxBinary() {
        for (String p : List.of("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return onPath("nginx") ? "nginx" : null;
    }

    static boolean onPath(String binary) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, binary))) {
                return true;
            }
        }
        return false;
    }

    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static java.io.File logFile(String name) throws IOException {
        Files.createDirectories(BurrowProcess.LOG_DIR);
        return BurrowProcess.LOG_DIR.resolve("sidecar-" + name + ".log").toFile();
    }
}
