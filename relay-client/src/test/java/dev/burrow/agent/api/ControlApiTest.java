package dev.burrow.agent.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.Agent;
import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.ConfigWatcher;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local control API and hot reload, with an agent whose relay is unreachable (status must work
 * exactly then: it is when people look).
 */
class ControlApiTest {
    @TempDir
    Path tmp;

    Agent agent;
    ControlApiServer api;

    static final String RELAY = "relay:\n  url: https://127.0.0.1:1\n  fingerprint: sha256:" + "00".repeat(32) + "\n";

    @BeforeEach
    void start() throws Exception {
        Path state = tmp.resolve("state");
        Files.writeString(
                tmp.resolve("agent.yaml"),
                RELAY + "expose:\n  - {name: web, target: 127.0.0.1:8080, allow: [tag:dev]}\n");
        agent = Agent.start(
                AgentConfig.load(tmp.resolve("agent.yaml")), NodeIdentity.loadOrCreate(state), Transport.nio());
        api = ControlApiServer.start(agent, state, 0);
    }

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void statusAndReadinessOverTheApi() throws Exception {
        Path state = tmp.resolve("state");
        assertThat(api.unixSocket()).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(ControlApi.SOCKET_FILE))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state)))
                .isEqualTo("rwx------");
        assertThat(state.resolve(ControlApi.TOKEN_FILE)).doesNotExist();
        assertThat(state.resolve(ControlApi.ENDPOINT_FILE)).doesNotExist();
        ControlApiClient client = ControlApiClient.forStateDir(state);
        AgentStatus s = client.status();
        assertThat(s.nodeId()).isEqualTo(agent.identity().nodeKey().nodeId());
        assertThat(s.services()).extracting(AgentStatus.ServiceStatus::name).containsExactly("web");
        assertThat(s.relay().state()).isNotEqualTo("connected");
        assertThat(s.ready()).isFalse();
        ControlApiClient.Response ready = client.ready();
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.body().path("problem").asText()).startsWith("relay");
    }

    @Test
    void whereNoUnixSocketCanBeBoundTheApiIsOnLoopbackWithAToken() throws Exception {
        // sun_path holds 108 bytes on Linux: a longer state directory path cannot carry the socket
        Path deep = tmp.resolve("d".repeat(120));
        try (ControlApiServer tcp = ControlApiServer.start(agent, deep, 0)) {
            assertThat(tcp.unixSocket()).isFalse();
            assertThat(deep.resolve(ControlApi.SOCKET_FILE)).doesNotExist();
            assertThat(PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(deep.resolve(ControlApi.TOKEN_FILE))))
                    .isEqualTo("rw-------");
            assertThat(ControlApiClient.forStateDir(deep).status().nodeId())
                    .isEqualTo(agent.identity().nodeKey().nodeId());
        }
        assertThat(deep.resolve(ControlApi.TOKEN_FILE)).doesNotExist();
        assertThat(deep.resolve(ControlApi.ENDPOINT_FILE)).doesNotExist();
    }

    @Test
    void heldPartialRequestsNeitherStallTheApiNorOutliveTheirDeadline() throws Exception {
        Path socket = tmp.resolve("state").resolve(ControlApi.SOCKET_FILE);
        List<SocketChannel> held = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                ch.write(ByteBuffer.wrap("GET /v1/sta".getBytes(StandardCharsets.US_ASCII)));
                held.add(ch);
            }
            ControlApiClient client = ControlApiClient.forStateDir(tmp.resolve("state"));
            assertThat(client.ready().status()).isEqualTo(503);
            assertThat(client.whois("127.0.0.1:9")).isEmpty();
            // the deadline closes every held connection: a read sees end of stream
            for (SocketChannel ch : held) {
                await().atMost(Duration.ofSeconds(10)).until(() -> ch.read(ByteBuffer.allocate(16)) < 0);
            }
        } finally {
            for (SocketChannel ch : held) {
                ch.close();
            }
        }
    }

    @Test
    void moreHeldConnectionsThanTheCapPushOutTheOldestNotTheNextClient() throws Exception {
        Path socket = tmp.resolve("state").resolve(ControlApi.SOCKET_FILE);
        List<SocketChannel> held = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < ControlApiServer.MAX_CONNECTIONS + 10; i++) {
                SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                ch.write(ByteBuffer.wrap("GET /v1/rea".getBytes(StandardCharsets.US_ASCII)));
                held.add(ch);
            }
            assertThat(ControlApiClient.forStateDir(tmp.resolve("state"))
                            .ready()
                            .status())
                    .isEqualTo(503);
            // the oldest was closed to make room (or, on a slow machine, by its deadline): never held open
            SocketChannel first = held.get(0);
            await().atMost(Duration.ofSeconds(10)).until(() -> first.read(ByteBuffer.allocate(16)) < 0);
        } finally {
            for (SocketChannel ch : held) {
                ch.close();
            }
        }
    }

    @Test
    void anOversizedRequestIsRefusedAndTheApiStillAnswers() throws Exception {
        Path socket = tmp.resolve("state").resolve(ControlApi.SOCKET_FILE);
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            String line = "GET /v1/status?x=" + "a".repeat(ControlApiServer.MAX_INITIAL_LINE) + " HTTP/1.1\r\n\r\n";
            ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
            UnixHttp.Answer a = UnixHttp.parse(readAll(ch));
            assertThat(a.status()).isEqualTo(400);
        }
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            String req = "POST /v1/status HTTP/1.1\r\nContent-Length: " + (ControlApiServer.MAX_REQUEST_BODY + 1)
                    + "\r\n\r\n";
            ch.write(ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII)));
            UnixHttp.Answer a = UnixHttp.parse(readAll(ch));
            assertThat(a.status()).isEqualTo(413);
        }
        assertThat(ControlApiClient.forStateDir(tmp.resolve("state")).ready().status())
                .isEqualTo(503);
    }

    private static byte[] readAll(SocketChannel ch) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(4096);
        for (int i = 0; i < 1000 && ch.read(buf) >= 0; i++) {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
        }
        return out.toByteArray();
    }

    @Test
    void requestsWithoutTheTokenAreRefused() throws Exception {
        api.close();
        api = ControlApiServer.startTcp(agent, tmp.resolve("state"), 0);
        HttpClient http = HttpClient.newHttpClient();
        URI status = URI.create("http://127.0.0.1:" + api.port() + ControlApi.STATUS_PATH);
        HttpResponse<String> none =
                http.send(HttpRequest.newBuilder(status).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(none.statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = http.send(
                HttpRequest.newBuilder(status)
                        .header("Authorization", "Bearer " + "0".repeat(64))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body())
                .doesNotContain(Files.readString(tmp.resolve("state").resolve(ControlApi.TOKEN_FILE)));
    }

    @Test
    void noAgentMeansAClearError() {
        assertThatThrownBy(() -> ControlApiClient.forStateDir(tmp.resolve("elsewhere")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no running agent");
    }

    @Test
    void theConfigurationIsReloadedWhenTheFileChangesAndABadFileKeepsTheRunningOne() throws Exception {
        Path file = tmp.resolve("agent.yaml");
        try (ConfigWatcher watcher = new ConfigWatcher(file, agent, c -> c)) {
            Files.writeString(
                    file,
                    RELAY + "expose:\n  - {name: web, target: 127.0.0.1:8080, allow: [tag:dev]}\n"
                            + "  - {name: db, target: 127.0.0.1:5432, allow: [name:bob]}\n",
                    StandardCharsets.UTF_8);
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> agent.status().services().size() == 2);
            Files.writeString(file, RELAY + "expose:\n  - {name: web, target: 127.0.0.1:0, allow: [tag:dev]}\n");
            await().atMost(Duration.ofSeconds(20)).until(() -> agent.status().configError() != null);
            assertThat(agent.status().configError()).contains("expose[0].target");
            assertThat(agent.status().services())
                    .extracting(AgentStatus.ServiceStatus::name)
                    .containsExactlyInAnyOrder("web", "db");
            Files.writeString(file, RELAY + "expose:\n  - {name: ssh, target: 127.0.0.1:22, allow: [tag:ops]}\n");
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> agent.status().services().stream()
                            .map(AgentStatus.ServiceStatus::name)
                            .toList()
                            .equals(List.of("ssh")));
            assertThat(agent.status().configError()).isNull();
        }
    }
}
